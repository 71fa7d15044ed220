"""A crowd choosing one pickup slot at once: every choice through the command table against
the database's floor (the bare conditional UPDATE that takes a place, one transaction each).

    python -m bench.pickup [--backend sqlite|postgres] [--buyers 500] [--places 250]

PostgreSQL needs GOMFLOW_BENCH_POSTGRES_URL (its ``public`` schema is wiped).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bench.common import percentile, postgres_url, table, wipe_postgres
from core.clock import FrozenClock
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import Parcel, PickupSlot
from main import App, bootstrap
from tests.conftest import START, open_go, say


async def _app(backend: str, tmp: Path) -> App:
    if backend == "postgres":
        url = postgres_url()
        if url is None:
            raise SystemExit("set GOMFLOW_BENCH_POSTGRES_URL to run on PostgreSQL")
        await wipe_postgres(url)
    else:
        url = f"sqlite+aiosqlite:///{tmp}/pickup.db"
    app = bootstrap(Settings(database_url=url), clock=FrozenClock(START), write=lambda _: None)
    await upgrade(app.core.db)
    return app


async def measure(backend: str, buyers: int, places: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        app = await _app(backend, Path(tmp))
        try:
            await open_go(app, moq=1, cap=buyers * 2)
            for step in (
                '/shipopt SVT-FML MEET pickup "Meet-up"',
                f'/slot SVT-FML MEET "2026-12-12 14:00" {places} "Bugis"',
                f'/slot SVT-FML MEET "2026-12-13 14:00" {buyers} "Floor"',
            ):
                await say(app, "gina", step)
            await asyncio.gather(*(say(app, f"fan{i}", "/order SVT-FML ALB:A 1") for i in range(buyers)))

            latencies: list[float] = []

            async def choose(i: int) -> bool:
                began = time.perf_counter()
                reply = await say(app, f"fan{i}", "/deliver SVT-FML MEET 1")
                latencies.append((time.perf_counter() - began) * 1000)
                return reply.text.startswith("✅")

            began = time.perf_counter()
            won = sum(await asyncio.gather(*(choose(i) for i in range(buyers))))
            ours = time.perf_counter() - began

            async def bare() -> None:
                async with app.core.uow() as uow:
                    await uow.session.execute(
                        update(PickupSlot)
                        .where(PickupSlot.position == 2, PickupSlot.reserved + 1 <= PickupSlot.capacity)
                        .values(reserved=PickupSlot.reserved + 1)
                    )
                    await uow.commit()

            began = time.perf_counter()
            await asyncio.gather(*(bare() for _ in range(buyers)))
            floor = time.perf_counter() - began
            async with app.core.reader() as uow:
                reserved = await uow.session.scalar(
                    select(PickupSlot.reserved).where(PickupSlot.position == 1)
                )
                holders = await uow.session.scalar(
                    select(func.count()).select_from(Parcel).where(Parcel.slot_id.is_not(None))
                )
        finally:
            await app.core.close()
    latencies.sort()
    return {
        "backend": backend,
        "buyers": buyers,
        "places": places,
        "won": won,
        "reserved": reserved,
        "holders": holders,
        "over capacity": max(0, int(reserved or 0) - places),
        "choices per second": buyers / ours,
        "floor per second": buyers / floor,
        "p50 ms": percentile(latencies, 0.5),
        "p95 ms": percentile(latencies, 0.95),
    }


def report(r: dict[str, Any]) -> str:
    return table(
        [
            ("backend", r["backend"]),
            ("buyers at once / places", f"{r['buyers']} / {r['places']}"),
            ("got a place", f"{r['won']} (slot counter {r['reserved']}, parcels {r['holders']})"),
            ("over capacity", str(r["over capacity"])),
            ("choices per second", f"{r['choices per second']:.0f}"),
            ("floor: bare UPDATEs per second", f"{r['floor per second']:.0f}"),
            ("ours as a share of the floor", f"{r['choices per second'] / r['floor per second']:.0%}"),
            ("latency p50 / p95", f"{r['p50 ms']:.0f} ms / {r['p95 ms']:.0f} ms"),
        ]
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.pickup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--buyers", type=int, default=500)
    parser.add_argument("--places", type=int, default=250)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.backend, args.buyers, args.places))
    print(report(result))
    return result


if __name__ == "__main__":
    main()
