"""Gateway settings: flags `--name`, environment `FACESTREAM_NAME` (as the services)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.settings import require, setting


@dataclass(frozen=True)
class GatewaySettings:
    """facestream web gateway: the browser page, and a WebSocket per page to the detector."""

    host: str = setting("127.0.0.1", "address to listen on (0.0.0.0 to be reached from "
                        "other machines: then give tls_cert and tls_key, browsers only "
                        "lend the camera to localhost or HTTPS pages)")
    port: int = setting(8080, "port to listen on; 0 picks a free one")
    detector_target: str = setting("127.0.0.1:50051", "the detector, HOST:PORT")
    detector_tls_ca: str = setting("", "PEM CA of the detector's certificate: reach it over TLS")
    detector_tls_cert: str = setting("", "PEM client certificate, for a mutual-TLS detector")
    detector_tls_key: str = setting("", "PEM key of detector_tls_cert")
    detector_auth_token: str = setting("", "bearer token the detector expects (never sent to "
                                       "the page)")
    tls_cert: str = setting("", "PEM certificate: serve the page over HTTPS")
    tls_key: str = setting("", "PEM key of tls_cert")
    allowed_origins: str = setting("", "comma-separated origins whose pages may open a "
                                   "WebSocket (e.g. https://demo.example.org), besides the "
                                   "gateway's own (its host and port; localhost when bound to "
                                   "loopback or every address)")
    hello_timeout_s: float = setting(5.0, "a page must send its hello (with the token when one "
                                     "is set) this soon after connecting, or it is closed")
    idle_timeout_s: float = setting(15.0, "an idle keep-alive HTTP connection is closed after "
                                    "this many seconds")
    page_token: str = setting("", "when set, a page must give this token (asked once, kept in "
                              "the tab) before it may stream")
    max_pages: int = setting(16, "pages streaming at once; beyond it a page is refused")
    max_text_messages_per_s: int = setting(10, "text messages (hello, options) a page may "
                                           "send per second; beyond it they are ignored "
                                           "with an error")
    max_frame_bytes: int = setting(8 * 1024 * 1024, "largest frame a page may send, in bytes")
    window: int = setting(3, "frames of one page in flight at most; newer frames are "
                          "dropped (and counted) while the detector is behind")
    frame_width: int = setting(640, "the page downscales camera frames to this width")
    metrics_port: int = setting(0, "Prometheus metrics port; 0 disables")
    metrics_host: str = setting("127.0.0.1", "address the metrics port listens on: loopback "
                                "unless asked; 0.0.0.0 for a scraper in another container")
    log_level: str = setting("info", "log level", choices=["debug", "info", "warning", "error"])

    @property
    def origins(self) -> set[str]:
        return {o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()}

    def validate(self) -> None:
        require(0 <= self.port <= 65535, "port", self.port, "must be 0..65535")
        require(0 <= self.metrics_port <= 65535, "metrics_port", self.metrics_port, "must be 0..65535")
        require(1 <= self.max_pages <= 1024, "max_pages", self.max_pages, "must be 1..1024")
        require(1 <= self.max_text_messages_per_s <= 1000, "max_text_messages_per_s",
                self.max_text_messages_per_s, "must be 1..1000")
        require(1024 <= self.max_frame_bytes <= 64 * 1024 * 1024, "max_frame_bytes",
                self.max_frame_bytes, "must be 1 KiB..64 MiB")
        require(0.1 <= self.hello_timeout_s <= 60, "hello_timeout_s", self.hello_timeout_s,
                "must be 0.1..60 s")
        require(1 <= self.idle_timeout_s <= 600, "idle_timeout_s", self.idle_timeout_s,
                "must be 1..600 s")
        require(1 <= self.window <= 16, "window", self.window, "must be 1..16")
        require(64 <= self.frame_width <= 4096, "frame_width", self.frame_width, "must be 64..4096")
        require(bool(self.tls_cert) == bool(self.tls_key), "tls_key", self.tls_key,
                "tls_cert and tls_key go together")
        require(bool(self.detector_tls_cert) == bool(self.detector_tls_key), "detector_tls_key",
                self.detector_tls_key, "detector_tls_cert and detector_tls_key go together")
        for name in ("tls_cert", "tls_key", "detector_tls_ca", "detector_tls_cert",
                     "detector_tls_key"):
            path = getattr(self, name)
            require(not path or Path(path).is_file(), name, path, "no such file")
