"""The printable packing page: served on loopback through an expiring link, and rendered in
a real headless browser whose screenshot must show one scannable block per posted parcel."""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

import pytest
import zxingcpp
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from core.clock import FrozenClock
from main import App
from tests.conftest import open_go, say
from tests.integration.test_delivery_flow import ok, refused
from web.app import build_web_app

CHROMIUM = next(
    filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))), None
)
NO_BROWSER = "no headless browser (Debian's chromium) on this machine; .ci/run installs one"
ADDRESS = 'phone=+6591234567 line1="1 Orchard Rd" postal=238823 country=SG'


async def _go_with_parcels(app: App) -> None:
    await open_go(app, moq=1, cap=50)
    ok(await say(app, "gina", "/paymethods SVT-FML manual"))
    ok(await say(app, "gina", '/shipopt SVT-FML NV courier "Ninja Van" fee=3.50'))
    ok(await say(app, "gina", '/shipopt SVT-FML MEET pickup "Meet-up"'))
    ok(await say(app, "gina", '/slot SVT-FML MEET "2026-12-12 14:00" 5 "Bugis MRT exit C"'))
    for who, name in (("ana", "김민지"), ("ben", "Nguyễn Thu"), ("cat", "Cat <b>Lee</b>")):
        ok(await say(app, who, "/order SVT-FML ALB:A 1"))
        ok(await say(app, who, f'/address add name="{name}" {ADDRESS}'))
        ok(await say(app, who, "/deliver SVT-FML NV"))
    ok(await say(app, "ana", "/order SVT-FML ALB:B 2"))  # SVT-FML-4, in ana's parcel
    for who in ("dan", "eve"):
        ok(await say(app, who, "/order SVT-FML ALB:A 1"))
        ok(await say(app, who, "/deliver SVT-FML MEET 1"))
    ok(await say(app, "ana", "/paid SVT-FML-1 TXN1"))
    ok(await say(app, "gina", "/approve SVT-FML-1"))


async def _link(app: App) -> str:
    reply = ok(await say(app, "gina", "/labels SVT-FML"))
    assert "It works until Sat 21 Nov 2026, 20:00" in reply.text, reply.text
    url = next(w for w in reply.text.split() if w.startswith("http"))
    return url.split("8080", 1)[1]  # the path, served here by a test server


async def test_the_link_opens_the_page_for_a_day_and_only_for_staff(app: App, clock: FrozenClock) -> None:
    await _go_with_parcels(app)
    refused(await say(app, "ana", "/labels SVT-FML"), "GOM")
    path = await _link(app)
    async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:
        response = await client.get(path)
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        page = await response.text()
        assert page.count("<article class=parcel>") == 3  # ana (two orders), ben, cat
        assert "김민지" in page and "Nguyễn Thu" in page and "Cat &lt;b&gt;Lee&lt;/b&gt;" in page
        assert "NOT PAID" in page
        assert "Pickup: Bugis MRT exit C · Sat 12 Dec 2026, 14:00" in page
        assert page.count("<td class=tick>☐</td>") == 2  # dan and eve to tick off
        assert (await client.get(path + "x")).status == 404
        clock.advance(hours=24, seconds=1)
        expired = await client.get(path)
        assert expired.status == 404
        assert "expired" in await expired.text()


@pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)
async def test_a_real_browser_renders_one_scannable_block_per_parcel(app: App, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    await _go_with_parcels(app)
    path = await _link(app)
    shot = tmp_path / "packing.png"
    async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:
        url = str(client.make_url(path))
        browser = await asyncio.create_subprocess_exec(
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=900,2400",
            f"--screenshot={shot}",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, errors = await asyncio.wait_for(browser.communicate(), timeout=180)
        finally:
            if browser.returncode is None:
                browser.kill()
                await browser.wait()
    assert shot.is_file(), errors.decode(errors="replace")[-2000:]
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("L")
    codes = zxingcpp.read_barcodes(image)
    assert {code.format for code in codes} == {zxingcpp.BarcodeFormat.QRCode}  # what phones scan
    found = sorted(code.text for code in codes)
    assert found == ["SVT-FML-1 SVT-FML-4", "SVT-FML-2", "SVT-FML-3"]
