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
