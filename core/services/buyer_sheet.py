"""The per-buyer totals of a GO a page at a time (the dashboard) or as a spreadsheet
(``/payments CODE csv``), written a chunk of buyers at a time; buyers in the order of their
first order."""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import Select, func, select

from core.db.models import GroupOrder, Order
from core.errors import InvalidInput
from core.lookups import load_go
from core.money import minor_to_plain
from core.services.accounts import Actor, require_admin
from core.services.buyer_totals import buyer_totals
from core.services.report_files import BOM, SPOOL_BYTES
from core.services.reports import SPREADSHEET, safe_cell
from core.uow import UnitOfWork
from core.views import BuyerTotal

CHUNK = 500  # buyers whose totals are read and written together
PAGE_SIZE = 25  # buyers on one page of the dashboard

CSV_COLUMNS = [
    "buyer",
    "orders",
    "owed",
    "paid",
    "refunded",
    "still due",
    "currency",
    "references",
    "last payment",
    "GOM fee",
    "surcharges",
]


async def buyer_totals_csv(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[str, bytes]:
    """The per-buyer totals as a spreadsheet: plain amounts, local times, no formulas."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        filename = await write_buyer_totals_csv(uow, actor, go_code, spool)
        spool.seek(0)
        return filename, spool.read()


async def write_buyer_totals_csv(uow: UnitOfWork, actor: Actor, go_code: str, out: IO[bytes]) -> str:
    """Write the totals to ``out`` ``CHUNK`` buyers at a time, in the order of their first
    order (a keyset on it), so a GO of many buyers is never held whole."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        try:
            out.write(BOM)
            writer = csv.writer(text, SPREADSHEET)
            writer.writerow(CSV_COLUMNS)
            last = 0
            while True:
                firsts = (
                    await uow.session.execute(
                        _by_first_order(go).having(func.min(Order.id) > last).limit(CHUNK)
                    )
                ).all()
                if not firsts:
                    break
                for t in await buyer_totals(uow, go, [buyer for buyer, _ in firsts]):
                    amounts = [t.owed_minor, t.paid_minor, t.refunded_minor, t.due_minor]
                    line = [t.buyer, " ".join(t.orders), *(minor_to_plain(a, t.currency) for a in amounts)]
                    line += [t.currency, " ".join(t.references), t.last_paid]
                    line += [
                        minor_to_plain(t.fee_minor, t.currency),
                        minor_to_plain(t.surcharge_minor, t.currency),
                    ]
                    writer.writerow([safe_cell(v) for v in line])
                last = firsts[-1][1]
        finally:
            text.flush()
            text.detach()  # leave ``out`` open for the caller
    return f"{go.code}-buyers.csv"


@dataclass(frozen=True)
class BuyersPage:
    """One page of a GO's buyers with their totals, and how many there are in all."""

    go_code: str
    page: int
    pages: int
    buyers: int
    totals: list[BuyerTotal] = field(default_factory=list)


async def buyers_page(uow: UnitOfWork, actor: Actor, go_code: str, page: int = 1) -> BuyersPage:
    """``PAGE_SIZE`` buyers' totals: only their orders and payments are read, whatever the GO's size."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        count = int(
            await uow.session.scalar(
                select(func.count(func.distinct(Order.buyer_id))).where(Order.go_id == go.id)
            )
            or 0
        )
        pages = max(1, -(-count // PAGE_SIZE))
        if page > pages:
            raise InvalidInput(
                "There is no page %(page)s: %(code)s's buyers fill %(pages)s page(s).",
                page=page,
                code=go.code,
                pages=pages,
            )
        firsts = (
            await uow.session.execute(_by_first_order(go).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
        ).all()
        totals = await buyer_totals(uow, go, [buyer for buyer, _ in firsts]) if firsts else []
        return BuyersPage(go.code, page, pages, count, totals)


def _by_first_order(go: GroupOrder) -> Select[int, int]:
    """The GO's buyers with the id of their first order, in that order."""
    return (
        select(Order.buyer_id, func.min(Order.id).label("first"))
        .where(Order.go_id == go.id)
        .group_by(Order.buyer_id)
        .order_by("first")
    )
