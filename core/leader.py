"""Which worker leads: one PostgreSQL session-level advisory lock, held on its own connection.

Several identical ``gomflow run`` processes may share one PostgreSQL database. Work that
must happen once at a time — the scheduler's ticks, Telegram long polling, the Discord
gateway, IMAP polling and the outbox's pacing — runs only in the worker that holds the
lock (``pg_try_advisory_lock``). The others try again every few seconds. The lock lives
as long as the session holding it: when the leader dies, the server drops its connection
and the lock with it, and the next try of another worker takes over.

The leader checks its lock connection every few seconds with a query that must answer
within a timeout; a connection that fails or hangs (a dead TCP peer) means the lock may
already be someone else's, so the leader steps down at once and stops its leader-only
work. The server is asked, through session settings, to probe the connection with TCP
keepalives, so that it also notices a silent peer and frees the lock.

The lock needs a real session, so behind PgBouncer in transaction mode it must use a
direct URL to PostgreSQL (``GOMFLOW_DATABASE_DIRECT_URL``). On SQLite there is only ever
one process, and it always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from core.db.engine import normalise_url, strip_pgbouncer

log = logging.getLogger(__name__)

# Advisory locks are scoped to one database, so two gomflow databases on one server never
# collide; the keys are arbitrary constants ("gomflow" leader, and migrations).
LEADER_KEY = 0x676F6D666C6F7701
MIGRATION_KEY = 0x676F6D666C6F7702
OUTBOX_CHANNEL = "gomflow_outbox"  # NOTIFY channel: a follower queued outbox messages

# The server probes an idle lock connection after 5 s, every 2 s, and drops it after 3
# unanswered probes: a leader whose machine vanished frees the lock in about 11 s.
KEEPALIVES = {"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3"}

HELD = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
    "AND granted AND ((classid::bigint << 32) | objid::bigint) = :key"
)


def is_postgres(url: str) -> bool:
    return normalise_url(url).startswith("postgresql")


def session_engine(url: str) -> AsyncEngine:
    """An engine for a dedicated session: no pool (a closed connection is really closed),
    no prepared-statement cache, keepalives asked of the server."""
    direct, _ = strip_pgbouncer(normalise_url(url))
    args: dict[str, Any] = {"server_settings": dict(KEEPALIVES), "statement_cache_size": 0}
    return create_async_engine(direct, poolclass=NullPool, connect_args=args)


class LeaderLock:
    """One worker's hold (or attempt at a hold) on the leader lock, on its own connection."""

    def __init__(self, url: str, *, key: int = LEADER_KEY, timeout: float = 3.0) -> None:
        self._engine = session_engine(url)
        self._key = key
        self._timeout = timeout
        self._connection: AsyncConnection | None = None
        self.held = False

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False (never an exception) when it cannot."""
        try:
            connection = await self._connect()
            got = await asyncio.wait_for(
                connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}),
                self._timeout,
            )
        except Exception as exc:  # unreachable database: just not the leader, try again later
            log.debug("leader lock: cannot try (%s)", exc)
            await self._drop()
            return False
        self.held = bool(got)
        return self.held

    async def check(self) -> bool:
        """Whether this worker still holds the lock: its connection answers in time and the
        server lists the lock as ours. On any doubt the hold is given up (False)."""
        if not self.held or self._connection is None:
            return False
        try:
            count = await asyncio.wait_for(self._connection.scalar(HELD, {"key": self._key}), self._timeout)
        except Exception as exc:
            log.warning("leader lock connection failed (%s)", type(exc).__name__)
            count = 0
        if not count:
            self.held = False
            await self._drop()
        return self.held

    async def connection(self) -> AsyncConnection | None:
        """The lock's own session, while it is held (to LISTEN on; never for other work)."""
        return self._connection if self.held else None

    async def release(self) -> None:
        """Give the lock up (closing the session frees it even if the unlock fails)."""
        if self.held and self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}),
                    self._timeout,
                )
        self.held = False
        await self._drop()

    async def close(self) -> None:
        await self.release()
        await self._engine.dispose()

    async def _connect(self) -> AsyncConnection:
        if self._connection is None:
            connection = await asyncio.wait_for(self._engine.connect(), self._timeout)
            self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return self._connection

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.invalidate()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), self._timeout)


class Leadership:
    """This worker's role, kept up to date: ``lead()`` yields each time it becomes the leader
    and returns from that turn once it is no longer sure it leads.

    ``retry_seconds`` is how often a follower tries the lock; ``check_seconds`` how often
    the leader makes sure it still holds it.
    """

    def __init__(
        self,
        url: str,
        *,
        retry_seconds: float = 2.0,
        check_seconds: float = 2.0,
        key: int = LEADER_KEY,
        on_notify: Callable[[], None] | None = None,
    ) -> None:
        self._single = not is_postgres(url)
        self._lock = None if self._single else LeaderLock(url, key=key, timeout=max(1.0, check_seconds))
        self._retry = retry_seconds
        self._check = check_seconds
        self._on_notify = on_notify
        self.role = "leader" if self._single else "follower"

    @property
    def shared(self) -> bool:
        """Whether other workers may share the database (PostgreSQL), so roles can change."""
        return not self._single

    @property
    def leading(self) -> bool:
        return self.role == "leader"

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this worker leads (True), or until ``stop`` is set (False)."""
        if self._lock is None:
            return True
        while not stop.is_set():
            if await self._lock.try_acquire():
                self.role = "leader"
                await self._listen()
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._retry)
        return False

    async def lost(self, stop: asyncio.Event) -> bool:
        """Return once the lock is lost (True) or ``stop`` is set (False)."""
        if self._lock is None:
            await stop.wait()
            return False
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._check)
            if stop.is_set():
                break
            if not await self._lock.check():
                self.role = "follower"
                return True
        return False

    async def step_down(self) -> None:
        """Give the lead up now (stopping): another worker may take it at its next try."""
        if self._lock is not None:
            self.role = "follower"
            await self._lock.release()

    async def close(self) -> None:
        await self.step_down()
        if self._lock is not None:
            await self._lock.close()

    async def _listen(self) -> None:
        """As leader, hear followers' NOTIFY that they queued outbox messages."""
        if self._lock is None or self._on_notify is None:
            return
        connection = await self._lock.connection()
        if connection is None:
            return
        on_notify = self._on_notify
        try:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.add_listener(OUTBOX_CHANNEL, lambda *_: on_notify())
        except Exception as exc:  # the outbox still polls; only the wake-up is lost
            log.warning("cannot listen for outbox notices (%s); polling instead", exc)


class OutboxNotifier:
    """Called when this worker queued outbox messages: a follower wakes the leader's
    dispatcher with one NOTIFY (at most one per ``gap`` seconds, however many it queues).
    The leader wakes its own dispatcher directly, so it sends nothing."""

    def __init__(self, engine: AsyncEngine, leadership: Leadership, gap: float = 0.05) -> None:
        self._engine = engine
        self._leadership = leadership
        self._gap = gap
        self._pending: asyncio.Task[None] | None = None

    def __call__(self) -> None:
        if self._leadership.leading or (self._pending is not None and not self._pending.done()):
            return
        with contextlib.suppress(RuntimeError):  # no running loop: nobody to wake from here
            self._pending = asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        await asyncio.sleep(self._gap)
        try:
            async with self._engine.connect() as connection:
                await connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})
                await connection.commit()
        except Exception as exc:  # the leader still polls the outbox; it only hears later
            log.debug("outbox notice not sent (%s)", exc)

    async def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            await asyncio.gather(self._pending, return_exceptions=True)


@contextlib.asynccontextmanager
async def migration_lock(url: str, timeout: float = 300.0) -> AsyncIterator[None]:
    """Hold the migration lock (waiting for it): workers starting together migrate one
    after the other, and all but the first find nothing to do. A no-op on SQLite."""
    if not is_postgres(url):
        yield
        return
    engine = session_engine(url)
    try:
        async with engine.connect() as connection:
            auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await asyncio.wait_for(
                auto.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_KEY}), timeout
            )
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    await auto.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_KEY})
    finally:
        await engine.dispose()
