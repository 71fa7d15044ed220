"""Broadcast throughput against the configured ceiling, and how long a transactional message
waits when it is queued in the middle of a large broadcast.

Runs gomflow's real outbox and dispatcher on a throwaway SQLite database, delivering to the
local fake Discord API (which enforces the same ceiling and counts every breach).

    python -m bench.broadcast [--messages 3000] [--rate 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from channels.discord import DiscordChannel
from channels.dispatcher import Dispatcher
from channels.limits import ChannelLimits, Rate
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import Identity
from core.outbox import TRANSACTIONAL
from core.services import broadcasts
from main import bootstrap
from tests.conftest import gom, open_go
from tests.fakes.crowd import outbox_counts, seed_buyers
from tests.fakes.discord_api import TOKEN, FakeDiscordAPI


async def measure(messages: int, rate: int) -> dict[str, Any]:
    fake = FakeDiscordAPI(global_limit=(rate, 1.0), channel_limit=(5, 5.0))
    await fake.start()
    channel = DiscordChannel(TOKEN, fake.base_url)
    with tempfile.TemporaryDirectory() as tmp:
        app = bootstrap(Settings(database_url=f"sqlite+aiosqlite:///{tmp}/bench.db"), write=lambda _: None)
        await upgrade(app.core.db)
        await open_go(app)
        await seed_buyers(app.core, "SVT-FML", messages, "discord", lambda i: str(10**17 + i))
        async with app.core.reader() as uow:
            urgent_to = await uow.session.scalar(select(Identity.id).where(Identity.channel == "discord"))
        assert urgent_to is not None
        dispatcher = Dispatcher(
            app.core,
            app.bot.renderer,
            {"discord": channel},
            limits={"discord": ChannelLimits(Rate(rate, 1), Rate(5, 5), Rate(5, 5))},
        )
        gina = await gom(app)
        started = time.monotonic()
        await broadcasts.prepare_broadcast(
            app.core.uow(), gina, "SVT-FML", "all", "Restock!", confirm_over=10**9
        )
        run = asyncio.create_task(dispatcher.run())

        # Halfway through, a payment confirmation for one buyer is queued.
        while len(fake.delivered) < messages // 2:
            await asyncio.sleep(0.005)
        queued_at = time.monotonic()
        async with app.core.uow() as uow:
            await uow.notify(
                urgent_to,
                "order_expired",
                {"number": "SVT-FML-1", "go_code": "SVT-FML", "go_title": "bench"},
                dedupe_key="bench-urgent",
                priority=TRANSACTIONAL,
            )
            await uow.commit()
        while not any("expired" in content for _, content in fake.delivered):
            await asyncio.sleep(0.002)
        latency = time.monotonic() - queued_at
        backlog = messages - sum(1 for _, content in fake.delivered if "Restock!" in content)

        while (await outbox_counts(app.core)) != {"sent": messages + 1}:
            await asyncio.sleep(0.02)
        seconds = time.monotonic() - started
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await channel.close()
        await app.core.db.dispose()
    await fake.stop()
    return {
        "messages": messages,
        "requests": fake.requests,
        "seconds": seconds,
        "ceiling": rate,
        "achieved": fake.requests / seconds,
        "messages_per_second": (messages + 1) / seconds,
        "violations": fake.violations,
        "latency": latency,
        "backlog": backlog,
        "cores": os.cpu_count() or 1,
    }


def table(r: dict[str, Any]) -> str:
    rows = [
        ("broadcast messages (one DM each, plus opening the DM)", f"{r['messages']:,}"),
        ("API requests", f"{r['requests']:,}"),
        ("configured ceiling, requests/s", f"{r['ceiling']:,}"),
        ("achieved, requests/s", f"{r['achieved']:,.0f}"),
        ("achieved / ceiling", f"{r['achieved'] / r['ceiling']:.0%}"),
        ("messages/s delivered", f"{r['messages_per_second']:,.0f}"),
        ("limit breaches (429s) counted by the fake", f"{r['violations']}"),
        ("transactional latency mid-broadcast, s", f"{r['latency']:.2f}"),
        ("broadcast messages still queued when it arrived", f"{r['backlog']:,}"),
        ("CPU cores", f"{r['cores']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value:>10}" for name, value in rows)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=300, help="ceiling in requests per second")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.messages, args.rate))
    print(table(result))
    return result


if __name__ == "__main__":
    main()
