"""A broadcast drained by one and by two real ``gomflow run`` workers on one PostgreSQL.

Each run wipes the PostgreSQL database named by ``GOMFLOW_BENCH_POSTGRES_URL`` (or
``GOMFLOW_TEST_POSTGRES_URL``), seeds N Telegram buyers, queues one broadcast to all of
them and starts the workers, which deliver to the local Telegram fake; the fake enforces
the same ceiling gomflow is configured with and counts every 429. Printed side by side:
the share of the ceiling held from the first send to the last, the busiest second, the
429s, and messages sent more than once.

    python -m bench.workers [--messages 10000] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import wipe_postgres
from core.config import Settings
from core.db.migrate import upgrade
from core.services import broadcasts
from main import bootstrap
from tests.conftest import gom, open_go
from tests.fakes.crowd import outbox_counts, seed_buyers
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.workers_rig import DATA_KEY, Rig, both_ready, busiest_second


async def measure(url: str, workers: int, messages: int, rate: int, tmp: Path) -> dict[str, Any]:
    fake = FakeTelegram(global_per_second=rate)
    fake.enforce_limits = True
    await fake.start()
    await wipe_postgres(url)
    app = bootstrap(Settings(database_url=url, data_keys=DATA_KEY), write=lambda _: None)
    rig = Rig(tmp, fake, url, app)
    try:
        await upgrade(app.core.db)
        await open_go(app, cap=messages + 10)
        await seed_buyers(app.core, "SVT-FML", messages, "telegram", lambda i: str(10**6 + i))
        gina = await gom(app)
        await broadcasts.prepare_broadcast(
            app.core.uow(), gina, "SVT-FML", "all", "Restock!", confirm_over=10**9
        )
        extra = {"GOMFLOW_RATE_LIMITS": f"telegram={rate}/1s", "GOMFLOW_LOG_LEVEL": "WARNING"}
        started = [await rig.start(f"w{workers}-{n}", extra=extra) for n in range(workers)]
        if workers > 1:
            async with aiohttp.ClientSession() as client:
                await both_ready(client, started)
        while await outbox_counts(app.core, broadcasts_only=True) != {"sent": messages}:
            await asyncio.sleep(0.1)
    finally:
        await rig.stop()
        await app.core.close()
        await fake.stop()
    sent = [c for c in fake.calls_to("sendMessage") if c.status == 200]
    times = sorted(c.at for c in sent)
    seconds = times[-1] - times[0]
    repeats = sum(n - 1 for n in Counter(str(c.params["chat_id"]) for c in sent).values())
    return {
        "workers": workers,
        "messages": messages,
        "ceiling": rate,
        "seconds": seconds,
        "achieved": (len(times) - 1) / seconds,
        "busiest": busiest_second(times),
        "violations": fake.violations,
        "repeats": repeats,
    }


def table(results: list[dict[str, Any]]) -> str:
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("workers", lambda r: f"{r['workers']}"),
        ("broadcast messages", lambda r: f"{r['messages']:,}"),
        ("configured ceiling, messages/s", lambda r: f"{r['ceiling']:,}"),
        ("first to last send, s", lambda r: f"{r['seconds']:.1f}"),
        ("achieved, messages/s", lambda r: f"{r['achieved']:,.1f}"),
        ("achieved / ceiling", lambda r: f"{r['achieved'] / r['ceiling']:.1%}"),
        ("busiest second, messages", lambda r: f"{r['busiest']}"),
        ("429s counted by the fake", lambda r: f"{r['violations']}"),
        ("messages sent twice", lambda r: f"{r['repeats']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return (
        "\n".join(f"{name:<{width}}  " + "  ".join(f"{cell(r):>10}" for r in results) for name, cell in rows)
        + f"\nCPU cores: {os.cpu_count()}"
    )


async def run(url: str, messages: int, rate: int) -> list[dict[str, Any]]:
    results = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(await measure(url, workers, messages, rate, Path(tmp)))
    return results


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=200, help="ceiling in messages per second")
    args = parser.parse_args(argv)
    url = os.environ.get("GOMFLOW_BENCH_POSTGRES_URL") or os.environ.get("GOMFLOW_TEST_POSTGRES_URL")
    if not url:
        parser.exit(2, "set GOMFLOW_BENCH_POSTGRES_URL to a PostgreSQL database it may wipe\n")
    results = asyncio.run(run(url, args.messages, args.rate))
    print(table(results))
    return results


if __name__ == "__main__":
    main()
