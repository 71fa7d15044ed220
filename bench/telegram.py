"""Telegram benchmark: buyers ordering by button taps through the real adapter.

A local fake of the Bot API (no rate limit) feeds N confirm taps, one per buyer; we time
each tap from the moment the update is offered to the moment the bot edits that buyer's
message with the answer. In the same run, a minimal python-telegram-bot echo bot
(answer the tap, edit the message) against the same fake is the floor, twice: as
python-telegram-bot comes (httpx), and on the aiohttp transport gomflow's Telegram
channel uses (the same client, so the fairest floor).
Run: ``python -m bench.telegram``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes

from bench.common import percentile, table
from channels.telegram import LONG_POLL_TIMEOUT, AiohttpRequest
from core.config import Settings, TelegramSettings
from core.db.migrate import upgrade
from core.services.accounts import identify
from main import bootstrap
from tests.conftest import open_go
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_bots import telegram_bot

FIRST_BUYER = 700_000


async def drive(fake: FakeTelegram, taps: int, data: Any) -> tuple[float, list[float]]:
    """Offer one tap per buyer at once; returns (taps per second, latencies in ms)."""
    buyers = [FakeTelegram.user(FIRST_BUYER + n, f"Fan {n}") for n in range(taps)]
    shown = [fake.show(int(b["id"]), "FML album × 1") for b in buyers]
    offered: dict[int, float] = {}
    start = time.monotonic()
    for buyer, message in zip(buyers, shown, strict=True):
        offered[int(buyer["id"])] = time.monotonic()
        fake.tap_data(buyer, message, data(buyer))
    await fake.wait_until(lambda: len(fake.calls_to("editMessageText")) >= taps, timeout=600)
    answered = {int(c.params["chat_id"]): c.at for c in fake.calls_to("editMessageText")}
    seconds = max(answered.values()) - start
    return taps / seconds, sorted((answered[chat] - at) * 1000 for chat, at in offered.items())


async def ours(taps: int, concurrency: int) -> tuple[float, list[float], int]:
    fake = FakeTelegram()
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        app = bootstrap(Settings(database_url=f"sqlite+aiosqlite:///{tmp}/telegram.db"), write=lambda _: None)
        await upgrade(app.core.db)
        await open_go(app, cap=min(100_000, taps * 2), items=('ALB 25.90 "FML album"',))
        settings = TelegramSettings(
            bot_token=fake.token, api_base_url=fake.base_url, concurrent_updates=concurrency
        )
        # buyers reach a GO card through the bot (a deep link), so they are known by then
        await asyncio.gather(
            *(identify(app.core.uow(), "telegram", str(FIRST_BUYER + n), f"Fan {n}") for n in range(taps))
        )
        try:
            async with telegram_bot(app.bot, settings).running():
                rate, latencies = await drive(fake, taps, lambda b: f"o:cf SVT-FML ALB 1 2590 n{b['id']}")
            placed = sum("Order placed" in m.shown for m in fake.messages.values() if m.edits)
        finally:
            await app.core.close()
            await fake.stop()
    return rate, latencies, placed


async def echo_floor(taps: int, concurrency: int, *, aiohttp: bool = False) -> tuple[float, list[float]]:
    """The least a python-telegram-bot bot can do per tap: answer it and edit the message."""
    fake = FakeTelegram()
    await fake.start()

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"echo: {query.data}")

    builder = ApplicationBuilder().token(fake.token).base_url(fake.base_url).concurrent_updates(concurrency)
    if aiohttp:
        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(LONG_POLL_TIMEOUT))
    else:
        builder = builder.connection_pool_size(concurrency)
    application = builder.build()
    application.add_handler(CallbackQueryHandler(echo))
    try:
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0.0)
            result = await drive(fake, taps, lambda b: f"tap {b['id']}")
            await application.updater.stop()
            await application.stop()
    finally:
        await fake.stop()
    return result


async def bench(taps: int, concurrency: int) -> dict[str, float]:
    floor_rate, floor_latencies = await echo_floor(taps, concurrency)
    same_rate, same_latencies = await echo_floor(taps, concurrency, aiohttp=True)
    rate, latencies, placed = await ours(taps, concurrency)
    figures = {
        "taps": taps,
        "placed": placed,
        "rate": rate,
        "p99": percentile(latencies, 0.99),
        "floor_rate": floor_rate,
        "floor_p99": percentile(floor_latencies, 0.99),
        "same_client_floor_rate": same_rate,
    }
    print(
        table(
            [
                ("cores", str(os.cpu_count())),
                ("taps (one per buyer, offered at once)", f"{taps:,}"),
                ("updates handled at once (both bots)", str(concurrency)),
                ("orders placed", f"{placed:,}"),
                ("gomflow: updates per second", f"{rate:,.0f}"),
                (
                    "gomflow: p50 / p99 update-to-reply",
                    f"{percentile(latencies, 0.5):,.0f} / {figures['p99']:,.0f} ms",
                ),
                ("echo bot floor: updates per second", f"{floor_rate:,.0f}"),
                (
                    "echo bot floor: p50 / p99",
                    f"{percentile(floor_latencies, 0.5):,.0f} / {figures['floor_p99']:,.0f} ms",
                ),
                ("gomflow as a share of the floor", f"{rate / floor_rate:.0%}"),
                ("echo bot on gomflow's aiohttp client: updates per second", f"{same_rate:,.0f}"),
                (
                    "echo bot on gomflow's aiohttp client: p50 / p99",
                    f"{percentile(same_latencies, 0.5):,.0f} / {percentile(same_latencies, 0.99):,.0f} ms",
                ),
                ("gomflow as a share of that floor", f"{rate / same_rate:.0%}"),
            ]
        ),
        flush=True,
    )
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="Telegram adapter against an echo-bot floor")
    parser.add_argument("--taps", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=1, help="concurrent updates in both bots")
    args = parser.parse_args(argv)
    return asyncio.run(bench(args.taps, args.concurrency))


if __name__ == "__main__":
    main()
