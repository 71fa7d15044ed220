"""A buyer's first order signs them up in the order's own trip to the order desk.

``place_order`` given a ``Caller`` (someone not looked up yet, as /order is run) looks
them up, or signs them up, inside the order's batch: what ``identify`` would have written
(the person, their identity, their handle, reachable again) is written there instead. An
update not stored before its handling (a Discord interaction) is stored with the order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from core.db.models import Identity, InboundUpdate, Order, User
from core.db.raw import Statement
from core.errors import AlreadyHandled
from core.inbound import finish, handling
from core.quantities import LineRequest
from core.services import accounts, ordering
from core.services.accounts import Caller, identify, mark_unreachable
from main import App
from tests.conftest import count_desk_trips, open_go

ONE = [LineRequest("ALB", "A", 1)]


async def identities(app: App) -> dict[str, tuple[int, str | None, bool]]:
    async with app.core.reader() as uow:
        rows = await uow.session.execute(
            select(Identity.external_id, Identity.user_id, Identity.handle, Identity.reachable)
        )
        return {e: (u, h, r) for e, u, h, r in rows}


async def test_a_first_contact_orders_and_is_signed_up_in_one_trip_taking_their_handle(
    any_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await open_go(any_app)
    await identify(any_app.core.uow(), "console", "old", "Old", "cleo")  # held the handle before
    trips = count_desk_trips(any_app, monkeypatch)
    cleo = Caller("console", "cleo1", "  Cleo  ", "@Cleo")
    placed = await ordering.place_order(any_app.core.uow(), cleo, "SVT-FML", ONE)
    assert len(trips) == 1 and placed.buyer == "Cleo"
    found = await identities(any_app)
    user_id, handle, reachable = found["cleo1"]
    assert handle == "cleo" and reachable and found["old"][1] is None
    again = await identify(any_app.core.uow(), "console", "cleo1", "Cleo", "cleo")
    assert again.user_id == user_id and again.name == "Cleo"  # known now: nothing written twice


async def test_an_unreachable_buyer_comes_back_and_a_new_one_ordering_twice_at_once_is_one_person(
    any_app: App,
) -> None:
    await open_go(any_app, cap=10)
    before = await identify(any_app.core.uow(), "console", "dan", "Dan", "dan")
    await mark_unreachable(any_app.core.uow(), "console", "dan")
    dan = Caller("console", "dan", "Dan", "dan")
    placed = await ordering.place_order(any_app.core.uow(), dan, "SVT-FML", ONE)
    user_id, _, reachable = (await identities(any_app))["dan"]
    assert reachable and user_id == before.user_id and placed.buyer == "Dan"
    eve = Caller("console", "eve", "Eve", "eve")
    await asyncio.gather(*(ordering.place_order(any_app.core.uow(), eve, "SVT-FML", ONE) for _ in range(2)))
    async with any_app.core.reader() as uow:
        named_eve = select(func.count()).select_from(User).where(User.display_name == "Eve")
        eves = await uow.session.scalar(named_eve)
        eve_id = (await identities(any_app))["eve"][0]
        hers = await uow.session.scalar(
            select(func.count()).select_from(Order).where(Order.buyer_id == eve_id)
        )
    assert eves == 1 and hers == 2


async def test_an_update_stored_with_its_order_is_acted_on_once(any_app: App) -> None:
    await open_go(any_app)
    fay = Caller("console", "fay", "Fay", "fay")
    answers = []
    for _ in range(2):  # the same update delivered twice
        with handling("discord", "1234", payload='{"type": 2}') as state:
            try:
                answers.append(await ordering.place_order(any_app.core.uow(), fay, "SVT-FML", ONE))
            except AlreadyHandled:
                answers.append(None)
            await finish(any_app.core.desk, state)
    assert answers[0] is not None and answers[1] is None and state.repeated
    async with any_app.core.reader() as uow:
        stored = (await uow.session.execute(select(InboundUpdate.payload, InboundUpdate.handled_at))).all()
        orders = await uow.session.scalar(select(func.count()).select_from(Order))
    assert len(stored) == 1 and stored[0][0] == '{"type": 2}' and stored[0][1] is not None
    assert orders == 1


def record_caller_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every statement the order desk runs to look up or sign up a caller."""
    seen: list[str] = []

    def recording(caller: Caller, now: Any) -> Generator[Statement, Any, Any]:
        plan, result = accounts.caller_plan(caller, now), None
        try:
            while True:
                statement = plan.send(result)
                seen.append(statement.sql)
                result = yield statement
        except StopIteration as done:
            return done.value

    monkeypatch.setattr(ordering, "caller_plan", recording)
    return seen


async def test_a_known_buyer_with_a_new_or_stale_handle_orders_as_themselves_and_no_one_is_made_and_unmade(
    any_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the lookup has to write for a known buyer (a new handle, one not seen for a
    day: a drop's first order from most fans) is written to their identity. Made as a new
    person and deleted again, it cost a scan of every table naming people whose column
    has no index (the audit log among them: 50-60 ms an order with 1,000,000 orders)."""
    await open_go(any_app, cap=10)
    gus = await identify(any_app.core.uow(), "console", "gus", "Gus", "gus")
    async with any_app.core.uow() as uow:
        people = await uow.session.scalar(select(func.count()).select_from(User))
        stale = uow.now - timedelta(days=2)
        await uow.session.execute(update(Identity).values(handle_seen_at=stale))
        await uow.commit()
    seen = record_caller_statements(monkeypatch)
    for handle in ("gus", "gus_k"):  # not seen for two days; then a new one
        placed = await ordering.place_order(
            any_app.core.uow(), Caller("console", "gus", "Gus", handle), "SVT-FML", ONE
        )
        assert placed.buyer == "Gus"
        assert (await identities(any_app))["gus"] == (gus.user_id, handle, True)
    async with any_app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(User)) == people
        mine = select(func.count()).select_from(Order).where(Order.buyer_id == gus.user_id)
        assert await uow.session.scalar(mine) == 2
    assert not [sql for sql in seen if "INTO users" in sql or "FROM users" in sql.split(" WHERE")[0]]


def test_a_first_contact_another_worker_signed_up_a_moment_before_is_theirs() -> None:
    """The plan itself, answered as PostgreSQL would answer two workers' sign-ups of one
    newcomer: ours meets their identity, so our person is deleted and theirs is used."""
    plan = accounts.caller_plan(Caller("console", "hal", "Hal", "hal"), datetime.now(UTC))
    asked = [plan.send(None).sql]
    their_row = (7, None, True, 70, "Hal", False, None, 0, None)  # made by the other worker
    # not found; our person; the identity taken; deleted; found as theirs
    for answer in (None, 71, None, None, their_row):
        asked.append(plan.send(answer).sql)
    with pytest.raises(StopIteration) as done:
        plan.send(None)  # the handle, written to their identity
    expected = ("SELECT i.id", "INSERT INTO users", "INSERT INTO identities", "DELETE FROM users")
    expected += ("SELECT i.id", "UPDATE identities SET handle")
    assert len(asked) == len(expected) and all(
        sql.startswith(e) for sql, e in zip(asked, expected, strict=True)
    )
    actor = done.value.value
    assert (actor.user_id, actor.identity_id, actor.name) == (70, 7, "Hal")
