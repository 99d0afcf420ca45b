"""Settings every facestream server has: address, limits, shutdown, metrics, security."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.frame_limits import FrameLimits
from services.common.settings import require, setting


@dataclass(frozen=True)
class ServerSettings:
    host: str = setting("127.0.0.1", "address to listen on (0.0.0.0 inside containers)")
    port: int = setting(0, "port to listen on; 0 picks a free one")
    max_workers: int = setting(64, "threads serving RPCs (each open stream holds one)")
    max_concurrent_rpcs: int = setting(64, "data RPCs in progress at once (health checks and "
                                           "reflection are not counted); beyond it RESOURCE_EXHAUSTED")
    max_message_bytes: int = setting(4 * 1024 * 1024, "largest request accepted, in bytes")
    grace_s: float = setting(5.0, "seconds to drain in-flight RPCs on SIGTERM")
    metrics_port: int = setting(0, "Prometheus metrics port; 0 disables")
    metrics_host: str = setting("127.0.0.1", "address the metrics port listens on: loopback "
                                "unless asked (metrics are plain HTTP without the token, even "
                                "on a TLS server); 0.0.0.0 for a scraper in another container")
    log_level: str = setting("info", "log level", choices=["debug", "info", "warning", "error"])
    tls_cert: str = setting("", "PEM server certificate (chain); with tls_key, serve TLS only")
    tls_key: str = setting("", "PEM private key of tls_cert")
    tls_client_ca: str = setting("", "PEM CA bundle; when set, clients must present a certificate "
                                     "it signed (mutual TLS)")
    auth_token: str = setting("", "when set, every RPC but health checks needs the metadata "
                                  "'authorization: Bearer <token>'; prefer the environment or "
                                  "auth_token_file to a flag, which any user sees in `ps`")
    auth_token_file: str = setting("", "a file holding auth_token (its first line)")

    @property
    def token(self) -> str:
        """The bearer token callers must present: auth_token, or auth_token_file's first line."""
        if self.auth_token_file:
            return Path(self.auth_token_file).read_text().splitlines()[0].strip()
        return self.auth_token

    def validate(self) -> None:
        require(0 <= self.port <= 65535, "port", self.port, "must be 0..65535")
        require(0 <= self.metrics_port <= 65535, "metrics_port", self.metrics_port, "must be 0..65535")
        require(1 <= self.max_workers <= 1024, "max_workers", self.max_workers, "must be 1..1024")
        require(1 <= self.max_concurrent_rpcs <= 100_000, "max_concurrent_rpcs",
                self.max_concurrent_rpcs, "must be 1..100000")
        require(1024 <= self.max_message_bytes <= 1 << 30, "max_message_bytes",
                self.max_message_bytes, "must be 1 KiB..1 GiB")
        require(self.grace_s >= 0, "grace_s", self.grace_s, "must be >= 0")
        require(bool(self.tls_cert) == bool(self.tls_key), "tls_key", self.tls_key,
                "tls_cert and tls_key go together")
        require(not self.tls_client_ca or bool(self.tls_cert), "tls_client_ca", self.tls_client_ca,
                "mutual TLS needs tls_cert and tls_key too")
        require(not (self.auth_token and self.auth_token_file), "auth_token_file",
                self.auth_token_file, "give auth_token or auth_token_file, not both")
        for name in ("tls_cert", "tls_key", "tls_client_ca", "auth_token_file"):
            path = getattr(self, name)
            require(not path or Path(path).is_file(), name, path, "no such file")


@dataclass(frozen=True)
class ImageServerSettings(ServerSettings):
    """A server that decodes images from its callers (the detector, the recognizer)."""

    max_message_bytes: int = setting(16 * 1024 * 1024, "largest request accepted, in bytes")
    max_frame_pixels: int = setting(4096 * 4096, "largest frame accepted, in pixels")
    max_frame_side: int = setting(8192, "longest side of a frame accepted, in pixels")
    max_frame_aspect: float = setting(16.0, "largest ratio of a frame's longer side to its "
                                      "shorter one accepted")

    @property
    def frame_limits(self) -> FrameLimits:
        return FrameLimits(self.max_frame_pixels, max_side=self.max_frame_side,
                           max_aspect=self.max_frame_aspect)

    def validate(self) -> None:
        super().validate()
        require(64 * 64 <= self.max_frame_pixels <= 1 << 28, "max_frame_pixels",
                self.max_frame_pixels, "must be 4096..268435456")
        require(64 <= self.max_frame_side <= 65536, "max_frame_side", self.max_frame_side,
                "must be 64..65536")
        require(1.0 <= self.max_frame_aspect <= 64.0, "max_frame_aspect", self.max_frame_aspect,
                "must be within [1, 64]")
