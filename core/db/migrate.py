"""Bring a database to the newest schema; the schema only ever changes through Alembic."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from alembic import command
from core.db.engine import Database

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


@functools.cache
def head_revisions() -> frozenset[str]:
    """The newest revisions this code knows (read once from the migration scripts)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def migrations_current(database: Database) -> bool:
    """Whether the database is at the schema this code expects (``/readyz``): a worker of
    a newer release must not take traffic before ``gomflow db upgrade`` ran."""
    async with database.engine.connect() as connection:
        rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
        return frozenset(str(r[0]) for r in rows) == head_revisions()
