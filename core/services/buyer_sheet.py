"""``/payments CODE csv``: the per-buyer totals of a GO as a spreadsheet."""

from __future__ import annotations

import csv
import io

from core.lookups import load_go
from core.money import minor_to_plain
from core.services.accounts import Actor, require_admin
from core.services.buyer_totals import buyer_totals
from core.services.reports import SPREADSHEET, safe_cell
from core.uow import UnitOfWork

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
]


async def buyer_totals_csv(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[str, bytes]:
    """The per-buyer totals as a spreadsheet: plain amounts, local times, no formulas."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        totals = await buyer_totals(uow, go)
    buffer = io.StringIO()
    writer = csv.writer(buffer, SPREADSHEET)
    writer.writerow(CSV_COLUMNS)
    for t in totals:
        amounts = [t.owed_minor, t.paid_minor, t.refunded_minor, t.due_minor]
        line = [t.buyer, " ".join(t.orders), *(minor_to_plain(a, t.currency) for a in amounts)]
        line += [t.currency, " ".join(t.references), t.last_paid]
        writer.writerow([safe_cell(v) for v in line])
    return f"{go.code}-buyers.csv", b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
