"""The one mapping from domain errors to gRPC status codes, for every servicer.

Servicers wrap their methods in `grpc_errors`; a stream that answers a bad frame in-band
uses `status_of`.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable

import grpc

from services.common.errors import (
    Expired,
    InvalidInput,
    NotAllowed,
    NotFound,
    NotReady,
    Overloaded,
    TooLarge,
)

log = logging.getLogger(__name__)

STATUS_CODES: dict[type[Exception], grpc.StatusCode] = {
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    TooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Overloaded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Expired: grpc.StatusCode.DEADLINE_EXCEEDED,
    NotReady: grpc.StatusCode.UNAVAILABLE,
    NotAllowed: grpc.StatusCode.PERMISSION_DENIED,
}


def status_of(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and message a caller gets for `error`."""
    for kind, code in STATUS_CODES.items():
        if isinstance(error, kind):
            return code, str(error)
    return grpc.StatusCode.INTERNAL, f"internal error: {type(error).__name__}"


def _abort(context: grpc.ServicerContext, error: BaseException, method: str) -> None:
    code, message = status_of(error)
    if code is grpc.StatusCode.INTERNAL:
        log.exception("unexpected error in %s", method)
    else:
        log.info("%s: %s %s", method, code.name, message)
    context.abort(code, message)


def grpc_errors(method: Callable) -> Callable:
    """Wrap a servicer method (unary or streaming) so domain errors become statuses."""
    name = method.__name__
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def stream(self, request, context):
            try:
                yield from method(self, request, context)
            except GeneratorExit:  # gRPC closed the stream: cancelled while we were sending
                log.info("%s: the client ended the stream", name)
                raise
            except Exception as error:  # noqa: BLE001 - every error becomes a status
                if not context.is_active():
                    # The client cancelled or hung up: normal for a camera that stops.
                    log.info("%s: the client ended the stream", name)
                    return
                _abort(context, error, name)
        return stream

    @functools.wraps(method)
    def unary(self, request, context):
        try:
            return method(self, request, context)
        except Exception as error:  # noqa: BLE001 - every error becomes a status
            _abort(context, error, name)
    return unary
