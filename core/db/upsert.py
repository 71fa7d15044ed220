"""``INSERT … ON CONFLICT DO NOTHING`` for whichever dialect the session speaks."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert


def insert_ignoring_conflict(
    session: AsyncSession, model: type[Any], values: dict[str, Any], keys: list[str]
) -> Insert:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        return postgresql.insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
