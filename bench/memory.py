"""Peak memory of ``gomflow run`` with 100,000 orders in its database while it serves a drop.

Seeds a SQLite database with the orders (through the order desk), starts the real
``main.py run`` process on it, plays a drop through its console chat, and reads the
process's peak resident set size (VmHWM) from /proc. Run: ``python -m bench.memory``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import Drop, seed_buyers, seed_drop, table
from core.app import build_core
from core.config import Settings
from core.db.migrate import upgrade
from core.quantities import LineRequest
from core.services.ordering import place_order

ROOT = Path(__file__).resolve().parents[1]


async def seed(url: str, orders: int, buyers: int) -> None:
    core = build_core(Settings(database_url=url))
    await upgrade(core.db)
    await seed_drop(core, Drop(code="ARCHIVE", capacity=orders, stock=orders, per_buyer=orders))
    await seed_drop(core, Drop(code="DROP-1", capacity=buyers // 2, stock=buyers // 4, per_buyer=2))
    fans = await seed_buyers(core, max(1, orders // 50), prefix="old")
    line = [LineRequest("ALB", None, 1)]
    for start in range(0, orders, 2000):
        await asyncio.gather(
            *(
                place_order(core.uow(), fans[i % len(fans)], "ARCHIVE", line)
                for i in range(start, min(orders, start + 2000))
            )
        )
    await core.close()


ANSWER_TIMEOUT = 900.0  # seconds for the whole drop to be answered, however busy the machine


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def serve_drop(url: str, buyers: int) -> tuple[float, float, int]:
    env = dict(os.environ, GOMFLOW_DATABASE_URL=url, GOMFLOW_HTTP_PORT="0", GOMFLOW_LOG_LEVEL="WARNING")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "run"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    script = "".join(f"/as buyer drop{i}\n/order DROP-1 ALB 1 POB 1\n" for i in range(buyers))
    started = time.perf_counter()
    process.stdin.write(script)
    process.stdin.flush()
    answered = 0
    # a run that stops answering ends the read (and the benchmark) instead of hanging it
    watchdog = threading.Timer(ANSWER_TIMEOUT, process.kill)
    watchdog.start()
    for line in process.stdout:
        answered += line.count("gomflow → ")  # after the console's prompt ("drop7> ")
        if answered >= buyers:
            break
    watchdog.cancel()
    seconds = time.perf_counter() - started
    peak = peak_rss_mb(process.pid)
    process.terminate()
    process.communicate(timeout=30)
    return peak, seconds, answered


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description="peak RSS of gomflow run during a drop")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--buyers", type=int, default=2_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/memory.db"
        asyncio.run(seed(url, args.orders, args.buyers))
        peak, seconds, answered = serve_drop(url, args.buyers)
        size = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20
    print(
        table(
            [
                ("orders in the database", f"{args.orders:,}"),
                ("database files", f"{size:.0f} MB"),
                ("drop orders answered through the console", f"{answered:,} in {seconds:.1f} s"),
                ("peak RSS of gomflow run (VmHWM)", f"{peak:.0f} MB"),
                ("cores", str(os.cpu_count())),
            ]
        ),
        flush=True,
    )
    return peak


if __name__ == "__main__":
    main()
