"""Domain errors raised by the cores, and their one mapping to gRPC status codes.

The cores (detection, alignment, batching) raise these plain exceptions and know nothing
of gRPC; servicers use `grpc_errors` so every RPC maps them the same way.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable

import grpc

log = logging.getLogger(__name__)


class FacestreamError(Exception):
    """Base class: the message says what was wrong and how to fix it."""

    code = grpc.StatusCode.INTERNAL


class InvalidInput(FacestreamError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class TooLarge(FacestreamError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Overloaded(FacestreamError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Expired(FacestreamError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotReady(FacestreamError):
    code = grpc.StatusCode.UNAVAILABLE


def status_of(error: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and message a caller gets for `error`."""
    if isinstance(error, FacestreamError):
        return error.code, str(error)
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
            except Exception as error:  # noqa: BLE001 - every error becomes a status
                _abort(context, error, name)
        return stream

    @functools.wraps(method)
    def unary(self, request, context):
        try:
            return method(self, request, context)
        except Exception as error:  # noqa: BLE001 - every error becomes a status
            _abort(context, error, name)
    return unary
