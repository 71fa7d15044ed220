"""Hot-path SQL written once and run by whichever driver holds the connection.

The order path is the one place where per-statement overhead decides how many fans a
drop can serve. Its algorithm is a generator that yields ``Statement`` values and
receives their results, so the same code runs on a plain ``sqlite3`` connection in the
event loop (a whole batch at once), on an asyncpg connection, or inside an
SQLAlchemy ``AsyncSession`` transaction (for the rare paths: changes, promotions).

SQL here uses ``?`` placeholders and must not contain a literal ``?``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, Literal, NamedTuple, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

# "many": ``params`` is a list of parameter rows, run as one executemany (nothing returned)
Returns = Literal["scalar", "row", "rows", "count", "none", "many"]
T = TypeVar("T")


class Statement(NamedTuple):
    """One statement of a plan: a named tuple, since an order makes several and a tuple is
    made in half the time of a frozen dataclass (which sets each field by a call)."""

    sql: str
    params: Sequence[Any] = ()
    returns: Returns = "none"
    # a row-lock clause appended on PostgreSQL (" FOR SHARE"); SQLite's one writer needs none
    lock: str = ""


Plan = Generator[Statement, Any, T]
"""A piece of database work: yields statements, receives each one's result, returns T."""


def sqlite_value(value: Any) -> Any:
    """Datetimes as SQLAlchemy stores them on SQLite (naive UTC text), so both paths agree."""
    return _sqlite_text(value) if isinstance(value, datetime) else value


@lru_cache(maxsize=64)
def _sqlite_text(value: datetime) -> str:
    """A batch writes the same few instants many times over; format each once."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# The desk's batches hand datetimes to sqlite3 as they are: converting them in C as they
# are bound costs nothing per parameter, where a Python pass over every parameter of every
# statement was a tenth of a batch. (This replaces Python's own datetime adapter, which
# writes an offset SQLAlchemy's stored values do not have, and is deprecated since 3.12.)
sqlite3.register_adapter(datetime, _sqlite_text)


def sqlite_datetime(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


@cache
def dollar_sql(sql: str) -> str:
    """``?`` placeholders as ``$1, $2 …`` for asyncpg."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def run_sqlite(connection: sqlite3.Connection, plan: Plan[T]) -> T:
    """Drive a plan on a synchronous sqlite3 connection.

    This loop runs once per statement of every order in a drop, so it stays flat: one
    cursor for the whole plan (``Connection.execute`` makes one per statement), and each
    result read where it is asked for."""
    cursor = connection.cursor()
    execute, send = cursor.execute, plan.send
    result: Any = None
    while True:
        try:
            statement = send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        sql, params, returns, _ = statement
        if returns == "many":
            cursor.executemany(sql, params)
            result = None
            continue
        execute(sql, params)  # datetimes: the adapter above
        if returns == "none":
            result = None
        elif returns == "scalar":
            row = cursor.fetchone()
            result = None if row is None else row[0]
        elif returns == "count":
            result = cursor.rowcount
        elif returns == "row":
            result = cursor.fetchone()
        else:
            result = cursor.fetchall()


async def run_asyncpg(connection: Any, plan: Plan[T]) -> T:
    """Drive a plan on an asyncpg connection (its prepared-statement cache does the rest)."""
    result: Any = None
    while True:
        try:
            statement = plan.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        sql = dollar_sql(statement.sql + statement.lock)
        if statement.returns == "many":
            await connection.executemany(sql, statement.params)
            result = None
        elif statement.returns == "scalar":
            result = await connection.fetchval(sql, *statement.params)
        elif statement.returns == "row":
            result = await connection.fetchrow(sql, *statement.params)
        elif statement.returns == "rows":
            result = await connection.fetch(sql, *statement.params)
        else:
            status = await connection.execute(sql, *statement.params)
            result = int(status.rsplit(" ", 1)[-1]) if statement.returns == "count" else None


async def run_session(session: AsyncSession, plan: Plan[T]) -> T:
    """Drive a plan inside an SQLAlchemy unit of work's transaction."""
    await session.flush()  # raw statements do not autoflush pending ORM rows
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    if connection.dialect.name == "postgresql":
        return await run_asyncpg(raw.driver_connection, plan)
    result: Any = None
    while True:
        try:
            statement = plan.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if statement.returns == "many":
            rows = [tuple(sqlite_value(v) for v in row) for row in statement.params]
            await connection.exec_driver_sql(statement.sql, rows)
            result = None
            continue
        cursor = await connection.exec_driver_sql(
            statement.sql, tuple(sqlite_value(v) for v in statement.params)
        )
        if statement.returns == "scalar":
            result = cursor.scalar()
        elif statement.returns == "row":
            result = cursor.first()
        elif statement.returns == "rows":
            result = cursor.all()
        elif statement.returns == "count":
            result = cursor.rowcount
        else:
            result = None
