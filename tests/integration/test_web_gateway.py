"""The web gateway against its WebSocket directly: who may stream, and what a bad frame
gets. (The page itself is tested in a real browser in tests/e2e/test_web.py.)"""

from __future__ import annotations

import asyncio
import json
import ssl
import time

import aiohttp
import cv2
import pytest

from client.web.session import HEADER
from devkit.frames import clip_frames
from devkit.processes import web_gateway
from tests.certs import make_certificates


def frame_message(image: bytes, number: int) -> bytes:
    return HEADER.pack(time.time() * 1000, number) + image


async def next_json(ws) -> dict:
    while True:
        message = await asyncio.wait_for(ws.receive(), timeout=20)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        data = json.loads(message.data)
        if data["type"] != "status":
            return data


def test_the_gateway_refuses_other_origins_bad_frames_and_too_many_pages(detector_server):
    jpeg = cv2.imencode(".jpg", clip_frames(1)[0])[1].tobytes()

    async def check(base: str, full_base: str) -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(base + "/ws", headers={"Origin": "https://evil.example"})
            assert refused.value.status == 403
            async with session.ws_connect(base + "/ws", headers={"Origin": base}) as ws:
                await ws.send_str(json.dumps({"type": "hello", "track": True}))
                await ws.send_bytes(b"\x00" * 12 + b"this is no image")
                error = await next_json(ws)
                assert error["type"] == "error" and "image" in error["message"].lower()
                await ws.send_bytes(frame_message(b"\xff" * (2 * 1024 * 1024), 1))
                error = await next_json(ws)
                assert error["type"] == "error" and "max_frame_bytes" in error["message"]
                await ws.send_bytes(frame_message(jpeg, 2))
                result = await next_json(ws)
                assert result["type"] == "result" and result["frame"] == 2
                assert len(result["faces"]) >= 0
            async with session.ws_connect(full_base + "/ws") as first:
                await first.send_str(json.dumps({"type": "hello"}))
                async with session.ws_connect(full_base + "/ws") as second:
                    message = await second.receive()
                    assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4429
                    assert "maximum of 1 pages" in message.extra

    target = f"127.0.0.1:{detector_server.port}"
    with web_gateway(target, ["--max-frame-bytes", str(1024 * 1024)]) as gateway, \
            web_gateway(target, ["--max-pages", "1"]) as full:
        asyncio.run(check(f"http://127.0.0.1:{gateway.port}", f"http://127.0.0.1:{full.port}"))


def test_a_flood_of_text_messages_gets_an_error_and_the_page_goes_on(detector_server):
    jpeg = cv2.imencode(".jpg", clip_frames(1)[0])[1].tobytes()

    async def check(base: str) -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(base + "/ws") as ws:
            for _ in range(50):  # far beyond 5 per second
                await ws.send_str(json.dumps({"type": "options", "track": True}))
            errors = []
            while len(errors) < 45:
                errors.append(await next_json(ws))
            assert all(e["type"] == "error" and "at most 5 per second" in e["message"]
                       for e in errors)
            await ws.send_bytes(frame_message(jpeg, 7))  # frames are still answered
            result = await next_json(ws)
            assert result["type"] == "result" and result["frame"] == 7
            await asyncio.sleep(1.1)  # a second later, text is welcome again
            await ws.send_str(json.dumps({"type": "bogus"}))
            answer = await next_json(ws)
            assert "unknown message type 'bogus'" in answer["message"]

    with web_gateway(f"127.0.0.1:{detector_server.port}",
                     ["--max-text-messages-per-s", "5"]) as gateway:
        asyncio.run(check(f"http://127.0.0.1:{gateway.port}"))


def test_eight_pages_at_once_all_keep_receiving_results(detector_server):
    jpeg = cv2.imencode(".jpg", clip_frames(1)[0])[1].tobytes()
    seconds, fps = 4.0, 15

    async def page(session, base: str) -> list[float]:
        """Sends frames at a camera's pace; when each result came (seconds from start)."""
        answered: list[float] = []
        async with session.ws_connect(base + "/ws") as ws:
            await ws.send_str(json.dumps({"type": "hello", "track": True}))
            started = time.monotonic()

            async def receive() -> None:
                async for message in ws:
                    if json.loads(message.data)["type"] == "result":
                        answered.append(time.monotonic() - started)

            reader = asyncio.create_task(receive())
            for number in range(int(seconds * fps)):
                await ws.send_bytes(frame_message(jpeg, number))
                await asyncio.sleep(1 / fps)
            await asyncio.sleep(1.0)  # the last answers
            reader.cancel()
        return answered

    async def check(base: str) -> list[list[float]]:
        async with aiohttp.ClientSession() as session:
            return await asyncio.gather(*(page(session, base) for _ in range(8)))

    with web_gateway(f"127.0.0.1:{detector_server.port}") as gateway:
        pages = asyncio.run(check(f"http://127.0.0.1:{gateway.port}"))
    counts = sorted(len(answered) for answered in pages)
    assert counts[0] >= counts[len(counts) // 2] / 3, counts  # nobody starves
    for answered in pages:  # each kept receiving: answers in every second of the run
        assert {int(t) for t in answered} >= set(range(int(seconds))), answered


def test_a_page_token_is_required_when_set(detector_server):
    async def check(base: str) -> None:
        async with aiohttp.ClientSession() as session:
            config = await (await session.get(base + "/config.json")).json()
            assert config["token_required"] is True
            assert "token" not in json.dumps(config).lower().replace("token_required", "")
            async with session.ws_connect(base + "/ws") as ws:
                await ws.send_str(json.dumps({"type": "hello", "token": "wrong"}))
                message = await ws.receive()
                assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 4401

    with web_gateway(f"127.0.0.1:{detector_server.port}", ["--page-token", "s3cret"]) as gateway:
        asyncio.run(check(f"http://127.0.0.1:{gateway.port}"))



def test_the_page_and_its_websocket_over_https(detector_server, tmp_path):
    """Browsers lend the camera only to localhost or HTTPS pages: given a certificate, the
    gateway serves both the page and the WebSocket over TLS, and nothing in plaintext."""
    certs = make_certificates(tmp_path)
    trusted = ssl.create_default_context(cafile=certs["ca"])
    jpeg = cv2.imencode(".jpg", clip_frames(1)[0])[1].tobytes()

    async def check(port: int) -> None:
        async with aiohttp.ClientSession() as session:
            page = await session.get(f"https://127.0.0.1:{port}/", ssl=trusted)
            assert page.status == 200 and "<title>facestream</title>" in await page.text()
            async with session.ws_connect(f"wss://127.0.0.1:{port}/ws", ssl=trusted) as ws:
                await ws.send_str(json.dumps({"type": "hello"}))
                await ws.send_bytes(frame_message(jpeg, 0))
                result = await next_json(ws)
                assert result["type"] == "result" and len(result["faces"]) == 1
            with pytest.raises(aiohttp.ClientError):
                await session.get(f"http://127.0.0.1:{port}/")

    args = ["--tls-cert", certs["server_cert"], "--tls-key", certs["server_key"]]
    with web_gateway(f"127.0.0.1:{detector_server.port}", args) as gateway:
        asyncio.run(check(gateway.port))
