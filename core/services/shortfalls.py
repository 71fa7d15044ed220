"""Shortfalls: the supplier delivered fewer units than buyers claimed.

The GOM says what arrived (``ALB:A=3``); the GO's policy (``core.policy``) decides who
goes short (last claims first by default, first claims first, or a seeded lottery) and
whether what they paid for and did not get comes back as a refund or as store credit
with the same GOM (the GOM may choose the other for one run). ``/shortfall`` shows the
result first and applies it only when confirmed.

Applying holds the group order's lock for the whole run and moves each line's
``short_units`` with a compare-and-set from what was read under it, so a second tap (or
a second person) finds nothing left short and changes nothing. For each order the value
not delivered (unit price × units short, exact in minor units) first lowers what the
order still owes, and only the rest goes back: queued as refunds through the ledger, or
granted as store credit. Every buyer concerned is told; the run, its inputs and each
order's part are recorded and audited.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from core.db.models import (
    GroupOrder,
    Item,
    Order,
    OrderLine,
    Payment,
    PaymentRequest,
    Refund,
    Shortfall,
    User,
    Variant,
)
from core.errors import Conflict, InvalidInput
from core.lookups import load_go, lock_order
from core.money import format_money
from core.orders import end_order
from core.payments import ledger, store_credit
from core.payments.status import PAYABLE, AttemptStatus, RefundStatus, RequestKind, RequestStatus
from core.policy import ShortfallRemedy, ShortfallRule, policy_of
from core.services.accounts import Actor, require_admin
from core.shortfalls import Claim, Remedy, choose_short, remedy_for
from core.status import ORDER_LIVE, GOStatus, OrderStatus
from core.transitions import transition_all
from core.uow import UnitOfWork

USAGE = "/shortfall CODE ITEM[:VERSION]=ARRIVED … [refund|credit] [seed=WORD]"
WHEN = frozenset({GOStatus.ORDERED, GOStatus.ARRIVED})
MAX_UNITS = 1_000_000
MAX_ARRIVALS = 50
NONE_ARRIVED = "none of it was delivered (shortfall)"
_ARRIVAL = re.compile(r"^([A-Za-z0-9_-]{1,20})(?::([A-Za-z0-9_-]{1,20}))?=([0-9]{1,7})$")
_SEED = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Request:
    """What the GOM typed, read: units arrived per item (or version), and the options."""

    arrivals: tuple[tuple[str, str | None, int], ...]
    remedy: ShortfallRemedy | None = None
    seed: str | None = None

    def words(self) -> list[str]:
        """The same request as words again, for the confirm button."""
        out = [f"{i}:{v}={n}" if v else f"{i}={n}" for i, v, n in self.arrivals]
        out += [self.remedy.value] if self.remedy else []
        out += [f"seed={self.seed}"] if self.seed else []
        return out


def parse_request(words: Sequence[str]) -> Request:
    """``ALB:A=3 POB=10 credit seed=drop1``: refused as a whole, with the reason, on any
    word it does not understand."""
    arrivals: list[tuple[str, str | None, int]] = []
    remedy: ShortfallRemedy | None = None
    seed: str | None = None
    for word in words:
        low = word.lower()
        if low in (ShortfallRemedy.REFUND, ShortfallRemedy.CREDIT):
            remedy = ShortfallRemedy(low)
            continue
        if low.startswith("seed="):
            seed = word[5:]
            if not _SEED.match(seed):
                raise InvalidInput("A seed is 1 to 64 letters, digits, dots, dashes or underscores.")
            continue
        found = _ARRIVAL.match(word)
        if found is None:
            raise InvalidInput(
                (
                    "I could not read '%(word)s'. Say how many units arrived, e.g. ALB:A=3 (a whole "
                    "number, 0 or more).\nUsage: %(usage)s"
                ),
                word=word[:30],
                usage=USAGE,
            )
        item, version, count = found.group(1).upper(), found.group(2), int(found.group(3))
        if count > MAX_UNITS:
            raise InvalidInput("%(count)s units is more than any group order holds.", count=count)
        key = (item, version.upper() if version else None)
        if any((i, v) == key for i, v, _ in arrivals):
            raise InvalidInput("%(label)s is named twice; say once how many arrived.", label=_label(*key))
        arrivals.append((*key, count))
    if not arrivals:
        raise InvalidInput("Say what arrived, item by item.\nUsage: %(usage)s", usage=USAGE)
    if len(arrivals) > MAX_ARRIVALS:
        raise InvalidInput("At most %(max_arrivals)s items at once.", max_arrivals=MAX_ARRIVALS)
    return Request(tuple(arrivals), remedy, seed)


def _label(item: str, version: str | None) -> str:
    return f"{item}:{version}" if version else item


# --- views ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ArrivalView:
    key: str  # ALB:A
    name: str
    expected: int  # units claimed and not yet short
    received: int
    short: int


@dataclass(frozen=True)
class ShortOrderView:
    number: str
    buyer: str
    lines: tuple[tuple[str, int], ...]  # (item key, units short)
    units: int
    value: str
    less_owed: str  # "" when nothing was owed
    back: str  # refunded or credited, "" when nothing
    value_minor: int
    less_owed_minor: int
    back_minor: int
    remedy: str = "refund"  # how ``back`` goes to the buyer: refund or credit


@dataclass(frozen=True)
class ShortfallView:
    code: str
    title: str
    rule: str
    remedy: str
    seed: str
    arrivals: tuple[ArrivalView, ...]
    orders: tuple[ShortOrderView, ...]
    units: int
    value: str
    less_owed: str
    back: str
    applied: bool
    refunded: str = ""  # of ``back``: refunded, and given as store credit
    credited: str = ""
    words: tuple[str, ...] = field(default=())  # the request, to confirm it as shown
    by_hand: tuple[str, ...] = field(default=())  # orders whose refund the GOM sends herself

    @property
    def nothing_short(self) -> bool:
        return self.units == 0


# --- preview and apply ----------------------------------------------------------------


async def preview_shortfall(
    uow: UnitOfWork, actor: Actor, go_code: str, words: Sequence[str]
) -> ShortfallView:
    """What confirming would do, written nowhere."""
    asked = parse_request(words)
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        return await _run(uow, actor, go, asked, apply=False)


async def confirm_shortfall(
    uow: UnitOfWork, actor: Actor, go_code: str, words: Sequence[str]
) -> ShortfallView:
    """Apply it: once, however many taps; nothing at all when any order moved meanwhile."""
    asked = parse_request(words)
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        view = await _run(uow, actor, go, asked, apply=True)
        if view.nothing_short:
            raise InvalidInput(
                (
                    "Nothing is short in %(code)s for what you entered: every unit still expected "
                    "there arrived (a shortfall already recorded is never taken twice)."
                ),
                code=go.code,
            )
        await uow.commit()
        return view


async def _run(
    uow: UnitOfWork, actor: Actor, go: GroupOrder, asked: Request, *, apply: bool
) -> ShortfallView:
    if go.status not in WHEN:
        raise InvalidInput(
            (
                "%(code)s is %(status)s; a shortfall is entered once the GO is ordered from the "
                "supplier or has arrived (/status %(code)s ordered)."
            ),
            code=go.code,
            status=go.status,
        )
    policy = await policy_of(uow, go)
    rule = policy.shortfall_rule
    remedy = asked.remedy or policy.shortfall_remedy
    runs = await uow.session.scalar(
        select(func.count()).select_from(Shortfall).where(Shortfall.go_id == go.id)
    )
    seed = asked.seed or f"{go.code}-{(runs or 0) + 1}"
    arrivals, short = await _choose(uow, go, asked, rule, seed)
    orders = {o.id: o for o in await uow.session.scalars(select(Order).where(Order.id.in_(list(short))))}
    buyers = dict(
        (
            await uow.session.execute(
                select(User.id, User.display_name).where(User.id.in_([o.buyer_id for o in orders.values()]))
            )
        ).all()
    )
    run = None
    if apply and short:
        run = Shortfall(
            go_id=go.id,
            actor_id=actor.user_id,
            rule=rule,
            remedy=remedy,
            seed=seed,
            received=json.dumps({a.key: a.received for a in arrivals}),
            units_short=0,
            value_minor=0,
            refund_minor=0,
            credit_minor=0,
            owed_less_minor=0,
            currency=go.currency,
            created_at=uow.now,
        )
        uow.session.add(run)
        await uow.session.flush()
    views: list[ShortOrderView] = []
    by_hand: list[str] = []
    for order_id in sorted(short, key=lambda i: orders[i].number):
        lines = short[order_id]
        if run is not None:
            split, manual, gives = await _apply_order(uow, actor, go, order_id, lines, remedy, run)
            by_hand += [orders[order_id].number] if manual else []
        else:
            value = sum(s.units * s.price for s in lines)
            split, gives = remedy_for(value, await _owed(uow, orders[order_id])), remedy
        views.append(
            _order_view(orders[order_id], buyers.get(orders[order_id].buyer_id, "?"), lines, split, go, gives)
        )
    units = sum(v.units for v in views)
    value = sum(v.value_minor for v in views)
    less = sum(v.less_owed_minor for v in views)
    back = sum(v.back_minor for v in views)
    if run is not None:
        run.units_short, run.value_minor, run.owed_less_minor = units, value, less
        run.refund_minor = sum(v.back_minor for v in views if v.remedy == ShortfallRemedy.REFUND)
        run.credit_minor = sum(v.back_minor for v in views if v.remedy == ShortfallRemedy.CREDIT)
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="shortfall",
            detail=json.dumps(
                {
                    "run": run.id,
                    "rule": str(rule),
                    "seed": seed,
                    "remedy": str(remedy),
                    "arrived": {a.key: a.received for a in arrivals},
                    "expected": {a.key: a.expected for a in arrivals},
                    "orders": {
                        v.number: {
                            "lines": dict(v.lines),
                            "value": v.value_minor,
                            "less_owed": v.less_owed_minor,
                            "back": v.back_minor,
                            "remedy": v.remedy,
                        }
                        for v in views
                    },
                    "currency": go.currency,
                }
            ),
        )
    return ShortfallView(
        code=go.code,
        title=go.title,
        rule=str(rule),
        remedy=str(remedy),
        seed=seed,
        arrivals=tuple(arrivals),
        orders=tuple(views),
        units=units,
        value=format_money(value, go.currency),
        less_owed=_money(less, go.currency),
        back=_money(back, go.currency),
        applied=run is not None,
        refunded=_money(sum(v.back_minor for v in views if v.remedy == ShortfallRemedy.REFUND), go.currency),
        credited=_money(sum(v.back_minor for v in views if v.remedy == ShortfallRemedy.CREDIT), go.currency),
        words=tuple(Request(asked.arrivals, asked.remedy, seed).words()),
        by_hand=tuple(by_hand),
    )


@dataclass(frozen=True)
class _Short:
    line_id: int
    key: str
    units: int
    price: int
    seen: int  # the line's short_units when read, for the compare-and-set


async def _choose(
    uow: UnitOfWork, go: GroupOrder, asked: Request, rule: ShortfallRule, seed: str
) -> tuple[list[ArrivalView], dict[int, list[_Short]]]:
    """Per arrival, the claims still expecting units and which of them go short."""
    items = {i.code: i for i in await uow.session.scalars(select(Item).where(Item.go_id == go.id))}
    arrivals: list[ArrivalView] = []
    short: dict[int, list[_Short]] = {}
    for code, version, received in asked.arrivals:
        item = items.get(code)
        if item is None:
            raise InvalidInput(
                "%(code)s has no item %(code2)s; /go %(code)s lists them.", code=go.code, code2=code
            )
        variants = {
            v.code: v for v in await uow.session.scalars(select(Variant).where(Variant.item_id == item.id))
        }
        if variants and version is None:
            raise InvalidInput(
                (
                    "%(code)s comes in versions (%(variants)s); say which arrived, e.g. "
                    "%(code)s:%(next)s=%(received)s."
                ),
                code=code,
                variants=", ".join(sorted(variants)),
                next=next(iter(sorted(variants))),
                received=received,
            )
        which: ColumnElement[bool] = OrderLine.variant_id.is_(None)
        name = item.name
        if version is not None:
            variant = variants.get(version)
            if variant is None:
                raise InvalidInput("%(code)s has no version %(version)s.", code=code, version=version)
            which = OrderLine.variant_id == variant.id
            name = f"{item.name} · {variant.name}"
        rows = (
            await uow.session.execute(
                select(OrderLine, Order.number, Order.placed_at)
                .join(Order, Order.id == OrderLine.order_id)
                .where(
                    Order.go_id == go.id,
                    Order.status.in_(ORDER_LIVE),
                    OrderLine.item_id == item.id,
                    which,
                )
                .order_by(OrderLine.id)
                .execution_options(populate_existing=True)
            )
        ).all()
        claims = [
            Claim(
                line.id,
                line.order_id,
                number,
                placed_at,
                line.quantity - line.short_units,
                line.unit_price_minor,
            )
            for line, number, placed_at in rows
        ]
        seen = {line.id: line.short_units for line, _, _ in rows}
        expected = sum(c.units for c in claims)
        missing = max(0, expected - received)
        key = _label(code, version)
        arrivals.append(ArrivalView(key, name, expected, received, missing))
        chosen = choose_short(claims, missing, rule, seed)
        for claim in claims:
            if chosen.get(claim.line_id):
                short.setdefault(claim.order_id, []).append(
                    _Short(
                        claim.line_id, key, chosen[claim.line_id], claim.unit_price_minor, seen[claim.line_id]
                    )
                )
    return arrivals, short


async def _owed(uow: UnitOfWork, order: Order) -> int:
    """What an order still owes for its items, read without changing anything."""
    if order.status != OrderStatus.PLACED:
        return 0
    request = await uow.session.scalar(
        select(PaymentRequest)
        .where(
            PaymentRequest.order_id == order.id,
            PaymentRequest.kind == RequestKind.ITEMS,
            PaymentRequest.status.in_(PAYABLE),
        )
        .order_by(PaymentRequest.id.desc())
        .limit(1)
    )
    if request is None or request.amount_minor - request.adjust_minor != order.total_minor:
        return order.total_minor
    return max(0, request.amount_minor - await ledger.received(uow, request.id))


async def _apply_order(
    uow: UnitOfWork,
    actor: Actor,
    go: GroupOrder,
    order_id: int,
    lines: list[_Short],
    remedy: ShortfallRemedy,
    run: Shortfall,
) -> tuple[Remedy, bool, ShortfallRemedy]:
    """One order's part, under its lock: the lines, what it owes, and what goes back.
    Returns the split, whether a refund of it waits for the GOM to send by hand, and how
    it went back (an order none of which arrived is refunded whatever the remedy)."""
    order = await lock_order(uow, order_id)
    if order.status not in ORDER_LIVE:
        raise Conflict(
            "%(number)s just became %(status)s; enter the shortfall again.",
            number=order.number,
            status=order.status,
        )
    for line in lines:
        moved = await uow.session.execute(
            update(OrderLine)
            .where(
                OrderLine.id == line.line_id,
                OrderLine.short_units == line.seen,
                OrderLine.short_units + line.units <= OrderLine.quantity,
            )
            .values(short_units=OrderLine.short_units + line.units)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("Another shortfall for this group order was just recorded; enter it again.")
    value = sum(line.units * line.price for line in lines)
    if order.status == OrderStatus.PLACED:
        request = await ledger.items_request(uow, order)
        assert request is not None  # a placed order always has one (opened on demand)
        request = await ledger.locked(uow, PaymentRequest, request.id)
        got = await ledger.received(uow, request.id)
        split = remedy_for(value, max(0, request.amount_minor - got))
        lowered = request.amount_minor - value
        await _lower_total(uow, order, value)
        if lowered <= request.adjust_minor:  # none of it arrived: it is cancelled, money paid goes back
            await end_order(uow, order, OrderStatus.CANCELLED, actor.user_id, NONE_ARRIVED)
            remedy = ShortfallRemedy.REFUND
        else:
            await transition_all(
                uow, Payment, Payment.request_id == request.id, AttemptStatus.CREATED, AttemptStatus.VOID
            )
            changed = await uow.session.execute(
                update(PaymentRequest)
                .where(
                    PaymentRequest.id == request.id,
                    PaymentRequest.amount_minor == request.amount_minor,
                    PaymentRequest.status.in_(PAYABLE),
                )
                .values(amount_minor=lowered, updated_at=uow.now)
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict(
                    "%(number)s's payment just changed; enter the shortfall again.", number=order.number
                )
            set_committed_value(request, "amount_minor", lowered)
            if got >= lowered:
                await ledger.settle(uow, request, actor.user_id, "shortfall: what arrived is paid for")
    else:
        request = await uow.session.scalar(
            select(PaymentRequest)
            .where(
                PaymentRequest.order_id == order.id,
                PaymentRequest.kind == RequestKind.ITEMS,
                PaymentRequest.status == RequestStatus.PAID,
            )
            .order_by(PaymentRequest.id.desc())
            .limit(1)
        )
        if request is None:
            raise Conflict(
                "%(number)s is paid but its payment cannot be found; ask the operator.", number=order.number
            )
        split = remedy_for(value, 0)
        await _lower_total(uow, order, value)
        if remedy == ShortfallRemedy.REFUND and not await _delivered(uow, order):
            await end_order(uow, order, OrderStatus.REFUNDED, actor.user_id, NONE_ARRIVED)
    manual = False
    reason = f"shortfall in {go.code}: {sum(line.units for line in lines)} unit(s) not delivered"
    if order.status not in ORDER_LIVE:  # ended above: its refunds are queued already
        manual = bool(split.back_minor) and await _refund_by_hand(uow, order)
    elif split.back_minor and remedy == ShortfallRemedy.REFUND:
        queued = await ledger.queue_part_refunds(uow, request, split.back_minor, reason, f"gf-short-{run.id}")
        manual = any(r.status == RefundStatus.MANUAL for r in queued)
    elif split.back_minor:
        await store_credit.grant(
            uow,
            buyer_id=order.buyer_id,
            gom_id=go.gom_id,
            currency=order.currency,
            amount_minor=split.back_minor,
            kind=store_credit.CreditKind.SHORTFALL,
            actor_id=actor.user_id,
            reason=f"{order.number}: {reason}",
            order_id=order.id,
            shortfall_id=run.id,
        )
    detail = {
        "run": run.id,
        "rule": run.rule,
        "seed": run.seed,
        "lines": {str(line.line_id): line.units for line in lines},
        "value": value,
        "less_owed": split.less_owed_minor,
        "back": split.back_minor,
        "remedy": str(remedy),
    }
    uow.audit(
        actor_id=actor.user_id, entity="order", entity_id=order.id, action="short", detail=json.dumps(detail)
    )
    await uow.notify_user(
        order.buyer_id,
        "shortfall_notice",
        {
            "number": order.number,
            "go_code": go.code,
            "go_title": go.title,
            "lines": [[line.key, line.units] for line in lines],
            "value": format_money(value, order.currency),
            "less_owed": format_money(split.less_owed_minor, order.currency) if split.less_owed_minor else "",
            "back": format_money(split.back_minor, order.currency) if split.back_minor else "",
            "remedy": str(remedy),
        },
        dedupe_key=f"short:{run.id}:{order.id}",
    )
    return split, manual, remedy


async def _delivered(uow: UnitOfWork, order: Order) -> int:
    units = await uow.session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity - OrderLine.short_units), 0)).where(
            OrderLine.order_id == order.id
        )
    )
    return int(units or 0)


async def _refund_by_hand(uow: UnitOfWork, order: Order) -> bool:
    waiting = await uow.session.scalar(
        select(Refund.id)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
        .where(PaymentRequest.order_id == order.id, Refund.status == RefundStatus.MANUAL)
        .limit(1)
    )
    return waiting is not None


async def _lower_total(uow: UnitOfWork, order: Order, value: int) -> None:
    await uow.session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(total_minor=Order.total_minor - value, updated_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(order, "total_minor", order.total_minor - value)


def _order_view(
    order: Order, buyer: str, lines: list[_Short], split: Remedy, go: GroupOrder, gives: ShortfallRemedy
) -> ShortOrderView:
    return ShortOrderView(
        number=order.number,
        buyer=buyer,
        lines=tuple((line.key, line.units) for line in lines),
        units=sum(line.units for line in lines),
        value=format_money(split.value_minor, go.currency),
        less_owed=_money(split.less_owed_minor, go.currency),
        back=_money(split.back_minor, go.currency),
        value_minor=split.value_minor,
        less_owed_minor=split.less_owed_minor,
        back_minor=split.back_minor,
        remedy=str(gives),
    )


def _money(minor: int, currency: str) -> str:
    """An amount, or "" for none (the templates leave the phrase out)."""
    return format_money(minor, currency) if minor else ""
