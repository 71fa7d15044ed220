"""Second-stage shipping fees: weigh the parcels, then ask each buyer for their parcel's fee.

``/shipfees`` opens one shipping payment request per parcel through the existing payment
machinery (same methods, same reminders), on the buyer's first paid order in the GO. A
parcel asked once is not asked again; a tiered parcel not yet weighed is listed, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from core.db.models import GroupOrder, Order, Parcel, PaymentRequest, ShippingOption, User
from core.delivery.fees import decode_tiers, parcel_fee
from core.delivery.sheets import read_table
from core.errors import GomflowError, InvalidInput
from core.lookups import load_go, load_order, lock_go
from core.money import format_money, parse_amount
from core.payments import ledger
from core.payments.status import RequestKind, RequestStatus
from core.services.accounts import Actor, require_admin
from core.status import ORDER_LIVE, OrderStatus
from core.uow import UnitOfWork
from core.when import local_text

MAX_PARCEL_GRAMS = 1_000_000
FEE_COLUMNS = {
    "order": ("order", "order number", "order no", "order id"),
    "fee": ("fee", "shipping", "shipping fee", "amount"),
}
# A buyer with a shipping request in one of these is not asked again.
STILL_ASKED = (RequestStatus.OPEN, RequestStatus.REVIEW, RequestStatus.PAID)


@dataclass(frozen=True)
class FeesReport:
    go_code: str
    requested: int
    total: str
    already: int
    free: int
    unweighed: tuple[str, ...]  # buyers whose tiered parcel has no weight yet
    problems: tuple[str, ...]  # "Ana: heavier than the heaviest tier"


async def weigh(uow: UnitOfWork, actor: Actor, number: str, grams: int) -> str:
    """Record the weight of the parcel that holds order ``number``; returns its fee as text."""
    if not 0 < grams <= MAX_PARCEL_GRAMS:
        raise InvalidInput(
            "A parcel weighs between 1 and %(max_parcel_grams)s grams.",
            max_parcel_grams=format(MAX_PARCEL_GRAMS, ","),
        )
    async with uow:
        found = await load_order(uow, number)
        go = await lock_go(uow, found.go_id)
        await require_admin(uow, actor, go)
        parcel = await uow.session.scalar(
            select(Parcel).where(Parcel.go_id == go.id, Parcel.buyer_id == found.buyer_id).with_for_update()
        )
        if parcel is None:
            raise InvalidInput(
                "The buyer of %(number)s has not chosen a delivery option yet.", number=found.number
            )
        option = await uow.session.get_one(ShippingOption, parcel.option_id)
        fee = parcel_fee(option.fee_minor, decode_tiers(option.tiers), grams)
        parcel.weight_grams = grams
        parcel.updated_at = uow.now
        await uow.commit()
        return format_money(fee or 0, go.currency)


async def request_fees(
    uow: UnitOfWork, actor: Actor, go_code: str, fees_csv: bytes | None = None
) -> FeesReport:
    """Ask every parcel not yet asked for its fee: from the option's table, or from
    ``fees_csv`` (``order,fee``) for the parcels it lists. A file with a bad line changes
    nothing; a parcel whose buyer already owes or paid shipping (``/shipping``) is skipped."""
    table = read_table(fees_csv, FEE_COLUMNS, {"order", "fee"}, "order,fee") if fees_csv is not None else []
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        given = await _given_fees(uow, go, table)
        asked = set(
            (
                await uow.session.scalars(
                    select(Order.buyer_id)
                    .join(PaymentRequest, PaymentRequest.order_id == Order.id)
                    .where(
                        Order.go_id == go.id,
                        PaymentRequest.kind == RequestKind.SHIPPING,
                        PaymentRequest.status.in_(STILL_ASKED),
                    )
                )
            ).all()
        )
        parcels = (
            await uow.session.execute(
                select(Parcel, ShippingOption, User.display_name)
                .join(ShippingOption, ShippingOption.id == Parcel.option_id)
                .join(User, User.id == Parcel.buyer_id)
                .where(Parcel.go_id == go.id)
                .order_by(Parcel.id)
            )
        ).all()
        requested = total = already = free = 0
        unweighed: list[str] = []
        problems: list[str] = []
        for parcel, option, buyer in parcels:
            if parcel.fee_request_id is not None or parcel.buyer_id in asked:
                already += 1
                continue
            try:
                fee = given.get(parcel.id)
                if fee is None:
                    fee = parcel_fee(option.fee_minor, decode_tiers(option.tiers), parcel.weight_grams)
            except InvalidInput as refusal:
                problems.append(f"{buyer}: {refusal.message}")
                continue
            if fee is None:
                unweighed.append(buyer)
                continue
            if fee == 0:
                free += 1
                continue
            order = await _order_to_bill(uow, go.id, parcel.buyer_id)
            if order is None:
                continue
            request = await ledger.open_request(
                uow,
                order,
                RequestKind.SHIPPING,
                fee,
                due_at=uow.now + timedelta(hours=go.payment_window_hours),
            )
            parcel.fee_request_id = request.id
            parcel.updated_at = uow.now
            await uow.notify_user(
                order.buyer_id,
                "payment_requested",
                {
                    "number": order.number,
                    "kind": RequestKind.SHIPPING,
                    "amount": format_money(fee, go.currency),
                    "due": local_text(request.due_at, go.timezone),
                },
                prefer_channel=order.channel,
                dedupe_key=f"requested:{request.id}",
            )
            requested += 1
            total += fee
        report = FeesReport(
            go.code,
            requested,
            format_money(total, go.currency),
            already,
            free,
            tuple(unweighed),
            tuple(problems),
        )
        await uow.commit()
        return report


async def _given_fees(
    uow: UnitOfWork, go: GroupOrder, table: list[tuple[int, dict[str, str]]]
) -> dict[int, int]:
    """Parcel id → the fee a file gives it; every bad line is named, and then none is used."""
    fees: dict[int, int] = {}
    lines: dict[int, int] = {}
    problems = []
    for number, row in table:
        try:
            order = await uow.session.scalar(select(Order).where(Order.number == row["order"].upper()))
            if order is None or order.go_id != go.id or order.status not in ORDER_LIVE:
                raise InvalidInput(
                    "there is no live order %(row)s in %(code)s",
                    row=row["order"][:32] or "(blank)",
                    code=go.code,
                )
            fee = parse_amount(row["fee"], go.currency)
            parcel_id = await uow.session.scalar(
                select(Parcel.id).where(Parcel.go_id == go.id, Parcel.buyer_id == order.buyer_id)
            )
            if parcel_id is None:
                raise InvalidInput(
                    "the buyer of %(number)s has not chosen a delivery option", number=order.number
                )
            if parcel_id in lines:
                raise InvalidInput(
                    "%(number)s is in the same parcel as line %(lines)s",
                    number=order.number,
                    lines=lines[parcel_id],
                )
        except GomflowError as refusal:
            problems.append(f"line {number}: {refusal.message.rstrip('.')}")
            continue
        lines[parcel_id] = number
        fees[parcel_id] = fee
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise InvalidInput("Nothing was asked; fix the file first: %(shown)s.", shown=shown)
    return fees


async def _order_to_bill(uow: UnitOfWork, go_id: int, buyer_id: int) -> Order | None:
    """The buyer's first paid order in the GO (else their first live one), locked."""
    orders = (
        await uow.session.scalars(
            select(Order)
            .where(Order.go_id == go_id, Order.buyer_id == buyer_id, Order.status.in_(ORDER_LIVE))
            .order_by(Order.id)
            .with_for_update()
        )
    ).all()
    paid = [o for o in orders if o.status == OrderStatus.PAID]
    return paid[0] if paid else (orders[0] if orders else None)
