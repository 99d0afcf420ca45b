"""The web gateway: serves the page, checks who may stream, and runs one PageStream per
WebSocket. Plain aiohttp; the detector is reached with grpc.aio on the same event loop.

    python -m services.gateway                       # http://127.0.0.1:8080
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from pathlib import Path

import grpc
from aiohttp import WSMsgType, web
from prometheus_client import Counter, Gauge, start_http_server

from facestream.v1 import detector_service_pb2_grpc as pb_grpc
from services.common.channels import FAST_RECONNECT_OPTIONS
from services.common.security import bearer_metadata, channel_credentials
from services.gateway.session import FrameRefused, MessageRate, PageStream, page_options, parse_frame
from services.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
PAGES = Gauge("facestream_web_pages", "Pages streaming now")
FRAMES = Counter("facestream_web_frames_total", "Frames from pages, by what became of them",
                 ["outcome"])
REFUSED = Counter("facestream_web_refused_total", "WebSockets refused, by reason", ["reason"])
# WebSocket close codes in the application range: the page shows the reason and does not
# retry a refusal it cannot fix by retrying.
CLOSE_BAD_HELLO, CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED = 4400, 4403, 4401
CLOSE_NO_HELLO, CLOSE_FULL = 4408, 4429
# hello and options messages are a few dozen bytes; a longer text is not parsed.
MAX_TEXT_BYTES = 16 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
# What the page is served with: its own scripts, styles, pictures and WebSocket only, and
# never inside another site's frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                               "media-src 'self' blob: mediastream:; connect-src 'self'; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def detector_channel(settings: GatewaySettings) -> grpc.aio.Channel:
    options = [("grpc.max_send_message_length", settings.max_frame_bytes + 1024),
               *FAST_RECONNECT_OPTIONS]
    if not settings.detector_tls_ca:
        return grpc.aio.insecure_channel(settings.detector_target, options=options)
    credentials = channel_credentials(settings.detector_tls_ca, settings.detector_tls_cert,
                                      settings.detector_tls_key)
    return grpc.aio.secure_channel(settings.detector_target, credentials, options=options)


def own_origins(settings: GatewaySettings, port: int) -> set[str]:
    """The origins of the gateway's own page, from its settings and bound port (never from a
    request's Host header, which a DNS-rebinding page controls). Bound to every address or
    to loopback, the page is reached as localhost; other names go in allowed_origins."""
    scheme = "https" if settings.tls_cert else "http"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    hosts = {host}
    if host in (*LOOPBACK_HOSTS, "0.0.0.0", "[::]"):
        hosts |= set(LOOPBACK_HOSTS)
    default_port = {"http": 80, "https": 443}[scheme]
    return ({f"{scheme}://{h}:{port}" for h in hosts}
            | ({f"{scheme}://{h}" for h in hosts} if port == default_port else set()))


def origin_allowed(origin: str | None, allowed: set[str]) -> bool:
    """Browsers always send Origin on a WebSocket; a request without one is no browser page
    and is let through like curl."""
    return origin is None or origin.rstrip("/") in allowed


class Gateway:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.pages = 0
        self.allowed_origins = set(settings.origins)  # and the own origins, once bound
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.DetectorServiceStub | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[security_headers])
        app.router.add_get("/", self.index)
        app.router.add_get("/config.json", self.config)
        app.router.add_get("/healthz", self.health)
        app.router.add_get("/favicon.ico", lambda _request: web.Response(status=204))
        app.router.add_get("/ws", self.websocket)
        app.router.add_static("/static/", STATIC)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _app) -> None:
        self._channel = detector_channel(self.settings)
        self._stub = pb_grpc.DetectorServiceStub(self._channel)

    async def _stop(self, _app) -> None:
        if self._channel is not None:
            await self._channel.close()

    async def index(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def config(self, _request: web.Request) -> web.Response:
        """What the page needs to know before it connects (never the detector's token)."""
        return web.json_response({"frame_width": self.settings.frame_width,
                                  "window": self.settings.window,
                                  "token_required": bool(self.settings.page_token)})

    async def health(self, _request: web.Request) -> web.Response:
        state = self._channel.get_state(try_to_connect=True) if self._channel else None
        ready = state in (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.IDLE)
        return web.json_response({"status": "ok", "detector": state.name if state else "none",
                                  "pages": self.pages}, status=200 if ready else 503)

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if not origin_allowed(origin, self.allowed_origins):
            REFUSED.labels("origin").inc()
            raise web.HTTPForbidden(text=f"origin {origin} may not stream here (the gateway's "
                                         "allowed_origins setting)")
        # No per-message compression: a small deflated message must not inflate into a
        # huge text. A
        # frame somewhat over max_frame_bytes gets an error message; far over, a close.
        ws = web.WebSocketResponse(max_msg_size=4 * self.settings.max_frame_bytes,
                                   heartbeat=20, compress=False)
        await ws.prepare(request)
        hello = await self._hello(ws)
        if hello is None:
            return ws
        # A page holds a slot only once its hello (and token) are accepted.
        if self.pages >= self.settings.max_pages:
            REFUSED.labels("full").inc()
            await ws.close(code=CLOSE_FULL, message=(
                f"the gateway is serving its maximum of {self.settings.max_pages} pages; "
                "try again later").encode())
            return ws
        self.pages += 1
        PAGES.inc()
        try:
            await self._serve_page(ws, hello)
        finally:
            self.pages -= 1
            PAGES.dec()
        return ws

    async def _hello(self, ws: web.WebSocketResponse) -> dict | None:
        """The page's first message, a `hello` with the token when one is set, within
        hello_timeout_s; None once the socket is closed for want of one."""
        timeout = self.settings.hello_timeout_s
        try:
            message = await asyncio.wait_for(ws.receive(), timeout)
        except TimeoutError:
            REFUSED.labels("no_hello").inc()
            await ws.close(code=CLOSE_NO_HELLO, message=(
                f"no hello within {timeout:g} s: a page starts with "
                '{"type": "hello"}').encode())
            return None
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            return None
        hello = None
        if message.type == WSMsgType.TEXT and len(message.data) <= MAX_TEXT_BYTES:
            try:
                hello = json.loads(message.data)
            except ValueError:
                hello = None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            REFUSED.labels("no_hello").inc()
            await ws.close(code=CLOSE_BAD_HELLO,
                           message=b'a page starts with a JSON text {"type": "hello"}')
            return None
        if self.settings.page_token and hello.get("token") != self.settings.page_token:
            REFUSED.labels("token").inc()
            await ws.close(code=CLOSE_UNAUTHORIZED, message=b"wrong or missing page token")
            return None
        return hello

    async def _serve_page(self, ws: web.WebSocketResponse, hello: dict) -> None:
        lock = asyncio.Lock()

        async def send(message: dict) -> None:
            if not ws.closed:
                async with lock:
                    await ws.send_str(json.dumps(message))

        metadata = bearer_metadata(self.settings.detector_auth_token)
        stream = PageStream(lambda: self._stub.StreamDetect(metadata=metadata), send,
                            self.settings.window)
        text_rate = MessageRate(self.settings.max_text_messages_per_s)
        await self._options(hello, stream, send)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    if len(message.data) > MAX_TEXT_BYTES:
                        REFUSED.labels("text_size").inc()
                        await send({"type": "error", "message": (
                            f"a text message of {len(message.data)} characters; hello and "
                            f"options take a few dozen (at most {MAX_TEXT_BYTES}): ignored")})
                        continue
                    if not text_rate.allow(time.monotonic()):
                        REFUSED.labels("flood").inc()
                        await send({"type": "error", "message": (
                            f"too many text messages: at most "
                            f"{self.settings.max_text_messages_per_s} per second; this one "
                            "was ignored")})
                        continue
                    await self._control(message.data, stream, send)
                elif message.type == WSMsgType.BINARY:
                    await self._frame(message.data, stream, send)
        finally:
            await stream.close()

    async def _control(self, text: str, stream: PageStream, send) -> None:
        """A text message after the hello: `options` (a second `hello` is taken as such)."""
        try:
            message = json.loads(text)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            await send({"type": "error", "message": "text messages are JSON with a 'type': "
                                                    "hello or options"})
            return
        if kind in ("hello", "options"):
            await self._options(message, stream, send)
        else:
            await send({"type": "error", "message": f"unknown message type {kind!r}: use hello "
                                                    "or options"})

    @staticmethod
    async def _options(message: dict, stream: PageStream, send) -> None:
        try:
            stream.options = page_options(message)
        except FrameRefused as error:
            await send({"type": "error", "message": str(error)})

    async def _frame(self, data: bytes, stream: PageStream, send) -> None:
        try:
            captured_ms, number, image = parse_frame(data, self.settings.max_frame_bytes)
        except FrameRefused as error:
            FRAMES.labels("refused").inc()
            await send({"type": "error", "message": str(error)})
            return
        sent = await stream.offer(captured_ms, number, image)
        FRAMES.labels("sent" if sent else "dropped").inc()


def ssl_context(settings: GatewaySettings) -> ssl.SSLContext | None:
    if not settings.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


@web.middleware
async def security_headers(request: web.Request, handler):
    response = await handler(request)
    if not isinstance(response, web.WebSocketResponse):
        response.headers.update(SECURITY_HEADERS)
    return response


async def serve(settings: GatewaySettings) -> web.AppRunner:
    """Start the gateway; logs "serving" with the port it listens on."""
    gateway = Gateway(settings)
    runner = web.AppRunner(gateway.app(), access_log=None,
                           keepalive_timeout=settings.idle_timeout_s)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, ssl_context=ssl_context(settings))
    await site.start()
    port = runner.addresses[0][1]
    gateway.allowed_origins |= own_origins(settings, port)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
    scheme = "https" if settings.tls_cert else "http"
    log.info("serving", extra={"port": port, "url": f"{scheme}://{settings.host}:{port}",
                               "detector_target": settings.detector_target})
    return runner
