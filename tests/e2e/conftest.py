"""What the end-to-end tests share: a local fake of the Telegram Bot API, per test, and a
headless browser for the web pages (``tests.e2e.browser``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.browser import browser  # noqa: F401  (the fixture, for every test here)
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()
