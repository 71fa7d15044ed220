"""``/orders`` and ``/export`` on a GO with 100,000 orders: time, reply size, peak memory.

Seeds a SQLite database (or PostgreSQL with ``--backend postgres``) with the orders in bulk
inserts, then, in a fresh process each (so the peak resident set size is that command's
alone), asks through the command table as its GOM:

- ``/orders CODE`` the way it answered before pages: every order in one reply (the same
  service with its one-message limit lifted),
- ``/orders CODE`` as it answers now: a summary and the first page,
- ``/orders CODE unpaid page 40``, a page deep into a filtered list,
- ``/export CODE``, the whole list as a CSV file.

Run: ``python -m bench.reports [--orders 100000] [--backend sqlite|postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select, update

from bench.common import Drop, database_for, seed_buyers, seed_drop, table
from core.app import build_core
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import GroupOrder, Item, Order, OrderLine
from core.status import OrderStatus

ROOT = Path(__file__).resolve().parents[1]
CODE = "ARCHIVE"
GOM = "bench-gom"
INSERT_CHUNK = 5_000
# one order in ten cancelled, three in ten paid, the rest waiting for payment
STATUSES = [OrderStatus.PLACED] * 6 + [OrderStatus.PAID] * 3 + [OrderStatus.CANCELLED]


async def seed(url: str, orders: int, *, code: str = CODE, buyers: int | None = None) -> None:
    """A GO with ``orders`` orders of one album each from ``buyers`` buyers (by default one
    for every four orders), by bulk insert: the benchmark measures reading them, not
    placing them."""
    core = build_core(Settings(database_url=url))
    await upgrade(core.db)
    most = min(max(orders, 1), 100_000)  # the largest capacity a GO may have
    await seed_drop(core, Drop(code=code, capacity=most, stock=most, per_buyer=most))
    prefix = "old" if code == CODE else f"{code.lower()}-"
    fans = await seed_buyers(core, buyers or max(1, orders // 4), prefix=prefix)
    async with core.uow() as uow:
        go = await uow.session.scalar(select(GroupOrder).where(GroupOrder.code == code))
        assert go is not None
        item = await uow.session.scalar(select(Item).where(Item.go_id == go.id, Item.code == "ALB"))
        assert item is not None
        now, units_live = uow.now, 0
        for start in range(0, orders, INSERT_CHUNK):
            batch = []
            for i in range(start, min(orders, start + INSERT_CHUNK)):
                units = 1
                status = STATUSES[i % len(STATUSES)]
                units_live += units if status != OrderStatus.CANCELLED else 0
                batch.append(
                    {
                        "number": f"{code}-{i + 1}",
                        "go_id": go.id,
                        "buyer_id": fans[i % len(fans)].user_id,
                        "status": status.value,
                        "units": units,
                        "total_minor": units * item.price_minor,
                        "currency": go.currency,
                        "channel": "console",
                        "placed_at": now,
                        "payment_due_at": now + timedelta(hours=48),
                        "updated_at": now,
                    }
                )
            await uow.session.execute(insert(Order), batch)
            ids = (
                await uow.session.execute(
                    select(Order.id, Order.units).where(Order.go_id == go.id).order_by(Order.id).offset(start)
                )
            ).all()
            await uow.session.execute(
                insert(OrderLine),
                [
                    {
                        "order_id": order_id,
                        "item_id": item.id,
                        "variant_id": None,
                        "quantity": units,
                        "unit_price_minor": item.price_minor,
                    }
                    for order_id, units in ids
                ],
            )
        await uow.session.execute(
            update(GroupOrder).where(GroupOrder.id == go.id).values(reserved_units=units_live)
        )
        await uow.session.execute(update(Item).where(Item.id == item.id).values(reserved=units_live))
        await uow.commit()
    await core.close()


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def ask(url: str, text: str, whole: bool) -> dict[str, float]:
    """Inside the child process: answer one command as the GOM and measure it."""
    from bots.chat import ChatRequest
    from bots.dispatch import handle
    from core.services import order_pages
    from main import bootstrap

    if whole:  # the answer before pages: every order in one message
        order_pages.FITS_IN_ONE_MESSAGE = 10**9
    app = bootstrap(Settings(database_url=url), write=lambda _: None)
    # warm up (the sender's identity, SQLAlchemy's compiled statements) on a small command
    await handle(app.bot, ChatRequest("console", GOM, GOM, f"/progress {CODE}", handle=GOM))
    before = rss_mb()
    started = time.perf_counter()
    reply = await handle(app.bot, ChatRequest("console", GOM, GOM, text, handle=GOM))
    seconds = time.perf_counter() - started
    if reply.text.startswith("⚠️"):
        raise SystemExit(f"{text} was refused: {reply.text}")
    size = len(reply.text.encode()) + (len(reply.document.content) if reply.document else 0)
    await app.core.close()
    return {"seconds": seconds, "bytes": size, "before_mb": before, "peak_mb": peak_rss_mb()}


def measure(url: str, text: str, whole: bool = False, here: bool = False) -> dict[str, float]:
    """Run ``ask`` in a fresh process, so its peak memory is this command's alone (``here``:
    in this process, for a quick check that the benchmark still runs)."""
    if here:
        return asyncio.run(ask(url, text, whole))
    command = [sys.executable, "-m", "bench.reports", "--ask", text, "--url", url]
    if whole:
        command.append("--whole")
    env = dict(os.environ, GOMFLOW_LOG_LEVEL="WARNING")
    done = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{text}: {done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def row(label: str, f: dict[str, float]) -> tuple[str, str]:
    size = f["bytes"]
    shown = f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.1f} kB"
    memory = f"RSS {f['before_mb']:.0f} → {f['peak_mb']:.0f} MB"
    return (label, f"{f['seconds'] * 1000:8.0f} ms   reply {shown:>9}   {memory}")


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description="/orders and /export on a GO with many orders")
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--skip-whole", action="store_true", help="leave out the old one-message answer")
    parser.add_argument("--here", action="store_true", help="measure in this process (no RSS figures)")
    parser.add_argument("--ask", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--whole", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ask:
        print(json.dumps(asyncio.run(ask(args.url, args.ask, args.whole))), flush=True)
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        url = database_for(args.backend, tmp, "reports")
        started = time.perf_counter()
        asyncio.run(seed(url, args.orders))
        seeded = time.perf_counter() - started
        pages = max(1, args.orders * 6 // 10 // 20)
        results: dict[str, dict[str, float]] = {}
        if not args.skip_whole:
            results["whole"] = measure(url, f"/orders {CODE}", whole=True, here=args.here)
        results["first page"] = measure(url, f"/orders {CODE}", here=args.here)
        results["deep page"] = measure(url, f"/orders {CODE} unpaid page {min(40, pages)}", here=args.here)
        results["export"] = measure(url, f"/export {CODE}", here=args.here)
    rows = [
        ("backend", args.backend),
        ("orders in the GO", f"{args.orders:,} (seeded in {seeded:.1f} s)"),
    ]
    if "whole" in results:
        rows.append(row("/orders before: every order in one reply", results["whole"]))
    rows += [
        row("/orders now: summary and first page", results["first page"]),
        row(f"/orders {CODE} unpaid page {min(40, pages)}", results["deep page"]),
        row("/export (the whole list as a CSV file)", results["export"]),
        ("cores", str(os.cpu_count())),
    ]
    print(table(rows), flush=True)
    return results


if __name__ == "__main__":
    main()
