"""TLS credentials and bearer-token checks for servers and for outgoing channels."""

from __future__ import annotations

import hmac
from pathlib import Path

import grpc

# Health checks stay open so orchestrators can probe without the token.
UNAUTHENTICATED_PREFIXES = ("/grpc.health.v1.Health/",)


def _read(path: str) -> bytes | None:
    return Path(path).read_bytes() if path else None


def server_credentials(cert: str, key: str, client_ca: str) -> grpc.ServerCredentials | None:
    """TLS credentials, requiring client certificates when client_ca is set; None for plaintext."""
    if not cert:
        return None
    return grpc.ssl_server_credentials(
        [(_read(key), _read(cert))], root_certificates=_read(client_ca),
        require_client_auth=bool(client_ca))


def secure_channel(target: str, ca: str, cert: str = "", key: str = "",
                   options: list | None = None) -> grpc.Channel:
    """A TLS channel (with a client certificate when cert and key are set), or plaintext
    when ca is empty."""
    if not ca:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, channel_credentials(ca, cert, key), options=options)


def channel_credentials(ca: str, cert: str = "", key: str = "") -> grpc.ChannelCredentials:
    """TLS credentials for an outgoing channel (sync or grpc.aio): trust `ca`, present
    `cert` and `key` when given (mutual TLS)."""
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca), private_key=_read(key), certificate_chain=_read(cert))


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


class BearerTokenInterceptor(grpc.ServerInterceptor):
    """Refuse RPCs without `authorization: Bearer <token>` with UNAUTHENTICATED."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

        def refuse(request_or_iterator, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED,
                          "missing or wrong bearer token: send metadata 'authorization: Bearer <token>'")

        self._refusals = {
            (False, False): grpc.unary_unary_rpc_method_handler(refuse),
            (False, True): grpc.unary_stream_rpc_method_handler(refuse),
            (True, False): grpc.stream_unary_rpc_method_handler(refuse),
            (True, True): grpc.stream_stream_rpc_method_handler(refuse),
        }

    def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method.startswith(UNAUTHENTICATED_PREFIXES):
            return continuation(handler_call_details)
        presented = dict(handler_call_details.invocation_metadata).get("authorization", "")
        # compare_digest: the time taken does not reveal how much of the token matched.
        if hmac.compare_digest(presented.encode(), self._expected):
            return continuation(handler_call_details)
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        return self._refusals[(handler.request_streaming, handler.response_streaming)]
