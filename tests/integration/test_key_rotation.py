"""``gomflow keys rotate`` while buyers order and save addresses: nothing unreadable, nothing lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.clock import FrozenClock
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import Address, Identity, Order
from core.privacy.keys import format_entry, key_id_of, new_key
from core.privacy.rotate import rotate, sealed_columns
from core.services.accounts import identify
from main import App, bootstrap
from tests.conftest import BACKENDS, fresh_database_url, open_go, say

OLD, NEW = new_key(), new_key()
OLD_ENTRY = format_entry("old", OLD[1])
NEW_ENTRY = format_entry("new", NEW[1])
INDEX = OLD_ENTRY.split(":", 1)[1]  # the index key stays the old key's, as docs/privacy.md says


def build(url: str, keys: str, clock: FrozenClock) -> App:
    return bootstrap(Settings(database_url=url, data_keys=keys, index_key=INDEX), clock=clock, write=print)


def address_of(i: int) -> str:
    return f'/address add name="Buyer {i}" phone=+659{i:07d} line1="{i} Orchard Rd" postal=238823 country=SG'


def phone(i: int) -> str:
    return f"+658{i:07d}"


async def test_rotation_while_buyers_order_leaves_every_value_readable_under_the_new_key(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    url = await fresh_database_url(backend, tmp_path)
    before = build(url, OLD_ENTRY, clock)
    await upgrade(before.core.db)
    await open_go(before, moq=1, cap=500)
    await asyncio.gather(*(say(before, f"early{i}", address_of(i)) for i in range(30)))
    for i in range(20):
        await identify(before.core.uow(), "sms", phone(i), f"…{i}")
    await before.core.close()

    during = build(url, f"{NEW_ENTRY},{OLD_ENTRY}", clock)  # the new key rolled out first
    ring = during.core.keyring
    assert ring is not None

    async def buyers() -> None:
        for i in range(30):
            await say(during, f"late{i}", address_of(100 + i))
            await say(during, f"early{i}", "/order SVT-FML ALB:A 1")
            await identify(during.core.uow(), "sms", phone(100 + i), f"…{i}")

    done, _ = await asyncio.gather(rotate(during.core.uow, ring, batch=3), buyers())
    again = await rotate(during.core.uow, ring, batch=3)  # what the first pass ran beside
    await during.core.close()
    assert done.resealed["addresses"] >= 30 * 5 and done.resealed["identities"] == 20
    assert again.still_old == 0

    after = build(url, NEW_ENTRY, clock)  # the old key is gone from the ring
    try:
        async with after.core.reader() as uow:
            addresses = (await uow.session.scalars(select(Address))).all()
            identities = (await uow.session.scalars(select(Identity).where(Identity.channel == "sms"))).all()
            orders = await uow.session.scalar(select(func.count()).select_from(Order))
        assert sorted(a.phone for a in addresses) == sorted(
            [f"+659{i:07d}" for i in range(30)] + [f"+659{100 + i:07d}" for i in range(30)]
        )
        assert sorted(i.address or "" for i in identities) == sorted(
            phone(i) for i in [*range(20), *range(100, 130)]
        )
        assert orders == 30
        for i in (0, 19, 100, 129):  # still found by their numbers
            found = await identify(after.core.uow(), "sms", phone(i), "x")
            assert found.identity_id in {identity.id for identity in identities}
        async with after.core.db.engine.connect() as connection:
            for sealed in sealed_columns():
                for name, _ in sealed.columns:
                    values = await connection.exec_driver_sql(f"SELECT {name} FROM {sealed.table}")
                    assert {key_id_of(v) for (v,) in values if v is not None} <= {"new"}, sealed.table
    finally:
        await after.core.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
