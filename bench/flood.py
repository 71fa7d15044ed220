"""Flood benchmark: one Telegram user sends ~1,000 updates a second while others use the bot.

Through the real Telegram adapter and a local fake of the Bot API (long polling), one
flooder sends ``/order`` as fast as ``--rate`` asks for ``--seconds``; meanwhile
``--others`` buyers each send ``/browse`` once, spread over the flood. We time each of
their messages from the moment it is offered to the moment the bot's reply reaches the
fake, and count what the flood got: messages answered, units reserved, updates recorded
(every one, answered or dropped, ends up handled). With ``--compare``, the same run with
an inbound limit too large to matter shows what the flood does without it.
Run: ``python -m bench.flood``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time

from sqlalchemy import func, select

from bench.common import percentile, table
from core.config import Settings, TelegramSettings
from core.db.migrate import upgrade
from core.db.models import BuyerQuota, InboundUpdate
from core.inbound import unhandled_inbound
from core.services.accounts import identify
from core.throttle import DEFAULT_BURST, DEFAULT_RATE, InboundLimit
from main import App, bootstrap
from tests.conftest import open_go
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_bots import telegram_bot

FLOODER = 900_001
FIRST_OTHER = 910_000
TICK = 0.01  # the flood is offered in slices this long


async def flood(fake: FakeTelegram, rate: int, seconds: float) -> int:
    """Offer ``rate`` updates a second from one user for ``seconds``; how many were offered."""
    user = FakeTelegram.user(FLOODER, "Flo")
    sent = 0
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) - sent
        for _ in range(max(0, due)):
            fake.send_text(user, "/order FLOOD POB 1")
        sent += max(0, due)
        await asyncio.sleep(TICK)
    return sent


async def others_browse(fake: FakeTelegram, others: int, seconds: float) -> list[float]:
    """Each other buyer sends /browse once, spread over the flood; their reply times in ms."""
    offered: dict[int, float] = {}
    for n in range(others):
        await asyncio.sleep(seconds / max(1, others))
        chat = FIRST_OTHER + n
        offered[chat] = time.monotonic()
        fake.send_text(FakeTelegram.user(chat, f"Fan {n}"), "/browse")
    await fake.wait_until(lambda: all(fake.calls_to("sendMessage", chat) for chat in offered), timeout=600)
    return sorted((fake.calls_to("sendMessage", chat)[0].at - at) * 1000 for chat, at in offered.items())


async def until_all_handled(app: App, offered: int, timeout: float = 600) -> int:
    """Wait until all ``offered`` updates are recorded and handled; how many were recorded."""
    deadline = time.monotonic() + timeout
    while True:
        async with app.core.reader() as uow:
            recorded = int(await uow.session.scalar(select(func.count()).select_from(InboundUpdate)) or 0)
            waiting = await unhandled_inbound(uow.session)
        if (recorded >= offered and waiting == 0) or time.monotonic() > deadline:
            return recorded
        await asyncio.sleep(0.05)


async def run(rate: int, seconds: float, others: int, limit: InboundLimit) -> dict[str, float]:
    fake = FakeTelegram()
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        app = bootstrap(Settings(database_url=f"sqlite+aiosqlite:///{tmp}/flood.db"), write=lambda _: None)
        app.core.inbound_limit = limit
        await upgrade(app.core.db)
        await open_go(app, "FLOOD", cap=100_000, items=('POB 3 "Photocard"',))
        await asyncio.gather(
            *(identify(app.core.uow(), "telegram", str(FIRST_OTHER + n), f"Fan {n}") for n in range(others))
        )
        settings = TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url)
        try:
            async with telegram_bot(app.bot, settings).running():
                offered, latencies = await asyncio.gather(
                    flood(fake, rate, seconds), others_browse(fake, others, seconds)
                )
                recorded = await until_all_handled(app, offered + others)
                answered = len(fake.calls_to("sendMessage", FLOODER))
            async with app.core.reader() as uow:
                units = int(await uow.session.scalar(select(func.sum(BuyerQuota.reserved))) or 0)
        finally:
            await app.core.close()
            await fake.stop()
    return {
        "offered": offered,
        "recorded": recorded,
        "answered": answered,
        "units": units,
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "max": latencies[-1] if latencies else 0.0,
    }


async def bench(rate: int, seconds: float, others: int, compare: bool) -> dict[str, float]:
    limited = await run(rate, seconds, others, InboundLimit(DEFAULT_RATE, DEFAULT_BURST))
    rows = [
        ("cores", str(os.cpu_count())),
        ("flood: updates offered by one user", f"{limited['offered']:,.0f} in {seconds:g} s"),
        ("inbound limit per sender", f"{DEFAULT_RATE:g}/s, burst {DEFAULT_BURST}"),
        ("updates recorded (all handled at the end)", f"{limited['recorded']:,.0f}"),
        ("flooder: messages answered", f"{limited['answered']:,.0f}"),
        ("flooder: units reserved", f"{limited['units']:,.0f}"),
        (f"{others} others: p50 / p95 / max reply", _ms(limited)),
    ]
    print(table(rows), flush=True)
    figures = dict(limited)
    if compare:
        try:
            unlimited = await run(rate, seconds, others, InboundLimit(1e9, 10**9))
        except AssertionError:  # the fake's wait ran out: the others were never all answered
            print(f"without the limit: the {others} others were not all answered within 600 s", flush=True)
            return figures
        rows = [
            ("without the limit: flooder's units reserved", f"{unlimited['units']:,.0f}"),
            ("without the limit: others' p50 / p95 / max", _ms(unlimited)),
        ]
        print(table(rows), flush=True)
        figures["unlimited_p95"] = unlimited["p95"]
    return figures


def _ms(figures: dict[str, float]) -> str:
    return f"{figures['p50']:,.0f} / {figures['p95']:,.0f} / {figures['max']:,.0f} ms"


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="One user's flood against everyone else's replies")
    parser.add_argument("--rate", type=int, default=1000, help="the flooder's updates a second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--others", type=int, default=50, help="other buyers, one /browse each")
    parser.add_argument("--compare", action="store_true", help="also run without the limit")
    args = parser.parse_args(argv)
    return asyncio.run(bench(args.rate, args.seconds, args.others, args.compare))


if __name__ == "__main__":
    main()
