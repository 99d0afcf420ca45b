"""Server interceptors' shared step: a handler wrapped by code that runs before and after
every call of it, for all four kinds of RPC (a streamed answer ends when its last item is
sent)."""

from __future__ import annotations

from collections.abc import Callable

import grpc

# before(context) -> state; after(state, context, failed)
Before = Callable[[grpc.ServicerContext], object]
After = Callable[[object, grpc.ServicerContext, bool], None]


def wrapped(handler: grpc.RpcMethodHandler, before: Before, after: After) -> grpc.RpcMethodHandler:
    if handler.response_streaming:
        behavior = handler.stream_stream or handler.unary_stream

        def streaming(request, context):
            state, failed = before(context), True
            try:
                yield from behavior(request, context)
                failed = False
            finally:
                after(state, context, failed)

        factory = (grpc.stream_stream_rpc_method_handler if handler.request_streaming
                   else grpc.unary_stream_rpc_method_handler)
        return factory(streaming, handler.request_deserializer, handler.response_serializer)

    behavior = handler.stream_unary or handler.unary_unary

    def unary(request, context):
        state, failed = before(context), True
        try:
            response = behavior(request, context)
            failed = False
            return response
        finally:
            after(state, context, failed)

    factory = (grpc.stream_unary_rpc_method_handler if handler.request_streaming
               else grpc.unary_unary_rpc_method_handler)
    return factory(unary, handler.request_deserializer, handler.response_serializer)


class _Undecodable:
    """A request whose bytes are no message of the method's type (truncated, or another)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _tolerant(deserializer):
    def parse(data: bytes):
        try:
            return deserializer(data) if deserializer is not None else data
        except Exception as error:  # noqa: BLE001 - protobuf's DecodeError, or another parser's
            return _Undecodable(error)
    return parse


def _refuse(context: grpc.ServicerContext, method: str) -> None:
    context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                  f"the request is no valid {method} message (truncated, or another type): "
                  "send a serialized request of the method's type")


class DecodeErrorInterceptor(grpc.ServerInterceptor):
    """INVALID_ARGUMENT, not gRPC's INTERNAL, for request bytes that do not parse."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method.rsplit("/", 1)[-1]
        behavior = (handler.unary_unary or handler.unary_stream or handler.stream_unary
                    or handler.stream_stream)

        if handler.request_streaming:
            def call(requests, context):
                def parsed():
                    for request in requests:
                        if isinstance(request, _Undecodable):
                            _refuse(context, method)
                        yield request
                return behavior(parsed(), context)
        else:
            def call(request, context):
                if isinstance(request, _Undecodable):
                    _refuse(context, method)
                return behavior(request, context)

        factory = {
            (False, False): grpc.unary_unary_rpc_method_handler,
            (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler,
        }[(handler.request_streaming, handler.response_streaming)]
        return factory(call, _tolerant(handler.request_deserializer), handler.response_serializer)
