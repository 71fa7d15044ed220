"""A GO edited while buyers order, and confirmations tapped twice, on SQLite and PostgreSQL.

The edit and the orders race for the GO row. Whatever order they land in, no order is
placed at a price it did not see, nothing ends over the capacity, stock or per-buyer
limit in force, and a confirmation acts once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select

from bots.chat import ChatReply
from core.clock import FrozenClock
from core.db.models import AuditEntry, BuyerQuota, GroupOrder, Order, OrderLine
from core.errors import GomflowError, PriceChanged
from core.quantities import LineRequest
from core.services.ordering import place_order
from core.status import ORDER_LIVE
from main import App
from tests.conftest import NO_POSTGRES, POSTGRES_URL, assert_checks_pass, buyer, make_app, open_go, say

ITEMS = ('ALB 25.90 "FML album" versions="A:Faded Mono Life,B:Fallen Misfit"',)
BUYERS = 80


async def _audit_id(app: App, action: str) -> int:
    async with app.core.reader() as uow:
        found = await uow.session.scalar(select(AuditEntry.id).where(AuditEntry.action == action))
        assert found is not None, action
        return found


async def _go(app: App) -> GroupOrder:
    async with app.core.reader() as uow:
        go = await uow.session.scalar(select(GroupOrder).where(GroupOrder.code == "SVT-FML"))
        assert go is not None
        return go


async def test_no_order_is_placed_at_a_price_it_did_not_see_while_the_gom_reprices(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=400, items=ITEMS)
    fans = [await buyer(app, f"fan{i}") for i in range(BUYERS)]

    async def seen_price(i: int) -> OrderOrRefusal:
        try:
            view = await place_order(
                app.core.uow(), fans[i], "SVT-FML", [LineRequest("ALB", "A", 1)], {"ALB:A": 2590}
            )
        except GomflowError as refusal:
            return refusal
        return view.number

    async def typed(i: int) -> OrderOrRefusal:
        reply = await say(app, f"fan{i}", "/order SVT-FML ALB:A 1")
        return reply

    async def edit_then_more() -> list[OrderOrRefusal]:
        """The edit races the first half; the second half orders once it is done."""
        edited = await say(app, "gina", "/edititem SVT-FML ALB:A price=30")
        assert not edited.text.startswith("⚠️"), edited.text
        return await asyncio.gather(*(order(i) for i in range(BUYERS // 2, BUYERS)))

    def order(i: int) -> Awaitable[OrderOrRefusal]:
        return seen_price(i) if i % 2 else typed(i)

    *first, later = await asyncio.gather(*(order(i) for i in range(BUYERS // 2)), edit_then_more())
    for i, result in enumerate([*first, *later]):
        if isinstance(result, GomflowError):
            assert i % 2 and isinstance(result, PriceChanged), result
        elif isinstance(result, ChatReply):
            assert result.text.startswith("✅ Order placed!"), result.text
    edited_at = await _audit_id(app, "item_edited")
    async with app.core.reader() as uow:
        placed = (
            await uow.session.execute(
                select(AuditEntry.id, OrderLine.unit_price_minor, Order.buyer_id)
                .join(Order, Order.id == AuditEntry.entity_id)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .where(AuditEntry.entity == "order", AuditEntry.action == "placed")
            )
        ).all()
    seen_buyers = {fans[i].user_id for i in range(1, BUYERS, 2)}
    assert placed
    assert any(audit_id > edited_at for audit_id, _, _ in placed)  # typed orders after it: the new price
    for audit_id, price, buyer_id in placed:
        assert price == (2590 if audit_id < edited_at else 3000), (audit_id, edited_at, price)
        if buyer_id in seen_buyers:
            assert price == 2590  # they saw 25.90: placed at it, or refused
    await assert_checks_pass(app)


OrderOrRefusal = str | GomflowError | ChatReply


async def test_capacity_lowered_while_buyers_order_never_ends_below_what_is_taken(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=100, items=ITEMS)
    for i in range(50):
        assert (await say(app, f"early{i}", "/order SVT-FML ALB:B 1")).text.startswith("✅")
    racing = [say(app, f"fan{i}", "/order SVT-FML ALB:A 1") for i in range(30)]
    racing.insert(10, say(app, "gina", "/editgo SVT-FML cap=60"))
    replies = await asyncio.gather(*racing)
    edit = replies.pop(10)
    go = await _go(app)
    placed = sum(r.text.startswith("✅") for r in replies)
    if edit.text.startswith("⚠️"):
        assert "units taken by live orders" in edit.text and go.capacity == 100
        assert placed == 30
    else:
        assert go.capacity == 60 and go.reserved_units <= 60
        assert all(
            r.text.startswith("✅") or "left in SVT-FML" in r.text or "full" in r.text for r in replies
        )
    assert go.reserved_units == 50 + placed <= go.capacity
    await assert_checks_pass(app)


async def test_a_lower_per_buyer_limit_never_slips_under_a_buyer_ordering_at_once(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=400, limit=3, items=ITEMS)
    for i in range(BUYERS // 2):
        assert (await say(app, f"fan{i}", "/order SVT-FML ALB:A 1")).text.startswith("✅")
    racing = [say(app, f"fan{i}", "/order SVT-FML ALB:B 1") for i in range(BUYERS // 2)]
    racing.insert(BUYERS // 4, say(app, "gina", "/editgo SVT-FML limit=1"))
    replies = await asyncio.gather(*racing)
    edit = replies.pop(BUYERS // 4)
    go = await _go(app)
    async with app.core.reader() as uow:
        most = await uow.session.scalar(
            select(func.max(BuyerQuota.reserved)).where(BuyerQuota.go_id == go.id)
        )
        live = await uow.session.scalar(
            select(func.count()).select_from(Order).where(Order.go_id == go.id, Order.status.in_(ORDER_LIVE))
        )
    seconds = sum(r.text.startswith("✅") for r in replies)
    if edit.text.startswith("⚠️"):
        assert "already holds 2 units" in edit.text and go.per_buyer_limit == 3
        assert seconds >= 1
    else:
        assert go.per_buyer_limit == 1 and most == 1 and seconds == 0
        assert all("allows 1 per buyer" in r.text for r in replies)
    assert live == BUYERS // 2 + seconds
    assert most is not None and most <= (go.per_buyer_limit or 0)
    await assert_checks_pass(app)


async def test_close_confirmed_twice_at_once_closes_once(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=5, items=ITEMS)
    assert (await say(app, "bob", "/order SVT-FML ALB:A 2")).text.startswith("✅")
    taps = await asyncio.gather(
        say(app, "gina", "/close SVT-FML proceed"), say(app, "gina", "/close SVT-FML proceed")
    )
    done = [t for t in taps if not t.text.startswith("⚠️")]
    assert len(done) == 1 and "going ahead anyway" in done[0].text
    assert "is confirmed" in next(t for t in taps if t.text.startswith("⚠️")).text
    async with app.core.reader() as uow:
        moves = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.to_status == "confirmed")
        )
    assert moves == 1 and (await _go(app)).status == "confirmed"


async def test_cancel_confirmed_twice_at_once_cancels_each_order_once(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, items=ITEMS)
    for name in ("bob", "cara", "dan"):
        assert (await say(app, name, "/order SVT-FML ALB:A 1")).text.startswith("✅")
    taps = await asyncio.gather(*(say(app, "gina", "/cancelgo SVT-FML confirm") for _ in range(2)))
    assert sorted(t.text.startswith("⚠️") for t in taps) == [False, True]
    async with app.core.reader() as uow:
        cancelled = await uow.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity == "order", AuditEntry.to_status == "cancelled")
        )
    assert cancelled == 3 and (await _go(app)).status == "cancelled"
    await assert_checks_pass(app)


@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
@pytest.mark.parametrize(
    ("edit", "order", "expected"),
    [
        ("per_buyer_limit = 1", [LineRequest("ALB", "A", 2)], "allows 1 per buyer"),
        ("title = title", [LineRequest("ALB", "A", 2)], None),  # only the version moved: placed on a new read
    ],
)
async def test_an_order_that_read_the_go_before_an_edit_is_read_again(
    tmp_path: Path, clock: FrozenClock, edit: str, order: list[LineRequest], expected: str | None
) -> None:
    """PostgreSQL reads without waiting: an order may read the GO, then wait for the GO row
    while an edit holds it. Once the edit commits, the order must not act on what it read."""
    assert POSTGRES_URL is not None
    app = await make_app("postgres", tmp_path, clock, [])
    try:
        await open_go(app, moq=1, cap=50, limit=3, items=ITEMS)
        bob = await buyer(app, "bob")
        editor = await asyncpg.connect(POSTGRES_URL)
        try:
            async with editor.transaction():
                await editor.execute(
                    f"UPDATE group_orders SET {edit}, catalogue_version = catalogue_version + 1 "
                    "WHERE code = 'SVT-FML'"
                )
                placing = asyncio.ensure_future(place_order(app.core.uow(), bob, "SVT-FML", order))
                await _until_an_order_waits_for_the_go_row(editor, placing)
            if expected is None:
                view = await placing
                assert view.units == 2
            else:
                with pytest.raises(GomflowError, match=expected):
                    await placing
        finally:
            await editor.close()
        async with app.core.reader() as uow:
            held = await uow.session.scalar(select(func.max(BuyerQuota.reserved)))
        go = await _go(app)
        assert (held or 0) <= (go.per_buyer_limit or 3)
        await assert_checks_pass(app)
    finally:
        await app.core.close()


async def _until_an_order_waits_for_the_go_row(
    editor: asyncpg.Connection, placing: asyncio.Future[object]
) -> None:
    """Wait (up to a minute) until another session waits for a lock: the order's UPDATE."""
    for _ in range(600):
        assert not placing.done(), "the order did not wait for the edit"
        waiting = await editor.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if waiting:
            return
        await asyncio.wait({placing}, timeout=0.1)
    raise AssertionError("no order came to wait for the GO row within a minute")
