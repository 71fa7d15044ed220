"""One Telegram user flooding the bot: answered "slow down" once, the surplus dropped but
recorded as handled (a restart does not replay it), and everyone else answered."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select

from core.config import TelegramSettings
from core.db.models import GroupOrder, InboundUpdate
from core.inbound import unhandled_inbound
from core.throttle import InboundLimit
from main import App
from tests.conftest import open_go
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_bots import telegram_bot

FLOODER = FakeTelegram.user(3001, "Flo")
OTHERS = [FakeTelegram.user(3100 + n, f"Fan {n}") for n in range(5)]
FLOOD = 300
BURST = 5


async def recorded_and_handled(app: App) -> tuple[int, int]:
    async with app.core.reader() as uow:
        recorded = int(await uow.session.scalar(select(func.count()).select_from(InboundUpdate)) or 0)
        return recorded, recorded - await unhandled_inbound(uow.session)


async def until_recorded_and_handled(app: App, count: int, timeout: float = 120) -> None:
    """Wait for the condition itself: ``count`` updates recorded, every one of them handled."""
    deadline = time.monotonic() + timeout
    while (seen := await recorded_and_handled(app)) != (count, count):
        assert time.monotonic() < deadline, f"recorded, handled: {seen}; expected {count} of each"
        await asyncio.sleep(0.05)


def chat_of(user: dict[str, object]) -> int:
    return int(str(user["id"]))


async def test_a_flood_is_told_once_dropped_and_the_others_are_answered(app: App, fake: FakeTelegram) -> None:
    await open_go(app, cap=1_000, items=('POB 3 "Photocard"',))
    app.core.inbound_limit = InboundLimit(rate=0.01, burst=BURST)  # nothing refills during the test
    settings = TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url)
    async with telegram_bot(app.bot, settings, retry_base=0.01).running():
        for _ in range(FLOOD):
            fake.send_text(FLOODER, "/order SVT-FML POB 1")
        for fan in OTHERS:
            fake.send_text(fan, "/browse")
        await fake.wait_until(lambda: all(fake.chat(chat_of(f)) for f in OTHERS), timeout=120)
        await until_recorded_and_handled(app, FLOOD + len(OTHERS))
        await fake.wait_until(lambda: len(fake.chat(chat_of(FLOODER))) >= BURST + 1, timeout=120)

    flooder_saw = [m.shown for m in fake.chat(chat_of(FLOODER))]
    assert sum("slow down" in text for text in flooder_saw) == 1
    assert sum("Order placed" in text for text in flooder_saw) == BURST
    assert len(flooder_saw) == BURST + 1
    assert all("SVT-FML" in fake.last(chat_of(f)).shown for f in OTHERS)
    async with app.core.reader() as uow:
        reserved = await uow.session.scalar(select(GroupOrder.reserved_units))
    assert reserved == BURST  # not one unit per message of the flood
