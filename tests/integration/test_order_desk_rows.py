"""A batch's order lines and audit rows are written together, and never seen half-written.

The desk leaves each order's lines and audit row for one ``executemany`` per batch: these
tests hold it to writing them for every placed order and none for a refused one, and to
writing them before any other plan in the batch reads.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.db.models import AuditEntry, Order, OrderLine
from core.db.raw import Plan, Statement, run_session
from core.desk import OrderDesk, PlaceOrder, RunPlan
from core.errors import OutOfStock
from core.quantities import LineRequest
from core.reservations import AUDIT_INSERT
from core.views import OrderView
from main import App
from tests.conftest import buyer, open_go

ITEMS = ('ALB 25.90 "FML album"', 'POB 3 "Photocard" stock=2')


def order(who: Any, *lines: tuple[str, int]) -> PlaceOrder:
    requests = tuple(LineRequest(code, None, quantity) for code, quantity in lines)
    return PlaceOrder(who.user_id, who.name, "console", "SVT-FML", requests)


def written_so_far(now: datetime) -> Plan[tuple[int, int]]:
    """What a plan riding in the batch sees: order lines, and orders' audit rows."""
    lines = yield Statement("SELECT COUNT(*) FROM order_lines", (), "scalar")
    audits = yield Statement("SELECT COUNT(*) FROM audit_log WHERE entity = 'order'", (), "scalar")
    return int(lines), int(audits)


async def rows_by_order(app: App) -> tuple[dict[int, list[tuple[int, int]]], dict[int, list[str]]]:
    """Each order's (item, quantity) lines and its audit rows' details, by order id."""
    async with app.core.reader() as uow:
        orders = (await uow.session.scalars(select(Order.id))).all()
        lines = (
            await uow.session.execute(select(OrderLine.order_id, OrderLine.item_id, OrderLine.quantity))
        ).all()
        audits = (
            await uow.session.execute(
                select(AuditEntry.entity_id, AuditEntry.detail).where(AuditEntry.entity == "order")
            )
        ).all()
    by_order: dict[int, list[tuple[int, int]]] = {order_id: [] for order_id in orders}
    for order_id, item_id, quantity in lines:
        by_order[order_id].append((item_id, quantity))
    details: dict[int, list[str]] = {order_id: [] for order_id in orders}
    for order_id, detail in audits:
        details[order_id].append(detail)
    return by_order, details


async def test_a_plan_after_an_order_in_its_batch_sees_the_order_whole(any_app: App) -> None:
    """Run by ``batch_plan`` through the backend's own driver (sqlite3, or asyncpg
    statement by statement), with a refused order among the placed ones."""
    app = any_app
    await open_go(app, cap=50, items=ITEMS)
    bob, amy, dan, cat = [await buyer(app, name) for name in ("bob", "amy", "dan", "cat")]
    commands = [
        order(bob, ("ALB", 1), ("POB", 1)),
        order(dan, ("POB", 5)),  # more than the two photocards there are
        order(amy, ("POB", 1)),
        RunPlan(written_so_far),
        order(cat, ("ALB", 2)),
    ]
    desk = OrderDesk(app.core.db, app.core.clock, app.core.write_lock)  # no server function
    try:
        outcomes = await desk._run(commands, app.core.clock.now())
    finally:
        await desk.close()
    assert [type(outcome) for outcome in outcomes] == [OrderView, OutOfStock, OrderView, tuple, OrderView]
    assert outcomes[3] == (3, 2)  # bob's two lines and amy's one, and both their audit rows
    lines, details = await rows_by_order(app)
    assert sorted(len(x) for x in lines.values()) == [1, 1, 2]  # dan's order was never written
    assert sorted(d for ds in details.values() for d in ds) == ["1 units", "2 units", "2 units"]
    assert all(len(ds) == 1 for ds in details.values())


async def test_every_order_placed_in_one_batch_has_its_lines_and_one_audit_row(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=50, items=ITEMS)
    fans = [await buyer(app, f"fan{i}") for i in range(6)]
    commands: list[PlaceOrder | RunPlan] = [order(fan, ("ALB", 1), ("POB", 1)) for fan in fans]
    outcomes = await app.core.desk._run(commands, app.core.clock.now())
    placed = [o for o in outcomes if isinstance(o, OrderView)]
    assert len(placed) == 2 and all(isinstance(o, OutOfStock) for o in outcomes if o not in placed)
    lines, details = await rows_by_order(app)
    assert len(lines) == 2
    assert all(len(x) == 2 for x in lines.values())
    assert all(ds == ["2 units"] for ds in details.values())


async def test_a_unit_of_work_runs_a_many_statement_once_per_row(any_app: App) -> None:
    app = any_app
    bob = await buyer(app, "bob")
    now = app.core.clock.now()
    rows = [(now, bob.user_id, "order", n, "noted", None, None, f"row {n}") for n in (1, 2, 3)]

    def write_all() -> Generator[Statement, Any, None]:
        yield Statement(AUDIT_INSERT, rows, "many")

    async with app.core.uow() as uow:
        await run_session(uow.session, write_all())
        await uow.commit()
    async with app.core.reader() as uow:
        written = (
            await uow.session.execute(
                select(AuditEntry.detail, AuditEntry.at).where(AuditEntry.action == "noted")
            )
        ).all()
    assert sorted(detail for detail, _ in written) == ["row 1", "row 2", "row 3"]
    assert {at for _, at in written} == {now}
