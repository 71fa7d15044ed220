"""Two commands on the same order at the same instant: only one may release or reserve.

SQLite serialises writers; PostgreSQL at READ COMMITTED interleaves them, so every pair
runs on both. Each test ends with the counters equal to the live lines and nothing over
capacity, stock or the per-buyer limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from bots.chat import ChatReply
from core.clock import FrozenClock
from core.db.models import (
    Broadcast,
    BuyerQuota,
    GroupOrder,
    Item,
    Order,
    OrderLine,
    OutboxMessage,
    Variant,
    WaitlistEntry,
)
from core.services import due
from core.status import ORDER_LIVE
from main import App
from tests.conftest import assert_checks_pass, open_go, say

BUYERS = 80  # enough pairs to interleave every way on both databases
CAPACITY = 400
STOCK = 400
PER_BUYER = 2
ITEMS = ('ALB 25.90 "FML album"', f'POB 3 "Photocard" stock={STOCK}')
FAILURE = "something went wrong"


async def _orders(app: App) -> list[str]:
    """Every buyer places one order of one album; returns the order numbers by buyer."""
    await open_go(app, moq=1, cap=CAPACITY, limit=PER_BUYER, items=ITEMS)
    replies = await asyncio.gather(*(say(app, f"fan{i}", "/order SVT-FML ALB 1") for i in range(BUYERS)))
    numbers = []
    for reply in replies:
        assert reply.text.startswith("✅ Order placed!"), reply.text
        numbers.append(_number(reply))
    return numbers


def _number(reply: ChatReply) -> str:
    for word in reply.text.replace("*", " ").replace("<b>", " ").replace("</b>", " ").split():
        if word.startswith("SVT-FML-"):
            return word.strip(".,:;()")
    raise AssertionError(f"no order number in {reply.text!r}")


async def _race(
    app: App,
    numbers: list[str],
    first: Callable[[int, str], tuple[str, str]],
    second: Callable[[int, str], tuple[str, str]],
) -> list[ChatReply]:
    commands = [pick(i, n) for i, n in enumerate(numbers) for pick in (first, second)]
    replies = await asyncio.gather(*(say(app, who, text) for who, text in commands))
    for (who, text), reply in zip(commands, replies, strict=True):
        assert FAILURE not in reply.text, (who, text, reply.text)
    return replies


async def assert_counters_match_live_lines(app: App) -> None:
    """Reserved units equal live lines per GO, item, version and buyer; nothing over a limit."""
    async with app.core.reader() as uow:
        s = uow.session
        live = (
            select(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.status.in_(ORDER_LIVE))
            .subquery()
        )
        go = await s.scalar(select(GroupOrder).where(GroupOrder.code == "SVT-FML"))
        assert go is not None
        live_units = await s.scalar(select(func.coalesce(func.sum(live.c.quantity), 0)))
        assert go.reserved_units == live_units <= go.capacity
        by_item = dict(
            (
                await s.execute(select(live.c.item_id, func.sum(live.c.quantity)).group_by(live.c.item_id))
            ).all()
        )
        for item in (await s.scalars(select(Item).where(Item.go_id == go.id))).all():
            assert item.reserved == by_item.get(item.id, 0), item.code
            assert item.stock is None or item.reserved <= item.stock
        by_variant = dict(
            (
                await s.execute(
                    select(live.c.variant_id, func.sum(live.c.quantity)).group_by(live.c.variant_id)
                )
            ).all()
        )
        for variant in (await s.scalars(select(Variant))).all():
            assert variant.reserved == by_variant.get(variant.id, 0), variant.code
        held = dict(
            (
                await s.execute(
                    select(Order.buyer_id, func.sum(Order.units))
                    .where(Order.go_id == go.id, Order.status.in_(ORDER_LIVE))
                    .group_by(Order.buyer_id)
                )
            ).all()
        )
        for quota in (await s.scalars(select(BuyerQuota).where(BuyerQuota.go_id == go.id))).all():
            assert quota.reserved == held.get(quota.buyer_id, 0)
            assert quota.reserved <= PER_BUYER
        # every order's own units equal its lines
        mismatched = (
            await s.execute(
                select(Order.number)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .group_by(Order.id, Order.number, Order.units)
                .having(func.sum(OrderLine.quantity) != Order.units)
            )
        ).all()
        assert not mismatched
    await assert_checks_pass(app)


async def _statuses(app: App) -> dict[str, str]:
    async with app.core.reader() as uow:
        return dict((await uow.session.execute(select(Order.number, Order.status))).all())


async def test_double_tapped_cancel_releases_once(any_app: App) -> None:
    numbers = await _orders(any_app)
    replies = await _race(
        any_app, numbers, lambda i, n: (f"fan{i}", f"/cancel {n}"), lambda i, n: (f"fan{i}", f"/cancel {n}")
    )
    already = [r for r in replies if "already cancelled" in r.text]
    assert len(already) == BUYERS, [r.text for r in replies if "already" not in r.text][:3]
    assert set((await _statuses(any_app)).values()) == {"cancelled"}
    await assert_counters_match_live_lines(any_app)


async def test_cancel_and_change_at_once_leave_one_consistent_order(any_app: App) -> None:
    numbers = await _orders(any_app)
    replies = await _race(
        any_app,
        numbers,
        lambda i, n: (f"fan{i}", f"/cancel {n}"),
        lambda i, n: (f"fan{i}", f"/change {n} ALB 2"),
    )
    cancelled = [r for r in replies if "is cancelled; its slots went back" in r.text]
    changed = [r for r in replies if r.text.startswith("✏️ Order changed.")]
    refused = [r for r in replies if "already cancelled" in r.text]
    assert len(cancelled) == BUYERS  # a cancel always wins: before the change, or after it
    assert len(changed) + len(refused) == BUYERS, [r.text for r in replies][:4]
    assert set((await _statuses(any_app)).values()) == {"cancelled"}
    await assert_counters_match_live_lines(any_app)


async def test_two_changes_at_once_hold_the_winner_lines(any_app: App) -> None:
    numbers = await _orders(any_app)
    await _race(
        any_app,
        numbers,
        lambda i, n: (f"fan{i}", f"/change {n} ALB 2"),
        lambda i, n: (f"fan{i}", f"/change {n} POB 1 ALB 1"),
    )
    await assert_counters_match_live_lines(any_app)


@pytest.mark.parametrize("gom_first", [True, False], ids=["gom-first", "buyer-first"])
async def test_buyer_and_gom_cancel_at_once_release_once(any_app: App, gom_first: bool) -> None:
    numbers = await _orders(any_app)
    buyer: Callable[[int, str], tuple[str, str]] = lambda i, n: (f"fan{i}", f"/cancel {n}")  # noqa: E731
    staff: Callable[[int, str], tuple[str, str]] = lambda i, n: ("gina", f"/cancel {n}")  # noqa: E731
    replies = await _race(any_app, numbers, *((staff, buyer) if gom_first else (buyer, staff)))
    assert sum("already cancelled" in r.text for r in replies) == BUYERS
    assert set((await _statuses(any_app)).values()) == {"cancelled"}
    await assert_counters_match_live_lines(any_app)


async def test_group_order_cancelled_while_buyers_cancel_releases_once(any_app: App) -> None:
    """The GO's lock is taken before any order's, so the two paths never deadlock."""
    numbers = await _orders(any_app)
    commands = [say(any_app, f"fan{i}", f"/cancel {n}") for i, n in enumerate(numbers)]
    commands.insert(BUYERS // 2, say(any_app, "gina", "/cancelgo SVT-FML confirm"))
    replies = await asyncio.gather(*commands)
    assert not [r.text for r in replies if FAILURE in r.text]
    assert set((await _statuses(any_app)).values()) == {"cancelled"}
    await assert_counters_match_live_lines(any_app)


async def test_expiry_and_cancel_at_once_release_once(any_app: App, clock: FrozenClock) -> None:
    numbers = await _orders(any_app)
    clock.advance(hours=49)  # past every order's payment window
    replies = await asyncio.gather(
        *(say(any_app, f"fan{i}", f"/cancel {n}") for i, n in enumerate(numbers)),
        due.expire_unpaid_orders(any_app.core.uow()),
    )
    expired = replies[-1]
    assert isinstance(expired, int)
    statuses = await _statuses(any_app)
    assert sum(s == "expired" for s in statuses.values()) == expired
    assert set(statuses.values()) <= {"cancelled", "expired"}
    await assert_counters_match_live_lines(any_app)


async def test_double_tapped_waitlist_join_queues_once(any_app: App) -> None:
    await open_go(any_app, moq=1, cap=1, limit=1, items=ITEMS)
    assert (await say(any_app, "first", "/order SVT-FML ALB 1")).text.startswith("✅")
    replies = await asyncio.gather(
        *(say(any_app, f"fan{i}", "/waitlist SVT-FML ALB 1") for i in range(50) for _ in range(2))
    )
    assert not [r.text for r in replies if FAILURE in r.text]
    assert sum("already on the SVT-FML waitlist" in r.text for r in replies) == 50
    async with any_app.core.reader() as uow:
        waiting = await uow.session.scalar(select(func.count()).select_from(WaitlistEntry))
    assert waiting == 50
    await assert_checks_pass(any_app)


async def test_broadcast_confirmed_twice_and_cancelled_at_once_is_queued_at_most_once(any_app: App) -> None:
    await open_go(any_app, moq=1, cap=CAPACITY, items=ITEMS)
    any_app.core.settings.__dict__["broadcast_confirm_over"] = 0  # a frozen dataclass: a test-only override
    for i in range(5):
        assert (await say(any_app, f"fan{i}", "/order SVT-FML ALB 1")).text.startswith("✅")
    for _ in range(20):
        preview = await say(any_app, "gina", "/broadcast SVT-FML all Arrives Friday")
        broadcast_id = preview.buttons[0][0].command.split()[-1]
        replies = await asyncio.gather(
            say(any_app, "gina", f"/broadcast confirm {broadcast_id}"),
            say(any_app, "gina", f"/broadcast confirm {broadcast_id}"),
            say(any_app, "gina", f"/unschedule {broadcast_id}"),
        )
        assert not [r.text for r in replies if FAILURE in r.text]
        async with any_app.core.reader() as uow:
            status = await uow.session.scalar(
                select(Broadcast.status).where(Broadcast.id == int(broadcast_id))
            )
            queued = await uow.session.scalar(
                select(func.count()).where(OutboxMessage.broadcast_id == int(broadcast_id))
            )
        sent = [r for r in replies if "is on its way" in r.text]
        assert (status, queued, len(sent)) in {("queued", 5, 1), ("cancelled", 0, 0)}, (status, replies)
    await assert_checks_pass(any_app)
