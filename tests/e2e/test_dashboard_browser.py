"""The GOM dashboard in a real headless browser: the sign-in link the bot sends opened and
pressed, the team's group orders at a phone's width and a desk's, and a proof approved on
the review page (the picture beside what was read) with the buyer told in their chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer

from core.clock import FrozenClock
from main import App
from tests.conftest import make_app, open_go, say
from tests.e2e.browser import WIDTHS, in_browser, needs_a_browser, screenshot, until
from tests.integration.test_payments import PNG, ok, order_status, send
from web.app import build_web_app

pytestmark = needs_a_browser


def heading_with(text: str) -> str:
    """A script that answers the page's heading once it holds ``text`` (a page loaded after
    a click is waited for by what it shows, not by time)."""
    heading = "(document.querySelector('h1') || {}).innerText || ''"
    return f"const h = {heading}; return h.includes({text!r}) && h;"


@pytest.fixture
async def served(tmp_path: Path, outbox_log: list[str]) -> AsyncIterator[tuple[App, str]]:
    """gomflow on a real loopback port, its clock at today; console buyers' messages in ``outbox_log``."""
    app = await make_app("sqlite", tmp_path, FrozenClock(datetime.now(UTC)), outbox_log)
    server = TestServer(build_web_app(app.core), host="127.0.0.1")
    await server.start_server()
    try:
        yield app, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
        await app.core.close()


async def click(driver: Any, selector: str) -> None:
    from selenium.webdriver.common.by import By

    element = await in_browser(driver, "find_element", By.CSS_SELECTOR, selector)
    await in_browser(element, "click")


async def test_signing_in_by_the_link_and_approving_a_proof_tells_the_buyer(
    served: tuple[App, str], browser: Any, outbox_log: list[str]
) -> None:
    app, base = served
    await open_go(app)
    ok(await say(app, "hana", "/start"))
    ok(await say(app, "gina", "/helper add @hana"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await send(app, "bob", "/paid SVT-FML-1 DBS-REF-1", PNG))

    reply = ok(await say(app, "hana", "/dashboard"))
    [link] = [b.url for row in reply.buttons for b in row if b.url]
    await in_browser(browser, "set_window_size", *WIDTHS["phone"])
    await in_browser(browser, "get", base + urlsplit(link).path)
    await until(browser, heading_with("Sign in to the dashboard"), "the sign-in page")
    await click(browser, "form button")
    await until(browser, heading_with("Your group orders"), "the dashboard")
    body = await in_browser(browser, "execute_script", "return document.body.innerText")
    assert "Signed in as hana" in body and "SVT-FML" in body
    overflow = "return document.documentElement.scrollWidth - window.innerWidth"
    assert await in_browser(browser, "execute_script", overflow) <= 0, "wider than a phone's screen"
    await screenshot(browser, "dashboard-home-phone")

    await click(browser, ".card a")
    await until(browser, heading_with("SVT-FML"), "the group order")
    assert await in_browser(browser, "execute_script", overflow) <= 0, "the orders are wider than the screen"
    await screenshot(browser, "dashboard-go-phone")
    await click(browser, "a[href$='/proofs']")
    await until(browser, "return document.querySelector('a.button')", "a proof to review")
    await click(browser, "a.button")
    await in_browser(browser, "set_window_size", *WIDTHS["desktop"])
    loaded = "return (document.querySelector('.proof img') || {}).naturalWidth"
    assert await until(browser, loaded, "the proof's picture") > 0
    side_by_side = (
        "const [a, b] = document.querySelectorAll('.proof > div');"
        "return a.getBoundingClientRect().top === b.getBoundingClientRect().top"
        " && a.getBoundingClientRect().right <= b.getBoundingClientRect().left;"
    )
    assert await in_browser(browser, "execute_script", side_by_side), "the picture is not beside the reading"
    await screenshot(browser, "dashboard-proof-desktop")

    await click(browser, "button[name='approve']")
    notice = "return (document.querySelector('.notice.ok') || {}).innerText"
    assert "Approved" in await until(browser, notice, "the approval")
    assert await order_status(app, "SVT-FML-1") == "paid"
    await app.dispatcher.run_once()
    told = [line for line in outbox_log if line.startswith("📨 to bob")]
    assert any("SVT-FML-1" in line and "S$25.90" in line for line in told), told
