"""A cap on the data RPCs in progress that leaves health checks and reflection out of it: an
orchestrator must hear SERVING from a busy server, not RESOURCE_EXHAUSTED."""

from __future__ import annotations

import threading

import grpc

from services.common.interceptors import wrapped

# Outside the cap: the probes of orchestrators and tools.
UNCAPPED_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
# Worker threads kept beyond max_workers for them (and for refusing data calls fast).
RESERVED_FOR_PROBES = 4


def refusal_message(limit: int) -> str:
    """The one message every data call beyond the cap gets: the cap, and what to do."""
    return (f"the server has its maximum of {limit} data RPCs in progress "
            "(max_concurrent_rpcs, FACESTREAM_MAX_CONCURRENT_RPCS); retry with backoff, send "
            "to another replica, or raise the setting")


class ConcurrencyLimitInterceptor(grpc.ServerInterceptor):
    """RESOURCE_EXHAUSTED for a data RPC beyond `limit` in progress."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_progress = 0
        self._lock = threading.Lock()

    def _enter(self, context: grpc.ServicerContext) -> None:
        with self._lock:
            admitted = self._in_progress < self.limit
            self._in_progress += admitted
        if not admitted:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refusal_message(self.limit))

    def _leave(self, _state, _context, _failed: bool) -> None:
        with self._lock:
            self._in_progress -= 1

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(UNCAPPED_PREFIXES):
            return handler
        return wrapped(handler, self._enter, self._leave)
