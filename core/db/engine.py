"""Engines for SQLite (the embedded default) and PostgreSQL, with the same behaviour.

On SQLite every write transaction begins IMMEDIATE: a deferred transaction that reads
and then writes fails at once with SQLITE_BUSY when another writer got there first,
whatever the busy timeout (DESIGN rule 4). Read-only units of work use a deferred BEGIN
so they never wait for a writer in WAL mode.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.errors import DatabaseBusy

READ_ONLY = "gomflow_read_only"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://…``) and pick the async driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def strip_pgbouncer(url: str) -> tuple[str, bool]:
    """The URL without gomflow's own ``pgbouncer=true`` query flag, and whether it was set
    (the driver would refuse a parameter it does not know)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [v for k, v in query if k == "pgbouncer"]
    if not flags:
        return url, False
    kept = urlencode([(k, v) for k, v in query if k != "pgbouncer"])
    on = flags[-1].strip().lower() in {"1", "true", "yes", "on"}
    return urlunsplit(parts._replace(query=kept)), on


def pgbouncer_args() -> dict[str, Any]:
    """asyncpg behind PgBouncer in transaction mode: each transaction may land on another
    server connection, so no statement is kept prepared under a name another one reuses."""
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4().hex}__",
    }


# PostgreSQL's too_many_connections and cannot_connect_now: the server is full or starting.
BUSY_SQLSTATES = frozenset({"53300", "57P03"})


def database_busy(exc: BaseException) -> DatabaseBusy | None:
    """``DatabaseBusy`` when ``exc`` means "no connection free right now", else None.

    Drivers say it in their own words, wrapped by SQLAlchemy: the pool's TimeoutError, a
    PostgreSQL error whose SQLSTATE is too_many_connections (asyncpg), SQLite's "database
    is locked". Adapters ask this at their outermost boundary, where an unexpected error
    would otherwise become "something went wrong".
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DatabaseBusy):
            return current
        if isinstance(current, PoolTimeout):
            return DatabaseBusy()
        if getattr(current, "sqlstate", None) in BUSY_SQLSTATES:
            return DatabaseBusy()
        if isinstance(current, sqlite3.OperationalError) and "database is locked" in str(current):
            return DatabaseBusy()
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return None


@dataclass
class Database:
    engine: AsyncEngine
    writer: async_sessionmaker[AsyncSession]
    reader: async_sessionmaker[AsyncSession]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def dispose(self) -> None:
        await self.engine.dispose()


def connect(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pool_timeout: float = 30.0,
    pgbouncer: bool = False,
) -> Database:
    """Build the engine; nothing connects until the first unit of work.

    ``max_overflow`` defaults to twice the pool on PostgreSQL and the pool size on SQLite.
    Every process holds up to ``pool_size + max_overflow`` connections, so a PostgreSQL
    server's ``max_connections`` must cover that times the number of processes; a unit of
    work that waits ``pool_timeout`` seconds for one fails, and ``database_busy`` says so.
    ``pgbouncer`` (or ``?pgbouncer=true`` in the URL) turns server-side prepared statements off.
    """
    url, flagged = strip_pgbouncer(normalise_url(url))
    pgbouncer = pgbouncer or flagged
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if ":memory:" not in url and url.rstrip("/") != "sqlite+aiosqlite:":
            overflow = pool_size if max_overflow is None else max_overflow
            kwargs.update(pool_size=pool_size, max_overflow=overflow, pool_timeout=pool_timeout)
    else:
        overflow = pool_size * 2 if max_overflow is None else max_overflow
        kwargs.update(pool_size=pool_size, max_overflow=overflow, pool_timeout=pool_timeout)
        kwargs["pool_pre_ping"] = True
        if pgbouncer:
            kwargs["connect_args"] = pgbouncer_args()
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    reader_engine = engine.execution_options(**{READ_ONLY: True})
    return Database(
        engine=engine,
        writer=async_sessionmaker(engine, expire_on_commit=False),
        reader=async_sessionmaker(reader_engine, expire_on_commit=False),
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below, not the driver, decide how BEGIN reads.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
