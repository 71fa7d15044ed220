"""Alembic environment: run on a connection handed over by core.db.migrate, or on its own."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Connection

from alembic import context
from core.config import Settings
from core.db.engine import connect
from core.db.models import Base

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    database = connect(Settings.from_env().database_url)
    async with database.engine.begin() as connection:
        await connection.run_sync(run_on)
    await database.dispose()


handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run_on(handed_over)
else:
    asyncio.run(run_standalone())
