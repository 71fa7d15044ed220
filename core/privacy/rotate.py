"""``gomflow keys rotate``: every sealed value moved to the current data key, while gomflow runs.

The sealed columns are found in the models (every column whose type seals), so a new one
is rotated without a list to keep. Each batch is one short transaction: read a few rows
past the last one done, seal again those under an older key, and write each back only if
it is still what was read (a compare-and-set), so a buyer who changes their address at
that moment keeps their change; its new value is sealed under the ring of whoever wrote
it, and a second pass finds what is still old. Values under the old key stay readable all
along, as the old key stays in the ring until the operator removes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Table, and_, column, select, table, update

from core.db.models import Base
from core.db.types import Sealed
from core.privacy.keys import Keyring, key_id_of
from core.uow import UnitOfWork

DEFAULT_BATCH = 200


@dataclass(frozen=True)
class SealedColumns:
    table: str
    key: str
    columns: tuple[tuple[str, str], ...]  # (column name, purpose)


@dataclass
class Rotation:
    resealed: dict[str, int]  # by table
    still_old: int  # values under another key after the last pass (written meanwhile)


def sealed_columns() -> list[SealedColumns]:
    """Every table with a sealed column, its primary key and those columns."""
    found = []
    for mapped in Base.metadata.sorted_tables:
        sealed = tuple((c.name, c.type.purpose) for c in mapped.columns if isinstance(c.type, Sealed))
        if sealed:
            found.append(SealedColumns(mapped.name, _single_key(mapped), sealed))
    return found


def _single_key(mapped: Table) -> str:
    keys = [c.name for c in mapped.primary_key.columns]
    assert len(keys) == 1, f"{mapped.name}: rotation pages by a single-column key"
    return keys[0]


async def rotate(
    uow: Callable[[], UnitOfWork], ring: Keyring, *, batch: int = DEFAULT_BATCH, passes: int = 3
) -> Rotation:
    """Seal every value again under ``ring.current``; returns how many moved, per table."""
    resealed: dict[str, int] = {}
    still_old = 0
    for _ in range(passes):
        still_old = 0
        for sealed in sealed_columns():
            moved, left = await _rotate_table(uow, ring, sealed, batch)
            resealed[sealed.table] = resealed.get(sealed.table, 0) + moved
            still_old += left
        if still_old == 0:
            break
    return Rotation(resealed, still_old)


async def _rotate_table(
    uow: Callable[[], UnitOfWork], ring: Keyring, sealed: SealedColumns, batch: int
) -> tuple[int, int]:
    """(values moved, values another writer changed under our feet: for the next pass)."""
    raw = table(sealed.table, column(sealed.key), *(column(name) for name, _ in sealed.columns))
    key = raw.c[sealed.key]
    moved = missed = 0
    last: object = None
    while True:
        async with uow() as work:
            query = select(raw).order_by(key).limit(batch)
            rows = (await work.session.execute(query if last is None else query.where(key > last))).all()
            for row in rows:
                for index, (name, purpose) in enumerate(sealed.columns, start=1):
                    value = row[index]
                    if value is None or key_id_of(value) == ring.current:
                        continue
                    changed = await work.session.execute(
                        update(raw)
                        .where(and_(key == row[0], raw.c[name] == value))
                        .values({name: _reseal(ring, value, purpose)})
                    )
                    if changed.rowcount == 1:  # type: ignore[attr-defined]
                        moved += 1
                    else:
                        missed += 1
            await work.commit()
        if len(rows) < batch:
            return moved, missed
        last = rows[-1][0]


def _reseal(ring: Keyring, value: str | bytes, purpose: str) -> str | bytes:
    if isinstance(value, str):
        return ring.seal_text(ring.open_text(value, purpose), purpose)
    return ring.seal(ring.open(bytes(value), purpose), purpose)
