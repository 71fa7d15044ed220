"""The order desk: group commit for a drop.

When hundreds of fans order in the same second, each order on its own would pay for a
transaction and, on SQLite, a thread hop per statement. The desk queues ``place_order``
calls and runs them in batches: one transaction per batch, a refused order giving back
what it took (``core.reservations``: the transaction holds those rows, so no savepoint is
needed to undo them), and on SQLite no thread hop (see ``SqliteBatches``).
Every order still takes its limits with the same conditional updates
(``core.reservations``), and every caller gets its own answer or its own refusal.

On SQLite the desk takes the same in-process write lock as a writing unit of work, so
never wait on the desk from inside an open writing unit of work.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from core import inbound, metrics
from core.clock import Clock
from core.db.engine import SQLITE_BUSY_TIMEOUT_MS, Database
from core.db.raw import Plan, Statement, run_asyncpg, run_sqlite
from core.errors import AlreadyClaimed, AlreadyHandled, CatalogueChanged, GomflowError, PriceChanged
from core.gate import gate_plan
from core.inbound import claim_plan, settle_plan
from core.money import format_money
from core.order_view import view_of
from core.quantities import LineRequest, check_requests
from core.reservations import (
    BatchRows,
    CatalogueItem,
    GoFacts,
    ResolvedLine,
    load_catalogue_plan,
    load_go_facts,
    place_plan,
    resolve_lines,
)
from core.views import OrderView

MAX_BATCH = 128
ATTEMPTS = 2  # an order refused because the GOM edited its GO meanwhile is read afresh once
CHECKPOINT_EVERY = 1.0  # seconds between passive checkpoints while orders commit
DESK_CACHE_KIB = 65_536  # the desk connection's SQLite page cache
T = TypeVar("T")


class PlaceOrder(NamedTuple):
    """One order for the desk (a named tuple: made for every order of a drop, where a
    frozen dataclass of fourteen fields took 3 µs to make and 4 to copy)."""

    buyer_id: int
    buyer_name: str
    channel: str
    go_code: str
    requests: tuple[LineRequest, ...]
    # prices the buyer saw, by token (``ALB`` or ``ALB:A``): refuse rather than charge another
    expected_prices: tuple[tuple[str, int], ...] = ()
    # an inbound id (source, id) recorded with the order, so a repeated tap orders once
    claim: tuple[str, str] | None = None
    # the inbound update this order answers (source, id): marked handled with the order
    handles: tuple[str, str] | None = None
    # that update as received, when it was not stored before (``inbound.handling``'s
    # payload): stored, handled, with the order instead of marked
    stores: str | None = None
    # when set, the buyer is looked up in the order's own batch (giving an object with
    # ``user_id``, ``name`` and ``language``, or None before writing anything; a first contact may be
    # signed up there, ``accounts.caller_plan``): one trip to the desk instead of two
    who: Callable[[datetime], Plan[Any]] | None = None
    # the identity the buyer writes from: the order goes to whoever holds it when it is
    # written (an app linked to another person meanwhile takes its orders along)
    identity_id: int | None = None
    # a GOM or helper placing it for the buyer (user id, name): the audit row names them
    placed_by: tuple[int, str] | None = None
    # a new named buyer with no chat account (placed by a GOM or helper): written with the
    # order and deleted with a refusal, so a refused order leaves no buyer behind
    new_buyer: str | None = None
    # the buyer's language when known (a looked-up buyer); None takes the GO's, if it has one
    language: str | None = None


# The person behind an identity now, the row share-locked until the batch commits, so a
# link that moves the identity to another person waits for the order, or the order for it.
IDENTITY_OWNER = "SELECT i.user_id FROM identities i WHERE i.id = ?"


USER_INSERT = "INSERT INTO users (display_name, is_gom, created_at, muted) VALUES (?, ?, ?, ?) RETURNING id"
USER_DELETE = "DELETE FROM users WHERE id = ?"
KEEP_LANGUAGE = "UPDATE users SET language = ? WHERE id = ? AND language IS NULL"


class SenderUnknown(GomflowError):
    """The order's ``who`` found nobody it could use: identify the sender, then place it."""


@dataclass(frozen=True, slots=True)
class RunPlan:
    """A small piece of work riding in a batch: a lookup, or one conditional insert.

    Nothing undoes it if it fails halfway, so it must be one statement or read only.
    """

    plan: Callable[[datetime], Plan[Any]]


Command = PlaceOrder | RunPlan
Outcome = Any


# Runs a batch on an asyncpg connection (``core.pg_batches.run_batch``: one server-side
# call); handed in by the composition root, since it builds on this module's commands.
PostgresBatches = Callable[[Any, list[Command], datetime], Awaitable[list[Outcome]]]


class OrderDesk:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        write_lock: asyncio.Lock | None,
        postgres_batches: PostgresBatches | None = None,
    ) -> None:
        self._db = db
        self._postgres_batches = postgres_batches
        self._clock = clock
        self._write_lock = write_lock
        self._pending: list[tuple[Command, asyncio.Future[Outcome]]] = []
        self._arrived = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._sqlite: SqliteBatches | None = None
        self._closed = False

    async def place(self, command: PlaceOrder) -> OrderView:
        """Queue one order and wait for its own answer; raises its own refusal.

        Placed while an inbound update is being handled, the order marks it handled in
        the same transaction (a refusal too: the refusal is that update's answer).
        """
        handling = inbound.current() if command.handles is None else None
        if handling is not None:
            handles = (handling.source, handling.external_id)
            command = command._replace(handles=handles, stores=handling.payload)
        outcome = await self._submit(command)
        if isinstance(outcome, OrderView):  # placed: what a drop answers most
            if handling is not None:
                handling.marked = True
            metrics.order_outcome(outcome)
            return outcome
        if not isinstance(outcome, AlreadyHandled | SenderUnknown):  # tried, and refused
            if handling is not None:
                handling.marked = True
            metrics.order_outcome(outcome)
        elif handling is not None and isinstance(outcome, AlreadyHandled):
            handling.repeated = True
        assert isinstance(outcome, GomflowError)
        raise outcome

    async def run(self, plan: Callable[[datetime], Plan[T]]) -> T:
        """Run a one-statement or read-only plan in the next batch and return its result.

        What a bot does for every update (claim its id, look up the sender) rides in the
        same batches as the orders instead of paying for a transaction each.
        """
        outcome = await self._submit(RunPlan(plan))
        if isinstance(outcome, GomflowError):
            raise outcome
        return outcome  # type: ignore[no-any-return]

    async def _submit(self, command: Command) -> Outcome:
        if self._closed:
            raise RuntimeError("gomflow is shutting down; nothing was recorded")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((command, future))
        self._arrived.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="order-desk")
        return await future

    async def close(self) -> None:
        self._closed = True
        for _, future in self._pending:
            future.cancel()
        self._pending.clear()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    async def _work(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._settle(batch)

    async def _settle(self, batch: list[tuple[Command, asyncio.Future[Outcome]]]) -> None:
        started = time.perf_counter()
        try:
            outcomes = await self._run([command for command, _ in batch], self._clock.now())
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as failure:  # the batch rolled back: nobody's order in it was written
            if len(batch) > 1:  # find the one order that broke it; the others still go through
                for single in batch:
                    await self._settle([single])
                return
            batch[0][1].set_exception(failure)
            return
        metrics.desk_batch(len(batch), time.perf_counter() - started)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)

    async def _run(self, commands: list[Command], now: datetime) -> list[Outcome]:
        if not self._db.is_sqlite:
            async with self._db.engine.connect() as connection:
                raw = (await connection.get_raw_connection()).driver_connection
                assert raw is not None
                if self._postgres_batches is not None:
                    return await self._postgres_batches(raw, commands, now)
                async with raw.transaction():  # statement by statement: no server function needed
                    return await run_asyncpg(raw, batch_plan(commands, now))
        if self._sqlite is None:
            self._sqlite = SqliteBatches(self._db.engine.url.database or "")
        if self._write_lock is None:
            return await self._sqlite.run(commands, now)
        async with self._write_lock:
            return await self._sqlite.run(commands, now)


class SqliteBatches:
    """A plain sqlite3 connection the desk runs its batches on, in the event loop's thread.

    A batch is a few hundred microseconds of SQLite, most of it in C. Run on a thread of
    its own, it would hand the GIL back and forth with a busy event loop once per statement
    and wait out the interpreter's switch interval each time (measured: a batch of 7 orders
    took 9.6 ms on the thread while the loop served HTTP, against well under 1 ms here).
    Two things could still stall the loop, so they go to the database thread instead:

    * another process holding the write lock: the loop never waits on it; the batch goes
      to the thread, which waits with the usual busy timeout;
    * checkpoints, which write the WAL back into the database file and sync it: the
      connection never checkpoints as it commits; the thread does it now and then.
    """

    def __init__(self, path: str) -> None:
        if not path or path == ":memory:":
            raise ValueError("the order desk needs a SQLite file, not an in-memory database")
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gomflow-sqlite")
        self._connection: sqlite3.Connection | None = None
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint: asyncio.Future[tuple[int, int, int]] | None = None
        self._last_checkpoint = time.monotonic()

    async def run(self, commands: list[Command], now: datetime) -> list[Outcome]:
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as busy:  # another process writes: wait on the thread
            if "locked" not in str(busy) and "busy" not in str(busy):
                raise
            loop = asyncio.get_running_loop()
            outcomes = await loop.run_in_executor(self._executor, self._waiting_batch, commands, now)
        else:
            outcomes = self._batch(connection, commands, now)
        self._maybe_checkpoint()
        return outcomes

    def close(self) -> None:
        def close_checkpointer() -> None:
            if self._checkpointer is not None:
                self._checkpointer.close()

        self._executor.submit(close_checkpointer)
        self._executor.shutdown(wait=True)
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @staticmethod
    def _batch(connection: sqlite3.Connection, commands: list[Command], now: datetime) -> list[Outcome]:
        """The rest of a batch whose BEGIN IMMEDIATE succeeded."""
        try:
            outcomes = run_sqlite(connection, batch_plan(commands, now))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return outcomes

    def _waiting_batch(self, commands: list[Command], now: datetime) -> list[Outcome]:
        """On the database thread: a whole batch that may wait for the write lock."""
        connection = self._connect()
        connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        try:
            connection.execute("BEGIN IMMEDIATE")
            return self._batch(connection, commands, now)
        finally:
            connection.execute("PRAGMA busy_timeout=0")

    def _maybe_checkpoint(self) -> None:
        """Start a passive checkpoint on the database thread, at most one every
        ``CHECKPOINT_EVERY`` seconds and one at a time."""
        moment = time.monotonic()
        if moment - self._last_checkpoint < CHECKPOINT_EVERY:
            return
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        self._last_checkpoint = moment
        self._checkpoint = asyncio.get_running_loop().run_in_executor(self._executor, self._checkpoint_wal)

    def _checkpoint_wal(self) -> tuple[int, int, int]:
        """(busy, frames in the WAL, frames written back), as SQLite reports them."""
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self._path, isolation_level=None, check_same_thread=True)
        busy, frames, copied = self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(frames), int(copied)

    def _connect(self) -> sqlite3.Connection:
        """The desk's connection: used by one batch at a time, in the loop or on the thread."""
        if self._connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            for pragma in (
                "journal_mode=WAL",
                "synchronous=NORMAL",
                "foreign_keys=ON",
                "busy_timeout=0",  # the loop never waits for another process (see run)
                "wal_autocheckpoint=0",  # commits here never checkpoint (see _maybe_checkpoint)
                # the indexes an order writes to stay in memory once a table holds a million
                # orders (the default 2 MiB page cache made every batch read them back)
                f"cache_size=-{DESK_CACHE_KIB}",
            ):
                connection.execute(f"PRAGMA {pragma}")
            self._connection = connection
        return self._connection


def batch_plan(commands: list[Command], now: datetime) -> Plan[list[Outcome]]:
    """Place each order inside the caller's transaction; a refused one leaves nothing.

    A GO and its catalogue are read once per batch, however many orders name it. The
    orders' lines and audit rows are written together (``BatchRows``): before any other
    plan in the batch runs, so it sees every order before it whole, and at the end.
    """
    catalogues: dict[str, tuple[GoFacts, list[CatalogueItem]] | GomflowError] = {}
    resolved: dict[tuple[int, int, tuple[LineRequest, ...]], list[ResolvedLine]] = {}
    later = BatchRows()
    outcomes: list[Outcome] = []
    for command in commands:
        if isinstance(command, RunPlan):
            yield from later.write()
            try:
                outcomes.append((yield from command.plan(now)))
            except GomflowError as refusal:
                outcomes.append(refusal)
            continue
        key = command.go_code.strip().upper()
        buyer_id, buyer_name = command.buyer_id, command.buyer_name
        language = command.language
        try:
            if command.who is not None:  # before anything is written: unknown means nothing happened
                buyer = yield from command.who(now)
                if buyer is None:
                    raise SenderUnknown("identify the sender first")
                buyer_id, buyer_name, language = buyer.user_id, buyer.name, buyer.language
            elif command.identity_id is not None:
                owner = yield Statement(IDENTITY_OWNER, (command.identity_id,), "scalar", lock=" FOR SHARE")
                if owner is not None and owner != buyer_id:
                    buyer_id = int(owner)
            if command.handles is not None and not (
                yield from settle_plan(*command.handles, command.stores, now)
            ):
                raise AlreadyHandled("Already done: that message was handled once.")
            claim = command.claim
            for attempt in range(1, ATTEMPTS + 1):
                go, items = yield from catalogue_of(catalogues, key)
                lines = resolved_lines(resolved, go, items, command.requests)
                if command.expected_prices:
                    check_prices(go, lines, dict(command.expected_prices))
                if attempt == 1 and go.gated and command.placed_by is None:
                    yield from gate_plan(go.id, go.code, buyer_id, command.requests)
                if claim is not None:
                    if not (yield from claim_plan(*claim, now)):
                        raise AlreadyClaimed("Already on it — that order was sent once.")
                    claim = None  # claimed once, whatever the attempts that follow
                # a refused order gives back what it took (reserve_plan), and the new buyer
                # staff named for it, who exists only with their order, goes with it
                new_buyer_id = None
                if command.new_buyer is not None:
                    new_buyer = (command.new_buyer, False, now, False)
                    buyer_id = new_buyer_id = int((yield Statement(USER_INSERT, new_buyer, "scalar")))
                    buyer_name = command.new_buyer
                on_behalf = command.placed_by and (
                    command.placed_by[0],
                    f"placed by {command.placed_by[1]} for {buyer_name}",
                )
                try:
                    placed = yield from place_plan(
                        go, buyer_id, command.channel, lines, now, on_behalf=on_behalf or None, later=later
                    )
                except GomflowError as refusal:
                    if new_buyer_id is not None:
                        yield Statement(USER_DELETE, (new_buyer_id,))
                    if not isinstance(refusal, CatalogueChanged) or attempt == ATTEMPTS:
                        raise
                    del catalogues[key]  # the GOM edited the GO since this batch read it
                    continue
                if language is None and go.language is not None and command.new_buyer is None:
                    # a buyer with no language of their own reads this GO's from now on
                    yield Statement(KEEP_LANGUAGE, (go.language, buyer_id))
                    language = go.language
                outcomes.append(view_of(go, placed, lines, buyer_name, language))
                break
        except GomflowError as refusal:
            outcomes.append(refusal)
    yield from later.write()
    return outcomes


def resolved_lines(
    resolved: dict[tuple[int, int, tuple[LineRequest, ...]], list[ResolvedLine]],
    go: GoFacts,
    items: list[CatalogueItem],
    requests: tuple[LineRequest, ...],
) -> list[ResolvedLine]:
    """The lines ``requests`` resolve to, worked out once per batch for each catalogue
    version: in a drop most buyers ask for the same few things. The lines are shared by
    the orders that asked alike, and nothing changes them once resolved."""
    asked = list(requests)
    check_requests(asked)  # first: a quantity of True would find the entry of 1
    key = (go.id, go.catalogue_version, requests)
    lines = resolved.get(key)
    if lines is None:
        lines = resolved[key] = resolve_lines(go, items, asked)
    return lines


def catalogue_of(
    catalogues: dict[str, tuple[GoFacts, list[CatalogueItem]] | GomflowError], key: str
) -> Plan[tuple[GoFacts, list[CatalogueItem]]]:
    """A GO and its catalogue, read once per batch (again after an edit refused an order)."""
    if key not in catalogues:
        try:
            go = yield from load_go_facts(key)
            catalogues[key] = (go, (yield from load_catalogue_plan(go.id)))
        except GomflowError as refusal:
            catalogues[key] = refusal
    found = catalogues[key]
    if isinstance(found, GomflowError):
        raise found
    return found


def check_prices(go: GoFacts, lines: list[ResolvedLine], expected: dict[str, int]) -> None:
    for line in lines:
        seen = expected.get(line.token)
        if seen is not None and seen != line.unit_price_minor:
            raise PriceChanged(
                (
                    "The price of %(label)s changed from %(seen)s to %(unit_price)s. Please check "
                    "and confirm again."
                ),
                label=line.label,
                seen=format_money(seen, go.currency),
                unit_price=format_money(line.unit_price_minor, go.currency),
            )
