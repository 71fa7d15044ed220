"""The web app's pages: security headers on every response, and QR images that a crowd
loading them at once cannot turn into a stall for the bots."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestClient, TestServer

from main import App
from tests.conftest import open_go, say
from web.app import build_web_app

CROWD = 200
BOUND = 5.0  # seconds: a bot reply while the crowd loads (drawing 200 QRs on the loop took longer)


async def paynow_order(app: App) -> str:
    """Bob's order in a PayNow GO; returns the path of his pay page."""
    await open_go(app)
    assert "PayNow" in (await say(app, "gina", "/paymethods SVT-FML paynow:+6591234567 manual")).text
    await say(app, "bob", "/order SVT-FML ALB:A 1")
    [url] = [b.url for row in (await say(app, "bob", "/pay SVT-FML-1")).buttons for b in row if b.url]
    assert url is not None
    return "/pay/" + url.rsplit("/pay/", 1)[1]


async def test_every_response_carries_the_security_headers(app: App) -> None:
    page = await paynow_order(app)
    async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:
        for path in (page, f"{page}/qr.png", "/pay/not-a-token", "/health", "/unsubscribe/nope", "/nowhere"):
            response = await client.get(path)
            headers = response.headers
            assert headers.get("X-Frame-Options") == "DENY", path
            assert headers.get("X-Content-Type-Options") == "nosniff", path
            assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), path


async def test_a_crowd_loading_one_qr_does_not_stall_a_bot_reply(app: App) -> None:
    page = await paynow_order(app)
    drawn_before = app.core.qr_images.drawn
    async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:

        async def load() -> bytes:
            response = await client.get(f"{page}/qr.png")
            assert response.status == 200
            return await response.read()

        crowd = [asyncio.ensure_future(load()) for _ in range(CROWD)]
        await asyncio.sleep(0)  # the crowd's requests are on their way
        started = time.monotonic()
        reply = await say(app, "cara", "/browse")
        answered_in = time.monotonic() - started
        images = await asyncio.gather(*crowd)

    assert "SVT-FML" in reply.text
    assert answered_in < BOUND, f"a bot reply took {answered_in:.1f} s while {CROWD} QR images loaded"
    assert len(set(images)) == 1 and images[0].startswith(b"\x89PNG")
    assert app.core.qr_images.drawn - drawn_before <= 1  # /pay drew it already; the crowd shares it
