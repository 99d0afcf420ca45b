"""Prometheus metrics every server has: requests by method and status code, latency."""

from __future__ import annotations

import time

import grpc
from prometheus_client import Counter, Histogram

from services.common.interceptors import wrapped

REQUESTS = Counter("facestream_rpc_requests_total", "RPCs finished, by method and status code",
                   ["method", "code"])
LATENCY = Histogram("facestream_rpc_latency_seconds", "RPC duration (streams: whole stream)",
                    ["method"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                         1, 2.5, 10, 60))


def _code_name(context: grpc.ServicerContext, failed: bool) -> str:
    code = context.code()
    if code is None:
        return "UNKNOWN" if failed else "OK"
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


class MetricsInterceptor(grpc.ServerInterceptor):
    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method.rsplit("/", 1)[-1]

        def observe(started: float, context, failed: bool) -> None:
            LATENCY.labels(method).observe(time.perf_counter() - started)
            REQUESTS.labels(method, _code_name(context, failed)).inc()

        return wrapped(handler, lambda _context: time.perf_counter(), observe)
