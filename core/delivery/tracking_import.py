"""Tracking numbers in bulk: a CSV checked line by line, applied only once the GOM confirms.

The file may come from any spreadsheet: Excel's BOM, ``;`` or tab as the delimiter, blank
lines, header names in any case. Every problem is reported with its line (unknown or
foreign orders, the same parcel or number twice, malformed numbers, unknown carriers,
unpaid orders, pickups); while there is one, nothing is kept. A clean file is kept as a
pending import; confirming applies every line in one transaction, checked again, or none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select, update

from core.db.models import GroupOrder, Order, TrackingImport
from core.delivery.carriers import Carrier, check_tracking, find_carrier
from core.delivery.sheets import read_table
from core.delivery.shipments import record_shipment, shippable_parcel
from core.errors import AlreadyChanged, GomflowError, InvalidInput, NotFound
from core.lookups import load_go
from core.services.accounts import Actor, require_admin
from core.uow import UnitOfWork

MAX_PROBLEMS_SHOWN = 20
ORDER_HEADERS = ("order", "order number", "order no", "order id")
TRACKING_HEADERS = ("tracking", "tracking number", "tracking no", "awb", "tracking id")
CARRIER_HEADERS = ("carrier", "courier")
EXPECTED = "order,carrier,tracking"


@dataclass(frozen=True)
class Line:
    line: int
    order: str
    carrier: str
    tracking: str


@dataclass(frozen=True)
class ImportReport:
    go_code: str
    import_id: int | None  # set when the file was clean and waits for confirmation
    lines: int
    problems: tuple[str, ...]
    more_problems: int
    applied: int = 0


def read_lines(content: bytes, default_carrier: str = "") -> list[Line]:
    """The file's data lines, or ``InvalidInput`` when the file itself is unreadable."""
    columns = {"order": ORDER_HEADERS, "carrier": CARRIER_HEADERS, "tracking": TRACKING_HEADERS}
    required = {"order", "tracking"} if default_carrier else {"order", "carrier", "tracking"}
    expected = EXPECTED + " (the carrier column may be left out when you name one carrier for the file)"
    return [
        Line(number, row["order"], row["carrier"] or default_carrier, row["tracking"])
        for number, row in read_table(content, columns, required, expected)
    ]


async def check_file(
    uow: UnitOfWork,
    actor: Actor,
    go_code: str,
    content: bytes,
    carriers: Mapping[str, Carrier],
    default_carrier: str = "",
) -> ImportReport:
    """Check every line; a clean file is kept as a pending import for the GOM to confirm."""
    lines = read_lines(content, default_carrier)
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        problems, clean = await _check(uow, go, lines, carriers)
        if problems:
            shown = tuple(problems[:MAX_PROBLEMS_SHOWN])
            return ImportReport(go.code, None, len(lines), shown, len(problems) - len(shown))
        pending = TrackingImport(
            go_id=go.id,
            author_id=actor.user_id,
            rows=json.dumps([line.__dict__ for line in clean], ensure_ascii=False),
            status="pending",
            created_at=uow.now,
        )
        uow.session.add(pending)
        await uow.session.flush()
        report = ImportReport(go.code, pending.id, len(lines), (), 0)
        await uow.commit()
        return report


async def apply_import(
    uow: UnitOfWork, actor: Actor, import_id: int, carriers: Mapping[str, Carrier]
) -> ImportReport:
    """Apply a pending import in one transaction: every line, checked again, or none."""
    async with uow:
        pending = await uow.session.get(TrackingImport, import_id)
        if pending is None:
            raise NotFound("There is no tracking import #%(import_id)s.", import_id=import_id)
        go = await load_go(uow, (await uow.session.get_one(GroupOrder, pending.go_id)).code, lock=True)
        await require_admin(uow, actor, go)
        pending = await uow.session.get_one(
            TrackingImport, import_id, with_for_update=True, populate_existing=True
        )
        if pending.status != "pending":
            raise AlreadyChanged(
                "Tracking import #%(import_id)s was already %(status)s.",
                import_id=import_id,
                status=pending.status,
            )
        lines = [Line(**row) for row in json.loads(pending.rows)]
        problems, _ = await _check(uow, go, lines, carriers)
        if problems:
            raise InvalidInput(
                "Something changed since the file was checked, so nothing was applied: %(problems)s",
                problems="; ".join(problems[:5]),
            )
        for line in lines:
            order = await uow.session.scalar(select(Order).where(Order.number == line.order.upper()))
            assert order is not None
            parcel, orders = await shippable_parcel(uow, go, order)
            carrier = find_carrier(carriers, line.carrier)
            await record_shipment(uow, actor, go, parcel, orders, carrier, check_tracking(line.tracking))
        applied = await uow.session.execute(
            update(TrackingImport)
            .where(TrackingImport.id == pending.id, TrackingImport.status == "pending")
            .values(status="applied", applied_at=uow.now)
        )
        if applied.rowcount != 1:  # type: ignore[attr-defined]
            raise AlreadyChanged("Tracking import #%(import_id)s was already applied.", import_id=import_id)
        report = ImportReport(go.code, pending.id, len(lines), (), 0, applied=len(lines))
        await uow.commit()
        return report


async def _check(
    uow: UnitOfWork, go: GroupOrder, lines: list[Line], carriers: Mapping[str, Carrier]
) -> tuple[list[str], list[Line]]:
    problems: list[str] = []
    clean: list[Line] = []
    parcels: dict[int, int] = {}  # parcel id → first line
    numbers: dict[str, int] = {}  # tracking number → first line
    for line in lines:
        where = f"line {line.line}"
        try:
            carrier = find_carrier(carriers, line.carrier)
            tracking = check_tracking(line.tracking)
            if tracking in numbers:
                raise InvalidInput(
                    "the tracking number %(tracking)s is on line %(numbers)s too",
                    tracking=tracking,
                    numbers=numbers[tracking],
                )
            numbers[tracking] = line.line
            order = await uow.session.scalar(select(Order).where(Order.number == line.order.upper()))
            if order is None or order.go_id != go.id:
                raise InvalidInput(
                    "there is no order %(order)s in %(code)s",
                    order=line.order[:32] or "(blank)",
                    code=go.code,
                )
            parcel, _ = await shippable_parcel(uow, go, order)
            if parcel.id in parcels:
                raise InvalidInput(
                    "%(number)s is in the same parcel as line %(parcels)s: one number per parcel",
                    number=order.number,
                    parcels=parcels[parcel.id],
                )
            parcels[parcel.id] = line.line
        except GomflowError as refusal:
            problems.append(f"{where}: {refusal.message.rstrip('.')}")
            continue
        clean.append(Line(line.line, order.number, carrier.key, tracking))
    return problems, clean
