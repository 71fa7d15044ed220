"""A buyer's first order signs them up in the order's own trip to the order desk.

``place_order`` given a ``Caller`` (someone not looked up yet, as /order is run) looks
them up, or signs them up, inside the order's batch: what ``identify`` would have written
(the person, their identity, their handle, reachable again) is written there instead. An
update not stored before its handling (a Discord interaction) is stored with the order.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from core.db.models import Identity, InboundUpdate, Order, User
from core.errors import AlreadyHandled
from core.inbound import finish, handling
from core.quantities import LineRequest
from core.services import ordering
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
