"""The waitlist: freed slots go to waiting buyers in turn, each told through the outbox."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry, OutboxMessage, WaitlistEntry
from core.errors import AlreadyWaitlisted, InvalidInput
from core.quantities import LineRequest
from core.services import group_orders, ordering, waitlist
from main import App
from tests.conftest import assert_checks_pass, buyer, open_go, say


async def test_refuses_to_waitlist_while_there_is_room(app: App) -> None:
    await open_go(app, cap=4, items=('POB 3 "Photocard"',))
    bob = await buyer(app, "bob")
    with pytest.raises(InvalidInput, match="There is still room"):
        await waitlist.join_waitlist(app.core.uow(), bob, "SVT-FML", LineRequest("POB", None, 1))


async def test_freed_slot_goes_to_first_in_line_who_fits_and_they_are_told(
    app: App, outbox_log: list[str]
) -> None:
    await open_go(app, cap=3, items=('POB 3 "Photocard"',))
    bob, amy, cal = await buyer(app, "bob"), await buyer(app, "amy"), await buyer(app, "cal")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 3)])
    first = await waitlist.join_waitlist(app.core.uow(), amy, "SVT-FML", LineRequest("POB", None, 2))
    second = await waitlist.join_waitlist(app.core.uow(), cal, "SVT-FML", LineRequest("POB", None, 1))
    assert (first.position, second.position) == (1, 2)
    with pytest.raises(AlreadyWaitlisted):
        await waitlist.join_waitlist(app.core.uow(), amy, "SVT-FML", LineRequest("POB", None, 1))

    # bob frees one slot: amy (wants 2) does not fit, cal (wants 1) does
    await ordering.change_order(app.core.uow(), bob, "SVT-FML-1", [LineRequest("POB", None, 2)])
    assert [o.number for o in await ordering.my_orders(app.core.reader(), cal)] == ["SVT-FML-2"]
    assert await ordering.my_orders(app.core.reader(), amy) == []
    [still_waiting] = await waitlist.my_waitlist(app.core.reader(), amy)
    assert still_waiting.position == 1

    # bob cancels: amy's 2 now fit
    await ordering.cancel_order(app.core.uow(), bob, "SVT-FML-1")
    [amys] = await ordering.my_orders(app.core.reader(), amy)
    assert amys.units == 2

    await app.dispatcher.run_once()
    promoted = [text for text in outbox_log if "A slot freed up" in text]
    assert len(promoted) == 2
    assert promoted[0].startswith("📨 to cal:") and "SVT-FML-2" in promoted[0]
    assert promoted[1].startswith("📨 to amy:") and "SVT-FML-3" in promoted[1]


async def test_promotion_message_is_queued_once_and_delivered_once(app: App, outbox_log: list[str]) -> None:
    await open_go(app, cap=1, moq=1, items=('POB 3 "Photocard"',))
    bob, amy = await buyer(app, "bob"), await buyer(app, "amy")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)])
    await waitlist.join_waitlist(app.core.uow(), amy, "SVT-FML", LineRequest("POB", None, 1))
    await ordering.cancel_order(app.core.uow(), bob, "SVT-FML-1")
    assert await app.dispatcher.run_once() == 1
    assert await app.dispatcher.run_once() == 0
    async with app.core.reader() as uow:
        statuses = (await uow.session.scalars(select(OutboxMessage.status))).all()
    assert statuses == ["sent"]
    assert len(outbox_log) == 1


async def test_closing_drops_the_waitlist(app: App) -> None:
    await open_go(app, cap=1, moq=1, items=('POB 3 "Photocard"',))
    bob, amy = await buyer(app, "bob"), await buyer(app, "amy")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)])
    await waitlist.join_waitlist(app.core.uow(), amy, "SVT-FML", LineRequest("POB", None, 1))
    gina = await say(app, "gina", "/close SVT-FML confirm")
    assert "confirmed" in gina.text
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(WaitlistEntry.status))).all() == ["dropped"]
    assert await waitlist.my_waitlist(app.core.reader(), amy) == []
    with pytest.raises(InvalidInput):
        await waitlist.leave_waitlist(app.core.uow(), amy, "SVT-FML")
    assert group_orders.MAX_CAPACITY > 0


async def test_a_refused_promotion_undoes_its_partial_reservation(app: App) -> None:
    """amy's promotion takes a GO slot, then finds her item still sold out: the savepoint undoes it."""
    from tests.integration.test_ordering import counters

    await open_go(app, cap=2, items=('POB 3 "Photocard" stock=1', 'TOTE 9 "Tote bag"'))
    bob, dan, amy = await buyer(app, "bob"), await buyer(app, "dan"), await buyer(app, "amy")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)])
    await ordering.place_order(app.core.uow(), dan, "SVT-FML", [LineRequest("TOTE", None, 1)])
    await waitlist.join_waitlist(app.core.uow(), amy, "SVT-FML", LineRequest("POB", None, 1))
    await ordering.cancel_order(app.core.uow(), dan, "SVT-FML-2")
    state = await counters(app)
    assert state["go"] == state["live_lines"] == state["items"] == state["quotas"] == 1
    assert await ordering.my_orders(app.core.reader(), amy) == []
    [entry] = await waitlist.my_waitlist(app.core.reader(), amy)
    assert entry.status == "waiting"


async def test_leaving_the_waitlist_while_the_gom_closes_ends_the_place_once(any_app: App) -> None:
    # Closing drops every waiting place in one compare-and-set; a buyer leaving at the same
    # moment either leaves first (closing then finds nothing to drop) or is told they are no
    # longer on the waitlist. Either way the place ends once, and closing never fails.
    await open_go(any_app, cap=1, moq=1, items=('POB 3 "Photocard"',))
    bob, amy = await buyer(any_app, "bob"), await buyer(any_app, "amy")
    await ordering.place_order(any_app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)])
    await waitlist.join_waitlist(any_app.core.uow(), amy, "SVT-FML", LineRequest("POB", None, 1))
    left, closed = await asyncio.gather(
        waitlist.leave_waitlist(any_app.core.uow(), amy, "SVT-FML"),
        group_orders.close_group_order(any_app.core.uow(), None, "SVT-FML"),
        return_exceptions=True,
    )
    assert isinstance(closed, group_orders.ClosingOutcome), closed
    assert left is None or isinstance(left, InvalidInput), left
    async with any_app.core.reader() as uow:
        statuses = (await uow.session.scalars(select(WaitlistEntry.status))).all()
        left_audits = await uow.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity == "waitlist", AuditEntry.to_status == "left")
        )
    assert statuses == (["left"] if left is None else ["dropped"])
    assert left_audits == (1 if left is None else 0)
    await assert_checks_pass(any_app)
