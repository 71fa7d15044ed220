"""A GOM runs a group order: states, MOQ decision, permissions, helpers, export."""

from __future__ import annotations

import csv
import io

import pytest

from core.errors import InvalidTransition, PermissionDenied
from core.quantities import LineRequest
from core.services import group_orders, ordering, report_files, reports
from main import App
from tests.conftest import buyer, gom, open_go, say


async def test_close_confirms_when_moq_is_met_and_fails_otherwise(app: App, outbox_log: list[str]) -> None:
    await open_go(app, code="MET-GO", moq=2, items=('POB 3 "Photocard"',))
    await open_go(app, code="MISS-GO", moq=5, items=('POB 3 "Photocard"',))
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "MET-GO", [LineRequest("POB", None, 2)])
    await ordering.place_order(app.core.uow(), bob, "MISS-GO", [LineRequest("POB", None, 2)])
    gina = await gom(app)
    met = await group_orders.close_group_order(app.core.uow(), gina, "MET-GO")
    missed = await group_orders.close_group_order(app.core.uow(), gina, "MISS-GO")
    assert (met.status, met.units) == ("confirmed", 2)
    assert (missed.status, missed.units, missed.moq) == ("failed", 2, 5)
    statuses = {
        o.number: o.status for o in await ordering.my_orders(app.core.reader(), bob, include_ended=True)
    }
    assert statuses == {"MET-GO-1": "placed", "MISS-GO-1": "cancelled"}
    assert (await reports.group_order_card(app.core.reader(), "MISS-GO")).progress.reserved == 0
    await app.dispatcher.run_once()
    assert any("MISS-GO" in m and "won't go ahead" in m for m in outbox_log)
    assert any("MET-GO" in m and "confirmed" in m for m in outbox_log)


async def test_status_moves_only_along_the_table(app: App) -> None:
    await open_go(app, moq=0, items=('POB 3 "Photocard"',))
    gina = await gom(app)
    with pytest.raises(InvalidTransition, match="cannot become arrived"):
        await group_orders.advance_group_order(app.core.uow(), gina, "SVT-FML", "arrived")
    await group_orders.close_group_order(app.core.uow(), gina, "SVT-FML")
    for step in ("ordered", "arrived", "shipping", "completed"):
        await group_orders.advance_group_order(app.core.uow(), gina, "SVT-FML", step)
    with pytest.raises(InvalidTransition, match="cannot change any more"):
        await group_orders.cancel_group_order(app.core.uow(), gina, "SVT-FML")


async def test_another_gom_cannot_touch_the_go_but_a_helper_can(app: App) -> None:
    await open_go(app, items=('POB 3 "Photocard"',))
    await gom(app, "otto")
    refused = await say(app, "otto", "/close SVT-FML")
    assert "run by another GOM" in refused.text
    await buyer(app, "hana")
    assert "is for GOMs" in (await say(app, "hana", "/orders SVT-FML")).text
    assert "hana can now help" in (await say(app, "gina", "/helper add @hana")).text
    assert "SVT-FML: 0 order(s)" in (await say(app, "hana", "/orders SVT-FML")).text
    assert "for GOMs" not in (await say(app, "hana", "/help")).text
    assert "/orders" in (await say(app, "hana", "/help")).text
    helper_creating = await say(app, "hana", '/newgo HANA-GO "Mine" moq=1 cap=2 deadline=+1d')
    assert "may not open group orders" in helper_creating.text
    assert "no longer helps" in (await say(app, "gina", "/helper remove hana")).text
    assert "is for GOMs" in (await say(app, "hana", "/orders SVT-FML")).text


async def test_buyer_help_hides_gom_commands(app: App) -> None:
    await buyer(app, "bob")
    text = (await say(app, "bob", "/help")).text
    assert "/order " in text and "/newgo" not in text and "/export" not in text


async def test_export_is_a_csv_a_spreadsheet_opens_cleanly(app: App) -> None:
    await open_go(app, items=('ALB 25.90 "FML album" versions="A:Faded,B:Misfit"',))
    await buyer(app, "=cmd|calc")
    await say(app, "=cmd|calc", "/order SVT-FML ALB:A 2")
    gina = await gom(app)
    filename, content = await report_files.export_orders_csv(app.core.reader(), gina, "SVT-FML")
    assert filename == "SVT-FML-orders.csv"
    assert content.startswith(b"\xef\xbb\xbf") and b"\r\n" in content
    rows = list(csv.reader(io.StringIO(content[3:].decode("utf-8"))))
    assert rows[0][:3] == ["order", "status", "buyer"]
    assert rows[1][0] == "SVT-FML-1" and rows[1][2] == "'=cmd|calc"
    assert rows[1][4:9] == ["FML album", "Faded", "2", "25.90", "51.80"]
    with pytest.raises(PermissionDenied):
        await report_files.export_orders_csv(app.core.reader(), await buyer(app, "bob"), "SVT-FML")


async def test_extend_moves_the_deadline_later_only(app: App) -> None:
    await open_go(app, items=('POB 3 "Photocard"',))
    assert "⚠️" in (await say(app, "gina", "/extend SVT-FML 2026-11-21")).text
    assert "now closes" in (await say(app, "gina", "/extend SVT-FML +5d")).text
    assert "already passed" in (await say(app, "gina", "/extend SVT-FML 2020-01-01")).text


async def test_progress_counts_paid_units_per_item(app: App) -> None:
    from sqlalchemy import update

    from core.db.models import Order

    await open_go(app, items=('ALB 25.90 "FML album"', 'POB 3 "Photocard"'))
    bob = await buyer(app, "bob")
    await ordering.place_order(
        app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", None, 2), LineRequest("POB", None, 1)]
    )
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)])
    async with app.core.uow() as uow:
        await uow.session.execute(update(Order).where(Order.number == "SVT-FML-1").values(status="paid"))
        await uow.commit()
    card = await reports.progress(app.core.reader(), await gom(app), "SVT-FML")
    assert card.progress.paid == 3 and card.progress.reserved == 4
    assert {i.code: (i.reserved, i.paid) for i in card.items} == {"ALB": (2, 2), "POB": (2, 1)}
