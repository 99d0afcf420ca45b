"""The web gateway: serves the page, checks who may stream, and runs one PageStream per
WebSocket. Plain aiohttp; the detector is reached with grpc.aio on the same event loop.

    python -m client.web                       # http://127.0.0.1:8080
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

from client.web.session import FrameRefused, MessageRate, PageOptions, PageStream, parse_frame
from client.web.settings import GatewaySettings
from facestream.v1 import detector_service_pb2_grpc as pb_grpc
from services.common.security import bearer_metadata, channel_credentials

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
PAGES = Gauge("facestream_web_pages", "Pages streaming now")
FRAMES = Counter("facestream_web_frames_total", "Frames from pages, by what became of them",
                 ["outcome"])
REFUSED = Counter("facestream_web_refused_total", "WebSockets refused, by reason", ["reason"])
# WebSocket close codes in the application range: the page shows the reason and does not
# retry a refusal it cannot fix by retrying.
CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, CLOSE_FULL = 4403, 4401, 4429


def detector_channel(settings: GatewaySettings) -> grpc.aio.Channel:
    options = [("grpc.max_send_message_length", settings.max_frame_bytes + 1024),
               # A detector that restarts is found again within a second, not after
               # gRPC's default back-off of up to two minutes.
               ("grpc.initial_reconnect_backoff_ms", 100),
               ("grpc.max_reconnect_backoff_ms", 1000)]
    if not settings.detector_tls_ca:
        return grpc.aio.insecure_channel(settings.detector_target, options=options)
    credentials = channel_credentials(settings.detector_tls_ca, settings.detector_tls_cert,
                                      settings.detector_tls_key)
    return grpc.aio.secure_channel(settings.detector_target, credentials, options=options)


def origin_allowed(request: web.Request, settings: GatewaySettings) -> bool:
    """The page's own origin, or one the settings name. Browsers always send Origin on a
    WebSocket; a request without one is no browser page and is let through like curl."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    own = f"{request.scheme}://{request.host}"
    return origin.rstrip("/") in (settings.origins or {own})


class Gateway:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.pages = 0
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.DetectorServiceStub | None = None

    def app(self) -> web.Application:
        app = web.Application()
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
        if not origin_allowed(request, self.settings):
            REFUSED.labels("origin").inc()
            raise web.HTTPForbidden(text=f"origin {request.headers.get('Origin')} may not stream "
                                         "here (the gateway's allowed_origins setting)")
        ws = web.WebSocketResponse(max_msg_size=4 * self.settings.max_frame_bytes, heartbeat=20)
        await ws.prepare(request)
        if self.pages >= self.settings.max_pages:
            REFUSED.labels("full").inc()
            await ws.close(code=CLOSE_FULL, message=(
                f"the gateway is serving its maximum of {self.settings.max_pages} pages; "
                "try again later").encode())
            return ws
        self.pages += 1
        PAGES.inc()
        try:
            await self._serve_page(ws)
        finally:
            self.pages -= 1
            PAGES.dec()
        return ws

    async def _serve_page(self, ws: web.WebSocketResponse) -> None:
        lock = asyncio.Lock()

        async def send(message: dict) -> None:
            if not ws.closed:
                async with lock:
                    await ws.send_str(json.dumps(message))

        metadata = bearer_metadata(self.settings.detector_auth_token)
        stream = PageStream(lambda: self._stub.StreamDetect(metadata=metadata), send,
                            self.settings.window)
        admitted = not self.settings.page_token
        text_rate = MessageRate(self.settings.max_text_messages_per_s)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    if not text_rate.allow(time.monotonic()):
                        REFUSED.labels("flood").inc()
                        await send({"type": "error", "message": (
                            f"too many text messages: at most "
                            f"{self.settings.max_text_messages_per_s} per second; this one "
                            "was ignored")})
                        continue
                    admitted = await self._control(message.data, stream, send, admitted, ws)
                elif message.type == WSMsgType.BINARY:
                    if not admitted:
                        await ws.close(code=CLOSE_UNAUTHORIZED, message=b"give the page token first")
                        REFUSED.labels("token").inc()
                        return
                    await self._frame(message.data, stream, send)
        finally:
            await stream.close()

    async def _control(self, text: str, stream: PageStream, send, admitted: bool, ws) -> bool:
        """A text message: `hello` (token, options) or `options`; True once admitted."""
        try:
            message = json.loads(text)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            await send({"type": "error", "message": "text messages are JSON with a 'type': "
                                                    "hello or options"})
            return admitted
        if kind == "hello" and self.settings.page_token:
            if message.get("token") != self.settings.page_token:
                REFUSED.labels("token").inc()
                await ws.close(code=CLOSE_UNAUTHORIZED, message=b"wrong or missing page token")
                return False
            admitted = True
        if kind in ("hello", "options"):
            half_life = message.get("half_life_ms")
            try:
                stream.options = PageOptions(bool(message.get("track", True)),
                                             int(half_life) if half_life is not None else None,
                                             bool(message.get("identify", False)))
            except (TypeError, ValueError):
                await send({"type": "error", "message": f"half_life_ms is {half_life!r}; give "
                                                        "milliseconds as a number"})
        else:
            await send({"type": "error", "message": f"unknown message type {kind!r}: use hello "
                                                    "or options"})
        return admitted

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


async def serve(settings: GatewaySettings) -> web.AppRunner:
    """Start the gateway; logs "serving" with the port it listens on."""
    runner = web.AppRunner(Gateway(settings).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, ssl_context=ssl_context(settings))
    await site.start()
    port = runner.addresses[0][1]
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.host)
    scheme = "https" if settings.tls_cert else "http"
    log.info("serving", extra={"port": port, "url": f"{scheme}://{settings.host}:{port}",
                               "detector_target": settings.detector_target})
    return runner
