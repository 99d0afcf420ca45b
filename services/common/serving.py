"""Server plumbing both services share: the gRPC server, health, reflection, shutdown."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterable
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.interceptors import DecodeErrorInterceptor
from services.common.limits import RESERVED_FOR_PROBES, ConcurrencyLimitInterceptor
from services.common.metrics import MetricsInterceptor
from services.common.security import BearerTokenInterceptor, server_credentials
from services.common.server_settings import ServerSettings

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthReporter:
    """grpc.health.v1 for the whole server ("") and each named service.

    grpcio's HealthServicer reports "" as SERVING from the start; a service here must say
    NOT_SERVING until its model is loaded and warmed, so every name is set explicitly.
    """

    def __init__(self, service_names: Iterable[str]) -> None:
        self.servicer = health.HealthServicer()
        self._names = ["", *service_names]
        self.set_serving(False)

    def set_serving(self, serving: bool) -> None:
        for name in self._names:
            self.servicer.set(name, SERVING if serving else NOT_SERVING)

    def shutting_down(self) -> None:
        self.servicer.enter_graceful_shutdown()


@dataclass
class RunningServer:
    """A started server: its bound port, its health, and `stop()` (NOT_SERVING, drain, then
    `release()`, which a service overrides to free what it holds)."""

    server: grpc.Server
    port: int
    health: HealthReporter

    def release(self) -> None:
        """Free the service's own resources once no RPC runs any more."""

    def stop(self, grace_s: float | None = None) -> None:
        self.health.shutting_down()
        self.server.stop(grace_s).wait()
        self.release()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *_exc) -> None:
        """`with create_server(settings) as running:` stops it however the block ends."""
        self.stop(1.0)



class CannotListen(OSError):
    """The address is taken or not ours to bind; the message names the setting to change."""


def build_server(settings: ServerSettings, service_names: Iterable[str],
                 extra_options: Iterable[tuple[str, object]] = ()) -> tuple[grpc.Server, int, HealthReporter]:
    """Create a server with health, reflection, limits, TLS and token checks as set.

    Returns the server (not started), the bound port (useful with port 0) and the health
    reporter. Register the service's own servicer before starting it.
    """
    names = list(service_names)
    options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.so_reuseport", 0),
        *extra_options,
    ]
    interceptors: list[grpc.ServerInterceptor] = [MetricsInterceptor(), DecodeErrorInterceptor()]
    token = settings.token  # read once: it may come from a file
    if token:
        interceptors.append(BearerTokenInterceptor(token))
    # The cap counts data RPCs only and lives in our interceptor alone: gRPC's own
    # maximum_concurrent_rpcs would count the data calls it is about to refuse and turn health
    # checks away with them. Threads beyond max_workers answer probes and refusals.
    interceptors.append(ConcurrencyLimitInterceptor(settings.max_concurrent_rpcs))
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.max_workers + RESERVED_FOR_PROBES,
                                   thread_name_prefix="rpc"),
        options=options, interceptors=interceptors)
    reporter = HealthReporter(names)
    health_pb2_grpc.add_HealthServicer_to_server(reporter.servicer, server)
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME],
        server,
    )
    address = f"{settings.host}:{settings.port}"
    credentials = server_credentials(settings.tls_cert, settings.tls_key, settings.tls_client_ca)
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError:  # grpcio's way of saying the bind failed
        port = 0
    if port == 0:
        raise CannotListen(f"cannot listen on {address}: the port is in use or the address is "
                           "not this host's; change the setting port (--port, FACESTREAM_PORT) "
                           "or host (--host, FACESTREAM_HOST)")
    return server, port, reporter


def wait_for_stop_signal() -> None:
    """Block until SIGTERM or SIGINT."""
    stop = threading.Event()

    def request_stop(signum, _frame):
        log.info("received %s, draining", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stop.wait()


# grpcio reports a huge time_remaining() when the caller set no deadline.
_NO_DEADLINE_S = 365 * 24 * 3600.0


def time_left(context: grpc.ServicerContext) -> float | None:
    """Seconds until the caller's deadline, or None when it set none."""
    remaining = context.time_remaining()
    if remaining is None or remaining > _NO_DEADLINE_S:
        return None
    return max(remaining, 0.0)
