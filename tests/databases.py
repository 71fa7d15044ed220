"""Fresh databases for tests, without running every migration for every test.

Running the Alembic chain costs about half a second on SQLite and two or more on
PostgreSQL; a suite of a couple of thousand database tests spent most of its time there.
So the chain runs once per test process: SQLite tests get a copy of a migrated template
file, and PostgreSQL tests get the shared test database emptied with one TRUNCATE when it
is already at the newest revision (ids restart at 1, as in a new database). A test that
left the schema anywhere else (a downgrade test) is followed by a full wipe and upgrade.

Under pytest-xdist each worker process gets a PostgreSQL database of its own, named after
the configured one with the worker's id appended, created on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from pathlib import Path

import asyncpg
from alembic.script import ScriptDirectory

from bench.common import wipe_postgres
from core.db.engine import connect
from core.db.migrate import alembic_config, upgrade

_sqlite_template: Path | None = None
_head: str | None = None


def worker_postgres_url(url: str | None) -> str | None:
    """The configured test database, or under xdist this worker's own copy of its name."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base, _, name = url.rpartition("/")
    name, query_mark, query = name.partition("?")
    own = f"{name}_{worker}"
    if name.endswith(f"_{worker}"):  # already this worker's (set for subprocesses, or imported twice)
        return url
    asyncio.run(_create_database(f"{base}/{name}{query_mark}{query}", own))
    return f"{base}/{own}{query_mark}{query}"


async def _create_database(url: str, name: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def head_revision() -> str:
    global _head
    if _head is None:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert head is not None
        _head = head
    return _head


async def fresh_sqlite(target: Path) -> str:
    """A migrated SQLite file at ``target``, copied from this process's template."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="gomflow-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "template.db"
        database = connect(f"sqlite+aiosqlite:///{template}")
        await upgrade(database)
        await database.dispose()
        _sqlite_template = template
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


async def fresh_postgres(url: str) -> str:
    """The test database at the newest schema with every table empty."""
    asyncpg_url = url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(asyncpg_url)
    try:
        tables = [
            row["tablename"]
            for row in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        version = None
        if "alembic_version" in tables:
            version = await connection.fetchval("SELECT version_num FROM alembic_version")
        if version == head_revision():
            others = ", ".join(f'public."{table}"' for table in tables if table != "alembic_version")
            if others:
                await connection.execute(f"TRUNCATE {others} RESTART IDENTITY CASCADE")
            return url
    finally:
        await connection.close()
    await wipe_postgres(url)
    database = connect(url)
    await upgrade(database)
    await database.dispose()
    return url
