"""Pickup slots under a crowd: never more buyers than places, on SQLite and PostgreSQL.

The last places of a slot go to exactly as many buyers as it holds; everyone else is told
it is full, and ``reserved`` always equals the parcels that point at the slot.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from bench import pickup
from core.check import check_database
from core.db.models import Parcel, PickupSlot
from main import App
from tests.conftest import assert_checks_pass, open_go, say

BUYERS = 100
PLACES = 10


async def _crowd(app: App) -> None:
    await open_go(app, moq=1, cap=BUYERS * 2)
    for step in (
        '/shipopt SVT-FML MEET pickup "Meet-up"',
        f'/slot SVT-FML MEET "2026-12-12 14:00" {PLACES} "Bugis MRT exit C"',
        '/slot SVT-FML MEET "2026-12-13 14:00" 1 "Jurong East"',
    ):
        reply = await say(app, "gina", step)
        assert not reply.text.startswith("⚠️"), reply.text
    replies = await asyncio.gather(*(say(app, f"fan{i}", "/order SVT-FML ALB:A 1") for i in range(BUYERS)))
    assert all(r.text.startswith("✅ Order placed!") for r in replies)


async def _slot_counts(app: App) -> dict[int, tuple[int, int]]:
    """Slot position → (reserved counter, parcels actually holding it)."""
    async with app.core.reader() as uow:
        slots = (await uow.session.scalars(select(PickupSlot).order_by(PickupSlot.position))).all()
        holders = dict(
            (await uow.session.execute(select(Parcel.slot_id, func.count()).group_by(Parcel.slot_id))).all()
        )
    return {s.position: (s.reserved, holders.get(s.id, 0)) for s in slots}


async def test_a_hundred_buyers_never_overfill_a_pickup_slot(any_app: App) -> None:
    await _crowd(any_app)
    replies = await asyncio.gather(
        *(say(any_app, f"fan{i}", "/deliver SVT-FML MEET 1") for i in range(BUYERS))
    )
    won = [r for r in replies if r.text.startswith("✅")]
    full = [r for r in replies if "is full" in r.text]
    assert len(won) == PLACES, [r.text for r in replies if r not in won][:3]
    assert len(full) == BUYERS - PLACES, [r.text for r in replies if r not in won + full][:3]
    assert await _slot_counts(any_app) == {1: (PLACES, PLACES), 2: (0, 0)}
    await assert_checks_pass(any_app)


async def test_one_buyer_tapping_two_slots_at_once_holds_one_place(any_app: App) -> None:
    await _crowd(any_app)
    for _ in range(5):
        replies = await asyncio.gather(
            say(any_app, "fan0", "/deliver SVT-FML MEET 1"), say(any_app, "fan0", "/deliver SVT-FML MEET 2")
        )
        assert all(r.text.startswith("✅") for r in replies), [r.text for r in replies]
        counts = await _slot_counts(any_app)
        assert sum(reserved for reserved, _ in counts.values()) == 1, counts
        assert all(reserved == holders for reserved, holders in counts.values()), counts


async def test_buyers_leaving_and_taking_places_at_once_keep_the_count(any_app: App) -> None:
    await _crowd(any_app)
    first = await asyncio.gather(*(say(any_app, f"fan{i}", "/deliver SVT-FML MEET 1") for i in range(PLACES)))
    assert all(r.text.startswith("✅") for r in first)
    # the holders move to the other slot (one place) while everyone else tries for theirs
    moves = [say(any_app, f"fan{i}", "/deliver SVT-FML MEET 2") for i in range(PLACES)]
    takers = [say(any_app, f"fan{i}", "/deliver SVT-FML MEET 1") for i in range(PLACES, BUYERS)]
    await asyncio.gather(*moves, *takers)
    counts = await _slot_counts(any_app)
    assert counts[2] == (1, 1), counts
    assert counts[1][0] == counts[1][1] == PLACES, counts


async def test_gomflow_check_catches_a_slot_counter_that_drifted(app: App) -> None:
    await _crowd(app)
    assert (await say(app, "fan1", "/deliver SVT-FML MEET 1")).text.startswith("✅")
    async with app.core.uow() as uow:
        await uow.session.execute(update(PickupSlot).where(PickupSlot.position == 1).values(reserved=3))
        await uow.commit()
    failed = [r for r in await check_database(app.core.db) if not r.ok]
    assert [r.name for r in failed] == ["pickup slots reserved = parcels in them"]
    assert "3" in failed[0].detail


async def test_places_of_buyers_whose_orders_ended_go_to_the_next_buyers(any_app: App) -> None:
    await _crowd(any_app)
    holders = await asyncio.gather(
        *(say(any_app, f"fan{i}", "/deliver SVT-FML MEET 1") for i in range(PLACES))
    )
    assert all(r.text.startswith("✅") for r in holders)
    numbers = [f"SVT-FML-{n}" for n in range(1, BUYERS + 1)]
    owners = {}
    for i in range(PLACES):  # who holds which order: /myorders names it
        reply = await say(any_app, f"fan{i}", "/myorders")
        owners[i] = next(n for n in numbers if f"{n} " in reply.text or f"{n}\n" in reply.text)
    for i in range(PLACES // 2):  # half the holders cancel their only order
        cancelled = await say(any_app, f"fan{i}", f"/cancel {owners[i]}")
        assert not cancelled.text.startswith("⚠️"), cancelled.text
    late = await asyncio.gather(
        *(say(any_app, f"fan{i}", "/deliver SVT-FML MEET 1") for i in range(PLACES, PLACES + 40))
    )
    assert sum(r.text.startswith("✅") for r in late) == PLACES // 2
    assert await _slot_counts(any_app) == {1: (PLACES, PLACES), 2: (0, 0)}
    await assert_checks_pass(any_app)


def test_the_pickup_benchmark_runs_and_never_overfills(capsys: pytest.CaptureFixture[str]) -> None:
    result = pickup.main(["--buyers", "40", "--places", "15"])
    assert result["won"] == result["reserved"] == result["holders"] == 15
    assert result["over capacity"] == 0 and result["floor per second"] > 0
    assert "ours as a share of the floor" in capsys.readouterr().out
