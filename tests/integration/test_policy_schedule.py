"""What a GO's policy makes the scheduler do: remind by its ladder, charge late fees by the
GO's local day up to the cap, and release an unpaid claim after the grace, each once
however many ticks race."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core.clock import FrozenClock
from core.db.models import AuditEntry, GroupOrder, LateFee, Order, OutboxMessage, PaymentRequest
from core.policy import GOPolicy, late_fee_for, payable_until
from core.services import due, late_fees
from core.services.late_fees import days_late
from main import App
from tests.conftest import START, assert_checks_pass, open_go, say


async def keys(app: App, prefix: str) -> list[str]:
    async with app.core.reader() as uow:
        rows = await uow.session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id))
        return [k for k in rows.all() if k.startswith(prefix)]


async def fees(app: App) -> tuple[list[int], list[tuple[str, int, str]], int]:
    """(days charged per overdue request, late-fee requests (status, amount, kind), audit rows)."""
    async with app.core.reader() as uow:
        days = list((await uow.session.scalars(select(LateFee.days_charged))).all())
        requests = [
            (r.status, r.amount_minor, r.kind)
            for r in (
                await uow.session.scalars(
                    select(PaymentRequest)
                    .where(PaymentRequest.kind == "late_fee")
                    .order_by(PaymentRequest.id)
                )
            ).all()
        ]
        audited = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "late_fee")
        )
    return days, requests, int(audited or 0)


def test_late_days_are_counted_by_the_gos_calendar_and_the_fee_stops_at_the_cap() -> None:
    due_at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # 20:00 in Singapore
    assert days_late(due_at, due_at, "Asia/Singapore") == 0
    assert days_late(due_at, due_at + timedelta(minutes=1), "Asia/Singapore") == 1
    assert days_late(due_at, due_at + timedelta(hours=3, minutes=59), "Asia/Singapore") == 1
    # 00:01 on the 23rd in Singapore while it is still the 22nd in UTC: a new day started
    assert days_late(due_at, due_at + timedelta(hours=4, minutes=1), "Asia/Singapore") == 2
    assert days_late(due_at, due_at + timedelta(hours=4, minutes=1), "UTC") == 1
    policy = GOPolicy(late_fee_minor=50, late_fee_cap_minor=120)
    assert [late_fee_for(policy, d) for d in range(5)] == [0, 50, 100, 120, 120]
    assert late_fee_for(GOPolicy(late_fee_minor=50), 7) == 350  # no cap
    assert late_fee_for(GOPolicy(), 7) == 0


async def test_buyers_are_reminded_once_per_lead_of_the_ladder(any_app: App) -> None:
    app = any_app
    await open_go(app, window=120)  # due 5 days after ordering
    await say(app, "gina", "/policy SVT-FML reminders=48h,24h,1h")
    await say(app, "bob", "/agree SVT-FML")
    assert "Order placed" in (await say(app, "bob", "/order SVT-FML ALB:A 1")).text
    due_at = START + timedelta(hours=120)
    clock: FrozenClock = app.core.clock  # type: ignore[assignment]
    for moment, expected in (
        (due_at - timedelta(hours=49), []),
        (due_at - timedelta(hours=47), ["2880"]),
        (due_at - timedelta(hours=30), ["2880"]),
        (due_at - timedelta(hours=23), ["2880", "1440"]),
        (due_at - timedelta(minutes=59), ["2880", "1440", "60"]),
        (due_at - timedelta(minutes=1), ["2880", "1440", "60"]),
    ):
        clock.advance(seconds=(moment - clock.now()).total_seconds())
        for _ in range(2):  # a second tick finds nothing new
            assert await due.remind_unpaid_orders(app.core.uow(), timedelta(hours=12)) >= 0
        assert [k.rsplit(":", 1)[1] for k in await keys(app, "order_reminder:")] == expected, moment


async def test_after_downtime_only_the_nearest_lead_is_sent(any_app: App) -> None:
    app = any_app
    await open_go(app, window=120)
    await say(app, "gina", "/policy SVT-FML reminders=48h,24h,1h")
    await say(app, "bob", "/agree SVT-FML")
    assert "Order placed" in (await say(app, "bob", "/order SVT-FML ALB:A 1")).text
    app.core.clock.advance(hours=120, minutes=-30)  # down through the 48 h, 24 h and 1 h marks
    await app.ticker.tick()
    await app.ticker.tick()
    assert [k.rsplit(":", 1)[1] for k in await keys(app, "order_reminder:")] == ["60"]


async def test_late_fees_accrue_by_local_day_up_to_the_cap_then_the_claim_is_released(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1)  # due 48 h after ordering: 20:00 in Singapore
    await say(app, "gina", "/policy SVT-FML late_fee=0.50 late_fee_cap=1.20 grace=3d")
    await say(app, "bob", "/agree SVT-FML")
    assert "Order placed" in (await say(app, "bob", "/order SVT-FML ALB:A 1")).text
    clock: FrozenClock = app.core.clock  # type: ignore[assignment]

    clock.advance(hours=48, minutes=1)
    assert not (await app.ticker.tick()).failed
    assert await fees(app) == ([1], [("open", 50, "late_fee")], 1)
    clock.advance(hours=3, minutes=58)  # 23:59 local: the same day
    await app.ticker.tick()
    assert (await fees(app))[1] == [("open", 50, "late_fee")]
    clock.advance(minutes=2)  # 00:01 local on the next day, still the same day in UTC
    await app.ticker.tick()
    assert await fees(app) == ([2], [("open", 100, "late_fee")], 2)
    clock.advance(days=1)
    await app.ticker.tick()
    assert await fees(app) == ([3], [("open", 120, "late_fee")], 3)  # capped
    clock.advance(days=1)
    await app.ticker.tick()
    assert await fees(app) == ([3], [("open", 120, "late_fee")], 3)
    assert len(await keys(app, "late_fee:")) == 3
    async with app.core.reader() as uow:
        audited = await uow.session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "late_fee").order_by(AuditEntry.id.desc())
        )
    assert audited is not None and "3 day(s) late in Asia/Singapore" in audited and "cap S$1.20" in audited

    clock.advance(days=1)  # past the 3-day grace: released, and the fee goes with the claim
    report = await app.ticker.tick()
    assert report.done["expire_unpaid_orders"] == 1, report
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(Order.status)) == "expired"
    assert (await fees(app))[1] == [("void", 120, "late_fee")]
    await assert_checks_pass(app)


async def test_two_ticks_racing_charge_each_day_once(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await say(app, "gina", "/policy SVT-FML late_fee=0.50 grace=5d")
    for fan in ("bob", "amy", "cleo"):
        await say(app, fan, "/agree SVT-FML")
        assert "Order placed" in (await say(app, fan, "/order SVT-FML ALB:A 1")).text
    assert "⚠️" not in (await say(app, "bob", "/pay SVT-FML-1")).text  # bob's items request is open
    clock: FrozenClock = app.core.clock  # type: ignore[assignment]
    for day in (1, 2):
        clock.advance(hours=48 if day == 1 else 24, minutes=1 if day == 1 else 0)
        await asyncio.gather(*(late_fees.charge_late_fees(app.core.uow()) for _ in range(3)))
        days, requests, audited = await fees(app)
        assert days == [day] * 3 and audited == 3 * day
        assert requests == [("open", 50 * day, "late_fee")] * 3
    await assert_checks_pass(app)


async def test_two_ticks_racing_the_release_expire_once_and_promote_the_waitlist_once(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=2)
    await say(app, "gina", "/policy SVT-FML grace=6h")
    for fan in ("bob", "amy"):
        await say(app, fan, "/agree SVT-FML")
    assert "Order placed" in (await say(app, "bob", "/order SVT-FML ALB:A 2")).text
    assert "waitlist" in (await say(app, "amy", "/waitlist SVT-FML ALB:B 1")).text
    clock: FrozenClock = app.core.clock  # type: ignore[assignment]
    clock.advance(hours=50)  # past the deadline, within the grace: still bob's
    assert await due.expire_unpaid_orders(app.core.uow()) == 0
    clock.advance(hours=5)
    released = await asyncio.gather(*(due.expire_unpaid_orders(app.core.uow()) for _ in range(3)))
    assert sum(released) == 1
    async with app.core.reader() as uow:
        statuses = dict((await uow.session.execute(select(Order.number, Order.status))).all())
        audited = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "released")
        )
    assert statuses == {"SVT-FML-1": "expired", "SVT-FML-2": "placed"}
    assert audited == 1
    assert len(await keys(app, "waitlist_promoted:")) == 1 and len(await keys(app, "order_expired:")) == 1


async def test_unclaimed_items_reopened_for_anyone_are_not_offered_to_the_waitlist(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=2)
    await say(app, "gina", "/policy SVT-FML unclaimed=reopen")
    for fan in ("bob", "amy"):
        await say(app, fan, "/agree SVT-FML")
    assert "Order placed" in (await say(app, "bob", "/order SVT-FML ALB:A 2")).text
    assert "waitlist" in (await say(app, "amy", "/waitlist SVT-FML ALB:B 1")).text
    app.core.clock.advance(hours=49)
    assert (await app.ticker.tick()).done["expire_unpaid_orders"] == 1
    assert await keys(app, "waitlist_promoted:") == []


async def test_unclaimed_items_the_gom_keeps_come_off_the_capacity(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=3)
    await say(app, "gina", "/policy SVT-FML unclaimed=keep")
    await say(app, "bob", "/agree SVT-FML")
    assert "Order placed" in (await say(app, "bob", "/order SVT-FML ALB:A 2")).text
    app.core.clock.advance(hours=49)
    assert (await app.ticker.tick()).done["expire_unpaid_orders"] == 1
    async with app.core.reader() as uow:
        capacity, reserved = (
            await uow.session.execute(select(GroupOrder.capacity, GroupOrder.reserved_units))
        ).one()
    assert (capacity, reserved) == (1, 0)
    await assert_checks_pass(app)


async def test_a_request_stays_payable_through_the_grace_and_a_late_fee_until_paid(app: App) -> None:
    await open_go(app, moq=1)
    await say(app, "gina", "/policy SVT-FML late_fee=0.50 grace=1d")
    await say(app, "bob", "/agree SVT-FML")
    assert "Order placed" in (await say(app, "bob", "/order SVT-FML ALB:A 1")).text
    app.core.clock.advance(hours=49)
    await app.ticker.tick()
    async with app.core.reader() as uow:
        order = await uow.session.scalar(select(Order))
        assert order is not None
        until = {
            r.kind: await payable_until(uow, order, r)
            for r in (await uow.session.scalars(select(PaymentRequest))).all()
        }
    assert until["items"] == START + timedelta(hours=48 + 24)
    assert until["late_fee"] > START + timedelta(days=3650)
