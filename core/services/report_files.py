"""The whole order list of a GO as a CSV file, written a chunk at a time.

A GO may hold 100,000 orders: the file is written to a spooled temporary file (memory up
to a megabyte, then disk) from chunks of ``CHUNK`` orders read by keyset (``id >`` the last
one, through the ``(go_id, id)`` index), each with its lines and its buyers' contacts.
Python never holds more than one chunk of rows. Keyset reads, not a server-side cursor:
they behave the same on SQLite, PostgreSQL and behind PgBouncer in transaction mode.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from functools import lru_cache
from typing import IO, Any

from sqlalchemy import func, select

from core.db.models import (
    GroupOrder,
    Identity,
    Item,
    Order,
    OrderLine,
    Payment,
    PaymentRequest,
    User,
    Variant,
)
from core.lookups import load_go
from core.money import minor_to_plain
from core.payments import terms
from core.payments.parts import fee_for_line
from core.payments.status import AttemptStatus
from core.privacy.identities import reach
from core.services.accounts import Actor, require_admin
from core.services.reports import CSV_COLUMNS, SPREADSHEET, safe_cell
from core.uow import UnitOfWork

CHUNK = 1_000
SPOOL_BYTES = 1 << 20  # a file larger than this goes to disk while it is written
BOM = codecs.BOM_UTF8


async def export_orders_csv(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[str, bytes]:
    """``/export``: one row per order line; UTF-8 with a BOM and CRLF for spreadsheets."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        filename = await write_orders_csv(uow, actor, go_code, spool)
        spool.seek(0)
        return filename, spool.read()


async def write_orders_csv(uow: UnitOfWork, actor: Actor, go_code: str, out: IO[bytes]) -> str:
    """Write the GO's order lines to ``out`` as they are read; returns the file's name."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        contacts = Contacts()
        try:
            out.write(BOM)
            writer = csv.writer(text, SPREADSHEET)
            writer.writerow(CSV_COLUMNS)
            async for rows in _line_chunks(uow, go.id):
                await contacts.load(uow, {row.buyer_id for row in rows})
                money = await _money_of(uow, go, sorted({row.order_id for row in rows}))
                writer.writerows(
                    (
                        guarded(row.number),
                        row.status,
                        guarded(row.display_name),
                        guarded(contacts.of(row.buyer_id)),
                        guarded(row.item),
                        guarded(row.variant or ""),
                        row.quantity,
                        plain(row.unit_price_minor, row.currency),
                        plain(row.unit_price_minor * row.quantity, row.currency),
                        row.currency,
                        minutes(row.placed_at),
                        minutes(row.payment_due_at),
                        *money.cells(row),
                    )
                    for row in rows
                )
        finally:
            text.flush()
            text.detach()  # leave ``out`` open for the caller
        return f"{go.code}-orders.csv"


_RISKY = frozenset("=+-@\t\r")


def guarded(value: str) -> str:
    """``safe_cell`` for text people typed, skipped (it is a regular expression per cell)
    where no character a formula could start with is present."""
    return safe_cell(value) if not _RISKY.isdisjoint(value) else value


class _OrderMoney:
    """The money columns of one chunk: each line's fee, each order's surcharges (on its
    first line only, so a column sum counts them once) and its locked rate."""

    def __init__(self, locked: dict[int, terms.Terms], surcharges: dict[int, int]) -> None:
        self.locked, self.surcharges = locked, surcharges
        self.seen: set[int] = set()

    def cells(self, row: Any) -> tuple[str, str, str]:
        t = self.locked.get(row.order_id, terms.Terms())
        fee = fee_for_line(row.quantity, row.unit_price_minor, t.fee_fixed_minor, t.fee_bp)
        first = row.order_id not in self.seen
        self.seen.add(row.order_id)
        extra = self.surcharges.get(row.order_id, 0) if first else 0
        return plain(fee, row.currency), plain(extra, row.currency), t.rate.text() if t.rate else ""


async def _money_of(uow: UnitOfWork, go: GroupOrder, order_ids: list[int]) -> _OrderMoney:
    locked = await terms.terms_by_order(uow, go, order_ids)
    found = await uow.session.execute(
        select(PaymentRequest.order_id, func.sum(Payment.surcharge_minor))
        .join(Payment, Payment.request_id == PaymentRequest.id)
        .where(
            PaymentRequest.order_id.in_(order_ids),
            Payment.status == AttemptStatus.SUCCEEDED,
            Payment.surcharge_minor > 0,
        )
        .group_by(PaymentRequest.order_id)
    )
    return _OrderMoney(locked, {order_id: int(total or 0) for order_id, total in found.all()})


@lru_cache(maxsize=4096)
def plain(minor: int, currency: str) -> str:
    """Amounts repeat (a GO has few prices): each is formatted once."""
    return minor_to_plain(minor, currency)


def minutes(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM`` of a UTC time, as every gomflow sheet writes it."""
    return moment.isoformat(" ", "minutes")[:16]


class Contacts:
    """Buyers' contacts as the sheets name them (``reports._contacts``), looked up a chunk at
    a time and remembered for buyers seen again; forgotten past ``KEEP`` buyers, so a GO of
    many buyers is never held whole."""

    KEEP = 20_000

    def __init__(self) -> None:
        self._labels: dict[int, str] = {}

    async def load(self, uow: UnitOfWork, user_ids: set[int]) -> None:
        missing = user_ids - self._labels.keys()
        if not missing:
            return
        if len(self._labels) + len(missing) > self.KEEP:
            self._labels.clear()
        who = Identity
        found = (
            await uow.session.execute(
                select(who.user_id, who.channel, who.handle, who.id).where(who.user_id.in_(missing))
            )
        ).all()
        # an identity without a handle is named by its id or sealed address: opened only then
        unnamed = [identity_id for _, _, handle, identity_id in found if not handle]
        reached: dict[int, str] = {}
        if unnamed:
            reached = {
                identity_id: reach(external_id, address)
                for identity_id, external_id, address in await uow.session.execute(
                    select(who.id, who.external_id, who.address).where(who.id.in_(unnamed))
                )
            }
        for user_id, channel, handle, identity_id in found:
            label = f"{channel}:{handle or reached[identity_id]}"
            if user_id not in self._labels or label < self._labels[user_id]:
                self._labels[user_id] = label
        for user_id in missing:
            self._labels.setdefault(user_id, "")

    def of(self, user_id: int) -> str:
        return self._labels.get(user_id, "")


async def _line_chunks(uow: UnitOfWork, go_id: int) -> AsyncIterator[Sequence[Any]]:
    """The GO's order lines in order, ``CHUNK`` orders at a time, by keyset on the order id."""
    last = 0
    while True:
        ids = list(
            (
                await uow.session.scalars(
                    select(Order.id)
                    .where(Order.go_id == go_id, Order.id > last)
                    .order_by(Order.id)
                    .limit(CHUNK)
                )
            ).all()
        )
        if not ids:
            return
        rows = (
            await uow.session.execute(
                select(
                    Order.id.label("order_id"),
                    Order.number,
                    Order.status,
                    User.display_name,
                    Order.buyer_id,
                    Item.name.label("item"),
                    Variant.name.label("variant"),
                    (OrderLine.quantity - OrderLine.short_units).label("quantity"),  # delivered
                    OrderLine.unit_price_minor,
                    Order.currency,
                    Order.placed_at,
                    Order.payment_due_at,
                )
                .join(OrderLine, OrderLine.order_id == Order.id)
                .join(Item, Item.id == OrderLine.item_id)
                .outerjoin(Variant, Variant.id == OrderLine.variant_id)
                .join(User, User.id == Order.buyer_id)
                .where(Order.id.in_(ids))
                .order_by(Order.id, OrderLine.id)
            )
        ).all()
        yield rows
        last = ids[-1]
