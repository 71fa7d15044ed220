"""The hosted pay page as HTTP: in whose language, what it shows, what it lets load, the
status it is polled for, and the receipt once paid (the browser's view of it is in
tests/e2e/test_pay_page_browser.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from main import App
from tests.conftest import in_language, open_go, say
from web.app import build_web_app

METHODS = 'paynow:+6591234567 bank="DBS Bank" name="Gina Tan" account=123-456789-0'


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:
        yield client


async def token_of(app: App, language: str | None = None) -> str:
    await open_go(app, methods=METHODS)
    await say(app, "bob", "/order SVT-FML ALB:A 1", language=language)
    reply = await say(app, "bob", "/pay SVT-FML-1")
    url = next(b.url for row in reply.buttons for b in row if b.url and "/pay/" in b.url)
    return url.rsplit("/pay/", 1)[1]


async def test_the_page_shows_the_go_the_gom_the_items_and_how_to_pay(
    app: App, client: TestClient[Any, Any]
) -> None:
    page = await client.get(f"/pay/{await token_of(app)}")
    text = await page.text()
    assert page.status == 200 and page.headers["Content-Language"] == "en"
    for shown in ("Test GO", "run by gina", "1 × FML album", "S$25.90", "SVT-FML-1-I1", "qr.png"):
        assert shown in text, shown
    assert "+6591234567" in text and "DBS Bank" in text and "123-456789-0" in text and "Gina Tan" in text
    assert 'data-copy="25.90"' in text and 'data-copy="SVT-FML-1-I1"' in text
    # its own script and stylesheet, and nothing from anywhere else
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "https://" not in policy
    assert (await client.get("/static/pay.js")).status == 200
    assert (await client.get("/static/pay.css")).status == 200
    assert (await client.get("/static/../main.py")).status == 404


async def test_the_page_is_in_the_buyers_language_unless_another_is_chosen(
    app: App, client: TestClient[Any, Any]
) -> None:
    token = await token_of(app, language="th")
    thai = await (await client.get(f"/pay/{token}")).text()
    assert '<html lang="th">' in thai and in_language("th", "Amount to pay") in thai
    chinese = await client.get(f"/pay/{token}?lang=zh-CN")
    assert (
        chinese.headers["Content-Language"] == "zh"
        and in_language("zh", "Amount to pay") in await chinese.text()
    )
    # a language gomflow does not have: the buyer's own, and the page offers every one it has
    unknown = await (await client.get(f"/pay/{token}?lang=xx")).text()
    assert '<html lang="th">' in unknown and 'href="?lang=ko"' in unknown and "한국어" in unknown


async def test_a_buyer_without_a_language_reads_their_browsers(
    app: App, client: TestClient[Any, Any]
) -> None:
    token = await token_of(app)
    page = await client.get(f"/pay/{token}", headers={"Accept-Language": "ja, vi-VN;q=0.8, en;q=0.5"})
    assert page.headers["Content-Language"] == "vi"
    english = await client.get(f"/pay/{token}", headers={"Accept-Language": "ja, de"})
    assert english.headers["Content-Language"] == "en"


async def test_the_status_the_page_waits_on_and_the_receipt_once_paid(
    app: App, client: TestClient[Any, Any]
) -> None:
    token = await token_of(app)
    status = await client.get(f"/pay/{token}/status")
    assert status.headers["Cache-Control"] == "no-store"
    assert await status.json() == {"status": "open", "paid": False}
    await say(app, "gina", "/markpaid SVT-FML-1 25.90")
    assert await (await client.get(f"/pay/{token}/status")).json() == {"status": "paid", "paid": True}
    receipt = await (await client.get(f"/pay/{token}")).text()
    assert 'class="receipt"' in receipt and "✓ Paid" in receipt and "S$25.90" in receipt
    assert "Thank you! gina has your payment for SVT-FML-1." in receipt
    assert 'class="copy"' not in receipt and "qr.png" not in receipt  # nothing left to pay
    assert (await client.get("/pay/no-such-token/status")).status == 404
