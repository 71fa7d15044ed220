"""The pay page in a real headless browser (Debian's chromium, driven by Selenium through
Debian's chromedriver; nothing downloads a browser of its own): at a phone's width and a
desktop's in three languages, with a screenshot of each kept under ``test-artefacts/``,
and the page turning into the receipt by itself when a signed webhook pays the order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp.test_utils import TestServer

from core.clock import FrozenClock
from core.payments.hitpay import HitPayRequests, sign
from main import App
from tests.conftest import in_language, make_app, open_go, say
from tests.e2e.browser import ARTEFACTS, WIDTHS, in_browser, needs_a_browser, until
from tests.integration.test_gateways import HITPAY_SALT, FakeProviders, hitpay_completed
from web.app import build_web_app
from web.http_client import AiohttpClient

pytestmark = needs_a_browser


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[App, FakeProviders, str]]:
    """gomflow on a real loopback port, its clock at today (the page counts down to a real
    deadline), with HitPay answered by a local fake."""
    providers = FakeProviders()
    fake = TestServer(providers.app(), host="127.0.0.1")
    await fake.start_server()
    app = await make_app("sqlite", tmp_path, FrozenClock(datetime.now(UTC)), [])
    http = AiohttpClient()
    app.core.payment_gateways["hitpay"] = HitPayRequests(
        http, "hitpay_fake_key", HITPAY_SALT, str(fake.make_url("")).rstrip("/")
    )
    server = TestServer(build_web_app(app.core), host="127.0.0.1")
    await server.start_server()
    try:
        yield app, providers, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
        await app.core.payment_gateways["hitpay"].close()
        await app.core.close()
        await fake.close()


async def pay_link(app: App, methods: str, language: str | None = None) -> str:
    await open_go(app, methods=methods)
    await say(app, "bob", "/order SVT-FML ALB:A 1", language=language)
    reply = await say(app, "bob", "/pay SVT-FML-1")
    url = next(b.url for row in reply.buttons for b in row if b.url and "/pay/" in b.url)
    return url.rsplit("/pay/", 1)[1]


@pytest.mark.parametrize("language", ["en", "th", "zh"])
async def test_the_pay_page_at_a_phones_width_and_a_desktops(
    served: tuple[App, FakeProviders, str], browser: Any, language: str
) -> None:
    app, _, base = served
    token = await pay_link(app, 'paynow:+6591234567 bank="DBS Bank" name="Gina Tan" account=123-456789-0')
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for width, (w, h) in WIDTHS.items():
        await in_browser(browser, "set_window_size", w, h)
        await in_browser(browser, "get", f"{base}/pay/{token}?lang={language}")
        assert await until(browser, "return document.documentElement.lang", "its language") == language
        # the script ran: the countdown counts down to a deadline still ahead
        left = await until(browser, "return document.querySelector('.countdown').textContent", "a countdown")
        assert ":" in left, left
        text = await in_browser(browser, "execute_script", "return document.body.innerText")
        assert (
            "S$25.90" in text and "SVT-FML-1-I1" in text and "+6591234567" in text and "123-456789-0" in text
        )
        assert "FML album" in text and "gina" in text  # the order's lines, the GOM
        if language != "en":
            assert in_language(language, "Amount to pay") in text and "Amount to pay" not in text
        overflow = "return document.documentElement.scrollWidth - window.innerWidth"
        assert await in_browser(browser, "execute_script", overflow) <= 0, f"{width}: wider than the screen"
        shot = ARTEFACTS / f"pay-page-{language}-{width}.png"
        await in_browser(browser, "save_screenshot", str(shot))
        assert shot.stat().st_size > 10_000


async def test_the_page_shows_the_receipt_by_itself_once_a_webhook_pays(
    served: tuple[App, FakeProviders, str], browser: Any
) -> None:
    app, providers, base = served
    token = await pay_link(app, "hitpay manual", language="id")
    await in_browser(browser, "get", f"{base}/pay/{token}")
    assert await until(browser, "return document.documentElement.lang", "its language") == "id"
    await say(app, "bob", "/pay SVT-FML-1 hitpay")  # the buyer chose HitPay: its request is made
    form = parse_qs(providers.calls[-1][2].decode())
    event = hitpay_completed(form["reference_number"][0])
    http = AiohttpClient()
    try:
        headers = {"Hitpay-Signature": sign(event, HITPAY_SALT)}
        answer = await http.request("POST", f"{base}/webhooks/hitpay", headers=headers, body=event)
    finally:
        await http.close()
    assert answer.status == 200
    receipt = "return (document.querySelector('.receipt') || {}).innerText"
    shown = await until(browser, receipt, "the receipt")
    assert in_language("id", "Paid") in shown and "S$25.90" in shown and "SVT-FML-1-I1" in shown
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await in_browser(browser, "save_screenshot", str(ARTEFACTS / "pay-page-id-paid.png"))
