"""The dashboard's pages on a GO with 100,000 orders: how long each takes over loopback
HTTP, and how large it is.

Seeds the GO as ``bench.reports`` does (bulk inserts, the GOM ``bench-gom``), signs the GOM
in through a one-time link as a browser would (the link's POST, then the session's cookie),
and asks each page ``--rounds`` times through gomflow's real web app on a loopback port,
reporting the median and the slowest.

Run: ``python -m bench.dashboard [--orders 100000] [--backend sqlite|postgres] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient, TestServer

from bench.common import database_for, table
from bench.reports import CODE, GOM, seed
from core.config import Settings
from core.services.accounts import identify
from core.services.dashboard import send_sign_in_link
from main import bootstrap
from web.app import build_web_app


def pages(orders: int) -> list[tuple[str, str]]:
    deep = max(1, min(40, orders * 6 // 10 // 20))
    return [
        ("your group orders", "/dashboard"),
        ("a GO: items, summary, first page of orders", f"/dashboard/go/{CODE}"),
        (f"unpaid orders, page {deep}", f"/dashboard/go/{CODE}?show=unpaid&page={deep}"),
        ("payments: totals and first page", f"/dashboard/go/{CODE}/payments"),
        ("proofs to review", f"/dashboard/go/{CODE}/proofs"),
        ("every order as a CSV file", f"/dashboard/go/{CODE}/orders.csv"),
    ]


async def measure(url: str, orders: int, rounds: int) -> dict[str, dict[str, float]]:
    app = bootstrap(Settings(database_url=url), write=lambda _: None)
    results: dict[str, dict[str, float]] = {}
    try:
        gom = await identify(app.core.uow(), "console", GOM, GOM, GOM)
        link = await send_sign_in_link(app.core.uow(), gom, "http://127.0.0.1")
        async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:
            signed = await client.post(urlsplit(link.url).path, allow_redirects=False)
            if signed.status != 303:
                raise SystemExit(f"signing in was refused: {await signed.text()}")
            for label, path in pages(orders):
                seconds, size = [], 0
                for _ in range(rounds):
                    started = time.perf_counter()
                    answer = await client.get(path)
                    body = await answer.read()
                    seconds.append(time.perf_counter() - started)
                    if answer.status != 200:
                        raise SystemExit(f"{path} answered {answer.status}: {body[:500]!r}")
                    size = len(body)
                results[label] = {
                    "median": statistics.median(seconds),
                    "slowest": max(seconds),
                    "bytes": size,
                }
    finally:
        await app.core.close()
    return results


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description="the dashboard's pages on a GO with many orders")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = database_for(args.backend, tmp, "dashboard")
        started = time.perf_counter()
        asyncio.run(seed(url, args.orders))
        seeded = time.perf_counter() - started
        results = asyncio.run(measure(url, args.orders, args.rounds))
    rows = [
        ("backend", args.backend),
        ("orders in the GO", f"{args.orders:,} (seeded in {seeded:.1f} s)"),
        ("rounds per page", str(args.rounds)),
    ]
    for label, f in results.items():
        size = f["bytes"]
        shown = f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.1f} kB"
        rows.append(
            (
                label,
                f"median {f['median'] * 1000:7.0f} ms   slowest {f['slowest'] * 1000:7.0f} ms   {shown:>9}",
            )
        )
    rows.append(("cores", str(os.cpu_count())))
    print(table(rows), flush=True)
    return results


if __name__ == "__main__":
    main()
