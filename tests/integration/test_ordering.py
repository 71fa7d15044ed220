"""Placing, changing and cancelling orders against a real database, through the core."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry, BuyerQuota, GroupOrder, Item, Order, OrderLine, Variant
from core.errors import (
    BuyerLimitReached,
    CapacityFull,
    DeadlinePassed,
    InvalidInput,
    NotOpenForOrders,
    OrderLocked,
    OutOfStock,
    PermissionDenied,
    UnknownGroupOrder,
    UnknownItem,
)
from core.quantities import LineRequest
from core.services import ordering
from main import App
from tests.conftest import buyer, open_go, say


def line(item: str, qty: int, variant: str | None = None) -> list[LineRequest]:
    return [LineRequest(item, variant, qty)]


async def counters(app: App, code: str = "SVT-FML") -> dict[str, int]:
    """Every counter that must stay equal to the live order lines, read straight from the tables."""
    async with app.core.reader() as uow:
        s = uow.session
        go = await s.scalar(select(GroupOrder).where(GroupOrder.code == code))
        assert go is not None
        live = await s.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.go_id == go.id, Order.status.in_(["placed", "paid"]))
        )
        items = await s.scalar(select(func.coalesce(func.sum(Item.reserved), 0)).where(Item.go_id == go.id))
        quotas = await s.scalar(
            select(func.coalesce(func.sum(BuyerQuota.reserved), 0)).where(BuyerQuota.go_id == go.id)
        )
        orders = await s.scalar(select(func.count()).select_from(Order).where(Order.go_id == go.id))
        audits = await s.scalar(select(func.count()).select_from(AuditEntry))
        return {
            "go": go.reserved_units,
            "live_lines": int(live or 0),
            "items": int(items or 0),
            "quotas": int(quotas or 0),
            "orders": int(orders or 0),
            "audit": int(audits or 0),
        }


async def test_places_an_order_and_reserves_every_counter(app: App) -> None:
    await open_go(app, items=('ALB 25.90 "FML album" versions="A:Faded Mono Life@5,B:Fallen Misfit"',))
    bob = await buyer(app, "bob")
    order = await ordering.place_order(app.core.uow(), bob, "svt-fml", line("ALB", 2, "A"))
    assert order.number == "SVT-FML-1"
    assert order.total == "S$51.80"
    assert [(x.token, x.quantity) for x in order.lines] == [("ALB:A", 2)]
    state = await counters(app)
    assert state["go"] == state["live_lines"] == state["items"] == state["quotas"] == 2
    async with app.core.reader() as uow:
        variant = await uow.session.scalar(select(Variant).where(Variant.code == "A"))
        assert variant is not None and variant.reserved == 2


async def test_merges_repeated_lines_of_the_same_item(app: App) -> None:
    await open_go(app, items=('POB 3 "Photocard" stock=5',))
    bob = await buyer(app, "bob")
    order = await ordering.place_order(app.core.uow(), bob, "SVT-FML", line("POB", 2) + line("POB", 1))
    assert [(x.token, x.quantity) for x in order.lines] == [("POB", 3)]


@pytest.mark.parametrize(
    ("requests", "error", "fragment"),
    [
        (line("NOPE", 1), UnknownItem, "has no item NOPE"),
        (line("ALB", 1), InvalidInput, "pick one"),
        (line("ALB", 1, "Z"), UnknownItem, "no version Z"),
        (line("POB", 1, "A"), InvalidInput, "has no versions"),
        (line("POB", 6), OutOfStock, "Only 5 of Photocard left"),
        (line("ALB", 11, "A"), CapacityFull, "Only 10 slot(s) left"),
    ],
)
async def test_refuses_bad_lines_and_writes_nothing(
    app: App, requests: list[LineRequest], error: type[Exception], fragment: str
) -> None:
    await open_go(
        app, items=('ALB 25.90 "FML album" versions="A:Faded,B:Misfit"', 'POB 3 "Photocard" stock=5')
    )
    bob = await buyer(app, "bob")
    before = await counters(app)
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        await ordering.place_order(app.core.uow(), bob, "SVT-FML", requests)
    assert await counters(app) == before


async def test_refuses_when_per_buyer_limit_would_be_crossed_across_orders(app: App) -> None:
    await open_go(app, limit=3, items=('POB 3 "Photocard"',))
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", line("POB", 2))
    with pytest.raises(BuyerLimitReached, match="you hold 2, so you can add 1 more"):
        await ordering.place_order(app.core.uow(), bob, "SVT-FML", line("POB", 2))
    state = await counters(app)
    assert state["go"] == state["quotas"] == 2


async def test_refuses_unknown_draft_closed_and_past_deadline_group_orders(app: App, clock) -> None:  # type: ignore[no-untyped-def]
    bob = await buyer(app, "bob")
    with pytest.raises(UnknownGroupOrder):
        await ordering.place_order(app.core.uow(), bob, "NOPE-1", line("ALB", 1))
    await open_go(app, code="OPEN-GO", items=('POB 3 "Photocard"',))
    await say(app, "gina", '/newgo DRAFT-GO "Draft" moq=1 cap=5 deadline=+1d')
    await say(app, "gina", '/additem DRAFT-GO POB 3 "Photocard"')
    with pytest.raises(NotOpenForOrders, match="DRAFT-GO is draft"):
        await ordering.place_order(app.core.uow(), bob, "DRAFT-GO", line("POB", 1))
    clock.advance(days=4)
    with pytest.raises(DeadlinePassed):
        await ordering.place_order(app.core.uow(), bob, "OPEN-GO", line("POB", 1))


async def test_change_replaces_lines_all_or_nothing(app: App) -> None:
    await open_go(
        app, cap=5, items=('ALB 25.90 "FML album" versions="A:Faded,B:Misfit"', 'POB 3 "Photocard" stock=1')
    )
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", line("ALB", 2, "A"))
    changed = await ordering.change_order(
        app.core.uow(), bob, "SVT-FML-1", line("ALB", 1, "B") + line("POB", 1)
    )
    assert sorted((x.token, x.quantity) for x in changed.lines) == [("ALB:B", 1), ("POB", 1)]
    assert changed.total == "S$28.90"
    before = await counters(app)
    with pytest.raises(CapacityFull):
        await ordering.change_order(app.core.uow(), bob, "SVT-FML-1", line("ALB", 6, "A"))
    assert await counters(app) == before
    [still] = await ordering.my_orders(app.core.reader(), bob)
    assert sorted((x.token, x.quantity) for x in still.lines) == [("ALB:B", 1), ("POB", 1)]


async def test_cancel_releases_and_only_the_buyer_or_staff_may_cancel(app: App) -> None:
    await open_go(app, items=('POB 3 "Photocard"',))
    bob, eve = await buyer(app, "bob"), await buyer(app, "eve")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", line("POB", 3))
    with pytest.raises(PermissionDenied):
        await ordering.cancel_order(app.core.uow(), eve, "SVT-FML-1")
    cancelled = await ordering.cancel_order(app.core.uow(), bob, "svt-fml-1")
    assert cancelled.status == "cancelled"
    state = await counters(app)
    assert state["go"] == state["items"] == state["quotas"] == state["live_lines"] == 0
    with pytest.raises(OrderLocked, match="already cancelled"):
        await ordering.cancel_order(app.core.uow(), bob, "SVT-FML-1")
    with pytest.raises(OrderLocked):
        await ordering.change_order(app.core.uow(), bob, "SVT-FML-1", line("POB", 1))


async def test_every_status_change_is_audited_with_who(app: App) -> None:
    await open_go(app, items=('POB 3 "Photocard"',))
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", line("POB", 1))
    await ordering.cancel_order(app.core.uow(), bob, "SVT-FML-1")
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(
                    AuditEntry.entity,
                    AuditEntry.action,
                    AuditEntry.from_status,
                    AuditEntry.to_status,
                    AuditEntry.actor_id,
                ).order_by(AuditEntry.id)
            )
        ).all()
    assert ("group_order", "status", "draft", "open") in [r[:4] for r in rows]
    order_rows = [r for r in rows if r.entity == "order"]
    assert [(r.action, r.from_status, r.to_status) for r in order_rows] == [
        ("placed", None, "placed"),
        ("status", "placed", "cancelled"),
    ]
    assert {r.actor_id for r in order_rows} == {bob.user_id}


@pytest.mark.parametrize("quantity", [0, -1, -1000, 1001, True])
async def test_service_refuses_quantities_the_text_parser_would_never_pass(
    any_app: App, quantity: int
) -> None:
    """Buttons and other adapters reach place_order, change_order and the waitlist directly."""
    await open_go(any_app, items=('ALB 25.90 "FML album"',))
    fan = await buyer(any_app, "fan")
    with pytest.raises(InvalidInput, match=r"Quantity|more than one order"):
        await ordering.place_order(any_app.core.uow(), fan, "SVT-FML", line("ALB", quantity))
    placed = await ordering.place_order(any_app.core.uow(), fan, "SVT-FML", line("ALB", 1))
    with pytest.raises(InvalidInput, match=r"Quantity|more than one order"):
        await ordering.change_order(any_app.core.uow(), fan, placed.number, line("ALB", quantity))
    assert (await counters(any_app))["go"] == 1
    async with any_app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 1
