"""The order path against what the database can do, printed side by side.

* SQLite: ``place_order`` (the order desk) against a bare sqlite3 loop doing the same
  statements in batches of 128 with a savepoint per order, on an empty table and with
  ``--existing`` orders already in it (built by one INSERT … SELECT);
* the chat path (parse → service → render through the command table) against the desk
  alone, at ``--concurrency`` buyers at once;
* these in ``--rounds`` rounds (5 by default), each a new empty database and then the one
  holding ``--existing`` orders, back to back: a drop of 5,000 lasts half a second, and on
  a shared machine one such run can be a third faster or slower than the next, so each
  share is taken within a round and the table gives their median and every round's;
* PostgreSQL (when ``GOMFLOW_BENCH_POSTGRES_URL`` or ``GOMFLOW_TEST_POSTGRES_URL`` is set;
  its public schema is wiped): ``place_order`` against a bare asyncpg loop sending the same
  batches to the same server-side function, and 1, 2, 4 worker processes each running
  the desk against one GO.

Run: ``python -m bench.scale [--buyers 5000] [--existing 1000000] [--rounds 5] [--workers 1,2,4]``.

``--holds`` also samples, on a connection of its own (``pgrowlocks``), how often the hot
GO row is locked for update and how often a backend waits for a row lock: during the
floor (one batch at a time, so the share gives the hold per batch) and during each
worker run. ``--before`` runs the PostgreSQL part first with migration ``i1902``'s order
function (the GO row held from a batch's first order to its commit), then with the
current one, side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import math
import multiprocessing
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select

from bench import worker
from bench.common import Drop, percentile, postgres_url, seed_buyers, seed_drop, table, wipe_postgres
from bench.drop import WISHES, count_oversell
from bench.worker import Run, desk_drop, timed
from bots.chat import ChatRequest
from bots.dispatch import handle
from core.app import Core
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import GroupOrder, Item
from core.db.raw import sqlite_value
from core.quantities import LineRequest, parse_line_pairs
from core.reservations import (
    AUDIT_INSERT,
    GO_TAKE,
    LINE_INSERT,
    LINE_VALUES,
    ORDER_INSERT,
    QUOTA_TAKE,
    TAKE,
)
from core.services.accounts import Actor
from main import App, bootstrap

BATCH = 128
PRICES = {"ALB": 2590, "POB": 300}


def room(code: str, buyers: int) -> Drop:
    """Room for every buyer: each call does the whole order transaction."""
    return Drop(code=code, capacity=buyers * 4, stock=buyers * 4, per_buyer=4)


def wishes_for(count: int) -> list[str]:
    return [WISHES[(i * 7) % len(WISHES)] for i in range(count)]


async def chat_drop(
    app: App, actors: Sequence[Actor], wishes: Sequence[str], code: str, concurrency: int
) -> Run:
    """The same orders typed as ``/order CODE …`` through the command table."""
    requests = [
        ChatRequest("console", a.name, a.name, f"/order {code} {w}")
        for a, w in zip(actors, wishes, strict=True)
    ]

    async def one(index: int) -> None:
        await handle(app.bot, requests[index])

    return await timed(len(actors), concurrency, one)


@dataclass(frozen=True)
class Target:
    """A seeded GO as a bare loop needs it: its id, catalogue version and item ids."""

    go_id: int
    version: int
    items: dict[str, int]


async def target(core: Core, code: str) -> Target:
    async with core.reader() as uow:
        go = (await uow.session.scalars(select(GroupOrder).where(GroupOrder.code == code))).one()
        items = (await uow.session.scalars(select(Item).where(Item.go_id == go.id))).all()
        return Target(go.id, go.catalogue_version, {item.code: item.id for item in items})


# --- SQLite -------------------------------------------------------------------------------


def sqlite_floor(
    path: str, floor: Target, actors: Sequence[Actor], wishes: Sequence[str], code: str = "FLOOR"
) -> tuple[float, float]:
    """The desk's statements by hand: 128 orders a transaction, a savepoint per order.

    Returns orders/s and the CPU seconds they took."""
    now = datetime.now(UTC)
    stamp, due = sqlite_value(now), sqlite_value(now + timedelta(hours=48))
    go_id = floor.go_id
    orders = [_lines(floor.items, parse_line_pairs(w.split())) for w in wishes]
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    take = TAKE.format(table="items")
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(actors), BATCH):
        connection.execute("BEGIN IMMEDIATE")
        for actor, lines in zip(actors[start : start + BATCH], orders[start : start + BATCH], strict=True):
            units = sum(q for _, q, _ in lines)
            connection.execute("SAVEPOINT o")
            (seq,) = connection.execute(GO_TAKE, (units, 1, go_id, stamp, units, floor.version)).fetchone()
            for item_id, quantity, _ in lines:
                assert connection.execute(take, (quantity, item_id, quantity)).rowcount == 1
            assert connection.execute(QUOTA_TAKE, (go_id, actor.user_id, units, 4)).fetchone()
            (order_id,) = connection.execute(
                ORDER_INSERT,
                (
                    f"{code}-{seq}",
                    go_id,
                    actor.user_id,
                    "placed",
                    units,
                    sum(q * p for _, q, p in lines),
                    "SGD",
                    "console",
                    stamp,
                    due,
                    stamp,
                ),
            ).fetchone()
            connection.execute(
                LINE_INSERT + ", ".join([LINE_VALUES] * len(lines)),
                [v for i, q, p in lines for v in (order_id, i, None, q, p)],
            )
            audit = (stamp, actor.user_id, "order", order_id, "placed", None, "placed", f"{units} units")
            connection.execute(AUDIT_INSERT, audit)
            connection.execute("RELEASE o")
        connection.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    connection.close()
    return len(actors) / elapsed, cpu


def _lines(items: dict[str, int], requests: list[LineRequest]) -> list[tuple[int, int, int]]:
    merged: dict[str, int] = {}
    for request in requests:
        merged[request.item_code] = merged.get(request.item_code, 0) + request.quantity
    return sorted((items[code], quantity, PRICES[code]) for code, quantity in merged.items())


EXISTING_SQLITE = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    "INSERT INTO orders (number, go_id, buyer_id, status, units, total_minor, currency, channel, "
    "placed_at, payment_due_at, updated_at) "
    "SELECT 'OLD-' || i, ?, ? + (i * 7919) % ?, 'placed', 1, 2590, 'SGD', 'console', ?, ?, ? FROM n"
)
EXISTING_LINES = (
    "INSERT INTO order_lines (order_id, item_id, variant_id, quantity, unit_price_minor) "
    "SELECT id, ?, NULL, 1, 2590 FROM orders WHERE go_id = ?"
)
EXISTING_AUDIT = (
    "INSERT INTO audit_log (at, actor_id, entity, entity_id, action, from_status, to_status, detail) "
    "SELECT placed_at, buyer_id, 'order', id, 'placed', NULL, 'placed', '1 units' FROM orders WHERE go_id = ?"
)


def fill_sqlite(path: str, go_id: int, item_id: int, first_buyer: int, buyers: int, count: int) -> float:
    """``count`` old orders, their lines and audit rows, by three INSERT … SELECTs."""
    stamp = sqlite_value(datetime.now(UTC) - timedelta(days=30))
    started = time.perf_counter()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("BEGIN IMMEDIATE")
    connection.execute(EXISTING_SQLITE, (count, go_id, first_buyer, buyers, stamp, stamp, stamp))
    connection.execute(EXISTING_LINES, (item_id, go_id))
    connection.execute(EXISTING_AUDIT, (go_id,))
    connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - started


@dataclass
class SqliteFigures:
    existing: int
    desk: Run
    floor: float
    oversell: int
    chat: Run | None = None
    floor_cpu_seconds: float = 0.0

    @property
    def floor_cpu_us_per_order(self) -> float:
        return self.floor_cpu_seconds / self.desk.answered * 1e6 if self.desk.answered else 0.0


@dataclass
class SqliteRound:
    """One round: a fresh empty database, and the one with ``existing`` orders, back to back."""

    empty: SqliteFigures
    full: SqliteFigures | None

    @property
    def floor_share(self) -> float:
        """The desk's rate over the bare floor's, on the empty table: how rounds are ranked."""
        return self.empty.desk.rate / self.empty.floor if self.empty.floor else 0.0

    @property
    def chat_share(self) -> float:
        chat = self.empty.chat
        return chat.rate / self.empty.desk.rate if chat and self.empty.desk.rate else 0.0

    @property
    def full_share(self) -> float:
        return self.full.desk.rate / self.empty.desk.rate if self.full and self.empty.desk.rate else 0.0


@dataclass
class SqliteSetup:
    app: App
    path: str
    actors: list[Actor]
    wishes: list[str]
    existing: int


@contextlib.asynccontextmanager
async def sqlite_database(buyers: int, existing: int) -> AsyncIterator[SqliteSetup]:
    """A database with ``buyers`` and ``existing`` old orders; each round seeds its own GOs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/scale.db"
        app = bootstrap(Settings(database_url=f"sqlite+aiosqlite:///{path}"), write=lambda _: None)
        await upgrade(app.core.db)
        try:
            if existing:
                await seed_drop(app.core, room("OLD-1", buyers))
            actors = await seed_buyers(app.core, buyers)
            if existing:
                old = await target(app.core, "OLD-1")
                await asyncio.to_thread(
                    fill_sqlite, path, old.go_id, old.items["ALB"], actors[0].user_id, buyers, existing
                )
            yield SqliteSetup(app, path, actors, wishes_for(buyers), existing)
        finally:
            await app.core.close()


async def sqlite_case(setup: SqliteSetup, round_no: int, concurrency: int, with_chat: bool) -> SqliteFigures:
    """The desk, the chat path and the bare floor, each on a GO of its own made for this round."""
    core, actors, wishes = setup.app.core, setup.actors, setup.wishes
    desk_code, chat_code, floor_code = (f"{kind}-{round_no}" for kind in ("DROP", "CHAT", "FLOOR"))
    for code in (desk_code, chat_code, floor_code):
        await seed_drop(core, room(code, len(actors)))
    desk = await desk_drop(core, actors, wishes, desk_code, concurrency)
    chat = await chat_drop(setup.app, actors, wishes, chat_code, concurrency) if with_chat else None
    oversell = await count_oversell(core, room(desk_code, len(actors)))
    floor, floor_cpu = await asyncio.to_thread(
        sqlite_floor, setup.path, await target(core, floor_code), actors, wishes, floor_code
    )
    return SqliteFigures(setup.existing, desk, floor, oversell, chat, floor_cpu)


async def sqlite_rounds(buyers: int, concurrency: int, existing: int, rounds: int) -> list[SqliteRound]:
    """``rounds`` rounds, each an empty database (made anew, so it stays empty) and then the
    one holding ``existing`` orders (made once): a share is taken within a round, between
    runs a few seconds apart, so a machine that speeds up or slows down between rounds
    moves both sides of it."""
    done: list[SqliteRound] = []
    async with contextlib.AsyncExitStack() as stack:
        full = await stack.enter_async_context(sqlite_database(buyers, existing)) if existing else None
        for round_no in range(rounds):
            async with sqlite_database(buyers, 0) as empty_setup:
                empty = await sqlite_case(empty_setup, round_no, concurrency, with_chat=True)
            full_case = await sqlite_case(full, round_no, concurrency, with_chat=False) if full else None
            done.append(SqliteRound(empty, full_case))
    return done


# --- PostgreSQL ---------------------------------------------------------------------------


def bare_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@dataclass
class Holds:
    """Samples of the hot rows: how often the GO row was locked for update by a batch,
    and how often some backend was waiting for a lock."""

    samples: int = 0
    held: int = 0
    waiting: int = 0

    @property
    def held_share(self) -> float:
        return self.held / self.samples if self.samples else 0.0

    @property
    def waiting_share(self) -> float:
        return self.waiting / self.samples if self.samples else 0.0


HOLD_SAMPLE = (
    "SELECT (SELECT count(*) FROM pgrowlocks('group_orders') r "
    "WHERE r.modes && ARRAY['No Key Update', 'Update']::text[]), "
    "(SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database())"
)


@contextlib.asynccontextmanager
async def probing(url: str | None, holds: Holds | None = None) -> AsyncIterator[Holds]:
    """Sample the hot rows about every millisecond while the block runs (None: don't)."""
    holds = holds or Holds()
    if url is None:
        yield holds
        return
    connection: Any = await asyncpg.connect(bare_url(url))
    await connection.execute("CREATE EXTENSION IF NOT EXISTS pgrowlocks")
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            held, waiting = await connection.fetchrow(HOLD_SAMPLE)
            holds.samples += 1
            holds.held += held > 0
            holds.waiting += waiting > 0
            await asyncio.sleep(0.001)

    task = asyncio.create_task(sample())
    try:
        yield holds
    finally:
        stop.set()
        await task
        await connection.close()


@dataclass
class Cpu:
    """What a run cost beyond the workers' own CPU: the seconds of CPU the database's
    backends used for it, and the share of the machine's CPU left idle meanwhile."""

    backends: float = 0.0
    idle: float = 0.0


BACKENDS = (
    "SELECT pid FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
)
TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float | None:
    """CPU seconds a process has used (user + system), None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_cpu() -> tuple[int, int]:
    """The machine's idle and total CPU ticks so far."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return ticks[3] + ticks[4], sum(ticks)


@contextlib.asynccontextmanager
async def metering(url: str, cpu: Cpu) -> AsyncIterator[Cpu]:
    """Fill ``cpu`` for the block: backends read every 20 ms, so one that has exited
    counts up to its last reading (an idle connection closing at the end)."""
    connection: Any = await asyncpg.connect(bare_url(url))
    before = {row[0]: process_cpu(row[0]) or 0.0 for row in await connection.fetch(BACKENDS)}
    last = dict(before)
    idle, total = machine_cpu()
    stop = asyncio.Event()

    async def sample() -> None:
        while True:
            for (pid,) in await connection.fetch(BACKENDS):
                used = process_cpu(pid)
                if used is not None:
                    last[pid] = used
            if stop.is_set():
                return
            await asyncio.sleep(0.02)

    task = asyncio.create_task(sample())
    try:
        yield cpu
    finally:
        stop.set()
        await task
        idle_now, total_now = machine_cpu()
        cpu.backends = sum(used - before.get(pid, 0.0) for pid, used in last.items())
        cpu.idle = (idle_now - idle) / (total_now - total) if total_now > total else 0.0
        await connection.close()


def i1902_function() -> str:
    """The order function as migration i1902 wrote it, read from that migration."""
    path = Path(__file__).parent.parent / "alembic" / "versions" / "i1902_order_function.py"
    spec = importlib.util.spec_from_file_location("i1902", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.PLACE_ORDERS)


async def postgres_floor(url: str, floor: Target, actors: Sequence[Actor], wishes: Sequence[str]) -> float:
    """The same batches of 128 sent by a bare asyncpg connection to the same server-side
    function, their entries built beforehand: what is left is the database's own work."""
    now = datetime.now(UTC)
    due = (now + timedelta(hours=48)).isoformat()
    entries = []
    for actor, wish in zip(actors, wishes, strict=True):
        lines = _lines(floor.items, parse_line_pairs(wish.split()))
        units = sum(q for _, q, _ in lines)
        entries.append(
            {
                "go": floor.go_id,
                "code": "FLOOR-1",
                "version": floor.version,
                "limit": 4,
                "units": units,
                "total": sum(q * p for _, q, p in lines),
                "currency": "SGD",
                "channel": "console",
                "due": due,
                "buyer": actor.user_id,
                "items": [[i, q] for i, q, _ in lines],
                "variants": [],
                "lines": [[i, None, q, p] for i, q, p in lines],
                "detail": f"{units} units",
            }
        )
    connection: Any = await asyncpg.connect(bare_url(url))
    started = time.perf_counter()
    for start in range(0, len(entries), BATCH):
        async with connection.transaction():
            answers = json.loads(
                await connection.fetchval(
                    "SELECT gomflow_place_orders($1::jsonb, $2)",
                    json.dumps(entries[start : start + BATCH]),
                    now,
                )
            )
            assert all(a["r"] == "ok" for a in answers), answers[:3]
    elapsed = time.perf_counter() - started
    await connection.close()
    return len(entries) / elapsed


async def workers_case(
    url: str,
    core: Core,
    actors: Sequence[Actor],
    wishes: Sequence[str],
    workers: int,
    concurrency: int,
    drop: Drop | None = None,
    holds: Holds | None = None,
    cpu: Cpu | None = None,
) -> tuple[Run, float]:
    """Returns the drop as all workers together served it, and their CPU seconds.

    ``drop`` (by default room for all, as ``WORK-<workers>``) is seeded first; ``holds``,
    if given, is filled by sampling the hot rows from the start to the last answer, and
    ``cpu`` with what the database's backends and the machine did meanwhile."""
    drop = drop or room(f"WORK-{workers}", len(actors))
    code = drop.code
    await seed_drop(core, drop)
    context = multiprocessing.get_context("spawn")
    ready, results, start = context.Queue(), context.Queue(), context.Event()
    processes = []
    for n in range(workers):
        share = slice(n, None, workers)
        people = [(a.user_id, a.name) for a in actors[share]]
        args = (url, code, people, list(wishes[share]), max(1, concurrency // workers), ready, start, results)
        process = context.Process(target=worker.run, args=args)
        process.start()
        processes.append(process)
    for _ in range(workers):
        await asyncio.to_thread(ready.get, True, 120)
    async with metering(url, cpu or Cpu()), probing(url if holds is not None else None, holds):
        start.set()
        outcomes = [await asyncio.to_thread(results.get, True, 900) for _ in range(workers)]
    for process in processes:
        await asyncio.to_thread(process.join, 60)
    began = min(o[0] for o in outcomes)
    ended = max(o[1] for o in outcomes)
    latencies = [ms for o in outcomes for ms in o[3]]
    return Run(len(actors), ended - began, latencies), sum(o[2] for o in outcomes)


@dataclass
class PostgresFigures:
    desk: Run
    floor: float
    oversell: int
    workers: list[tuple[int, Run, float]]
    function: str = "current"
    floor_holds: Holds | None = None
    worker_holds: list[Holds] = field(default_factory=list)
    worker_cpu: list[Cpu] = field(default_factory=list)


async def postgres_case(
    url: str,
    buyers: int,
    concurrency: int,
    workers: Sequence[int],
    *,
    holds: bool = False,
    before: bool = False,
) -> PostgresFigures:
    """``before``: with i1902's order function; ``holds``: sample the hot rows too."""
    await wipe_postgres(url)
    app = bootstrap(Settings(database_url=url), write=lambda _: None)
    core = app.core
    await upgrade(core.db)
    if before:
        async with core.db.engine.begin() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute(i1902_function())
    probe = url if holds else None
    try:
        for code in ("DROP-1", "FLOOR-1"):
            await seed_drop(core, room(code, buyers))
        actors = await seed_buyers(core, buyers)
        wishes = wishes_for(buyers)
        desk = await desk_drop(core, actors, wishes, "DROP-1", concurrency)
        oversell = await count_oversell(core, room("DROP-1", buyers))
        async with probing(probe) as floor_holds:
            floor = await postgres_floor(url, await target(core, "FLOOR-1"), actors, wishes)
        spread, worker_holds, worker_cpu = [], [], []
        for count in workers:
            run_holds, run_cpu = Holds(), Cpu()
            run, cpu = await workers_case(
                url, core, actors, wishes, count, concurrency, holds=run_holds if holds else None, cpu=run_cpu
            )
            oversell += await count_oversell(core, room(f"WORK-{count}", buyers))
            spread.append((count, run, cpu))
            worker_holds.append(run_holds)
            worker_cpu.append(run_cpu)
        function = "i1902 (before)" if before else "current"
        return PostgresFigures(
            desk, floor, oversell, spread, function, floor_holds if holds else None, worker_holds, worker_cpu
        )
    finally:
        await core.close()


# --- printing -----------------------------------------------------------------------------


def share(ours: float, floor: float) -> str:
    return f"{ours / floor:.0%}" if floor else "-"


def sqlite_rows(rounds: list[SqliteRound], concurrency: int) -> list[tuple[str, str]]:
    """The round whose place_order share of the floor is the median, then every round's
    shares and their medians (each share taken within its round)."""
    middle = median_round(rounds, lambda r: r.floor_share)
    rows = [
        ("SQLite", f"{concurrency} buyers at once, room for all; {len(rounds)} round(s), the median shown")
    ]
    for case in (middle.empty, middle.full):
        if case is None:
            continue
        label = f"{case.existing:,} orders already in the table"
        rows += [
            (f"[{label}] place_order orders/s", f"{case.desk.rate:,.0f}"),
            (
                f"[{label}] place_order p50 / p99",
                f"{percentile(sorted(case.desk.latencies_ms), 0.5):.0f} / {case.desk.p99:.0f} ms",
            ),
            (f"[{label}] bare sqlite3 floor orders/s", f"{case.floor:,.0f}"),
            (f"[{label}] place_order as a share of the floor", share(case.desk.rate, case.floor)),
            (
                f"[{label}] CPU per order: place_order / floor",
                f"{case.desk.cpu_us_per_answer:.0f} / {case.floor_cpu_us_per_order:.0f} µs",
            ),
            (f"[{label}] oversell", str(case.oversell)),
        ]
    rows += [
        (
            "place_order as a share of the floor, each round (empty table)",
            " · ".join(share(r.empty.desk.rate, r.empty.floor) for r in rounds),
        ),
        (
            "place_order p99, each round (empty table)",
            " · ".join(f"{r.empty.desk.p99:.0f}" for r in rounds) + " ms",
        ),
    ]
    if middle.full is not None:
        rows.append(
            (
                f"{middle.full.existing:,} orders against an empty table: median (each round)",
                median_and_each([r.full_share for r in rounds]),
            )
        )
    if middle.empty.chat is not None:
        chat = median_round(rounds, lambda r: r.chat_share).empty.chat
        assert chat is not None
        rows += [
            ("chat path (/order through the command table) orders/s", f"{chat.rate:,.0f}"),
            ("chat path p99", f"{chat.p99:.0f} ms"),
            (
                "chat path as a share of the desk alone: median (each round)",
                median_and_each([r.chat_share for r in rounds]),
            ),
        ]
    return rows


def median_round(rounds: list[SqliteRound], key: Callable[[SqliteRound], float]) -> SqliteRound:
    return sorted(rounds, key=key)[len(rounds) // 2]


def median_and_each(shares: list[float]) -> str:
    return f"{statistics.median(shares):.0%} (" + " · ".join(f"{s:.0%}" for s in shares) + ")"


def postgres_rows(figures: PostgresFigures, concurrency: int, buyers: int) -> list[tuple[str, str]]:
    rows = [
        ("PostgreSQL", f"{concurrency} buyers at once, room for all; order function: {figures.function}"),
        ("place_order orders/s", f"{figures.desk.rate:,.0f}"),
        (
            "place_order p50 / p99",
            f"{percentile(sorted(figures.desk.latencies_ms), 0.5):.0f} / {figures.desk.p99:.0f} ms",
        ),
        ("bare asyncpg floor (one server call per batch) orders/s", f"{figures.floor:,.0f}"),
        ("place_order as a share of the floor", share(figures.desk.rate, figures.floor)),
        ("oversell (every drop)", str(figures.oversell)),
    ]
    one = figures.workers[0][1].rate if figures.workers else 0.0
    for count, run, cpu in figures.workers:
        rows.append(
            (
                f"{count} worker process(es): orders/s, p99, worker CPU",
                f"{run.rate:,.0f}  ({share(run.rate, one).rstrip('%')}% of one), "
                f"p99 {run.p99:.0f} ms, {cpu:.1f} CPU-s in {run.seconds:.1f} s",
            )
        )
    for (count, run, cpu), used in zip(figures.workers, figures.worker_cpu, strict=True):
        rows.append(
            (
                f"{count} worker process(es): CPU per 1,000 orders, machine idle",
                f"workers {cpu / run.answered * 1000:.2f} s + database "
                f"{used.backends / run.answered * 1000:.2f} s, idle {used.idle:.0%}",
            )
        )
    if figures.floor_holds is not None:
        rows += hold_rows(figures, buyers)
    return rows


def hold_rows(figures: PostgresFigures, buyers: int) -> list[tuple[str, str]]:
    """The floor runs one batch at a time: the share of samples with the GO row locked,
    times the floor's seconds, over its batches, is how long a batch holds the row."""
    holds = figures.floor_holds
    assert holds is not None
    batches = math.ceil(buyers / BATCH)
    per_batch_ms = buyers / figures.floor / batches * 1000 if figures.floor else 0.0
    rows = [
        (
            "floor: GO row locked for update, share of samples",
            f"{holds.held_share:.0%} of {holds.samples} -> {holds.held_share * per_batch_ms:.1f} ms "
            f"of each batch's {per_batch_ms:.1f} ms",
        )
    ]
    for (count, _, _), run_holds in zip(figures.workers, figures.worker_holds, strict=True):
        rows.append(
            (
                f"{count} worker process(es): GO row locked / a backend waiting for a lock",
                f"{run_holds.held_share:.0%} / {run_holds.waiting_share:.0%} of {run_holds.samples} samples",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--buyers", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--existing", type=int, default=100_000, help="orders already in the table (0: skip)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="SQLite: rounds of the empty and the full table, taken in turn"
    )
    parser.add_argument("--workers", default="1,2,4", help="worker processes to compare on PostgreSQL")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--holds", action="store_true", help="sample how long the hot GO row is held")
    parser.add_argument("--before", action="store_true", help="PostgreSQL with i1902's function first")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    if args.backend in ("sqlite", "both"):
        rounds = asyncio.run(sqlite_rounds(args.buyers, args.concurrency, args.existing, max(1, args.rounds)))
        middle = median_round(rounds, lambda r: r.floor_share)
        figures.update(
            sqlite_empty=middle.empty,
            sqlite_full=middle.full,
            sqlite_rounds=rounds,
            chat_share=statistics.median(r.chat_share for r in rounds),
            full_share=statistics.median(r.full_share for r in rounds) if args.existing else None,
        )
        print(table(sqlite_rows(rounds, args.concurrency)), end="\n\n", flush=True)
    url = postgres_url()
    if args.backend in ("postgres", "both") and url is not None:
        counts = [int(n) for n in args.workers.split(",") if n.strip()]
        if args.before:
            old = asyncio.run(
                postgres_case(url, args.buyers, args.concurrency, counts, holds=args.holds, before=True)
            )
            figures["postgres_before"] = old
            print(table(postgres_rows(old, args.concurrency, args.buyers)), end="\n\n", flush=True)
        pg = asyncio.run(postgres_case(url, args.buyers, args.concurrency, counts, holds=args.holds))
        figures["postgres"] = pg
        print(table(postgres_rows(pg, args.concurrency, args.buyers)), end="\n\n", flush=True)
    elif args.backend == "postgres":
        raise SystemExit("set GOMFLOW_BENCH_POSTGRES_URL (its public schema is wiped) to run on PostgreSQL")
    return figures


if __name__ == "__main__":
    main()
