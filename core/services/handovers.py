"""A buyer hands a claim (one order) to another buyer, both confirming (``/handover``).

The giver offers (``offer_handover``); the recipient accepts or declines, or the giver
cancels, until the offer expires (``expire_offers``, run by the scheduler). Each of
those is a compare-and-set on the handover row, under the order's lock, so a double tap
or an answer racing a cancel, a backout or a tick moves it once.

Accepting moves the claim in one transaction: the recipient's per-buyer quota takes the
units by one conditional UPDATE (as the order desk does) and the giver's gives them
back; the order, its lines and their locked prices stay as they are and only change
buyer. The GO's slots and stock do not move: the claim still holds them.

- An unpaid claim simply moves: the recipient owes it, with a fresh payment window.
- A paid claim moves too, and the recipient owes the GOM the claim's total on a new
  items request with a fresh window. The giver's money stays on the order's earlier
  requests; it is refunded (less the policy's backout fee) only when the recipient's
  request is paid (``core.payments.handover_money``). If the recipient does not pay in
  time the claim goes back to the giver, paid as before (``lapse_unpaid``).

A claim can change hands while its GO is open, closed, confirmed or ordered: until the
items arrive and are packed per buyer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from core import policy as policies
from core.db.models import GroupOrder, Handover, Identity, Order, PaymentRequest, User
from core.db.raw import Plan, Statement, run_session
from core.errors import (
    AlreadyChanged,
    BuyerLimitReached,
    InvalidInput,
    NotFound,
    OrderLocked,
    PermissionDenied,
)
from core.lookups import load_order, lock_order
from core.money import format_money
from core.orders import end_order, facts_of
from core.payments import handover_money, ledger
from core.payments.status import PAYABLE, RequestKind, RequestStatus
from core.reservations import NO_LIMIT, QUOTA_RELEASE, QUOTA_STATE, QUOTA_TAKE, GoFacts, quota_refusal
from core.services.accounts import MAX_NAME, Actor, require_admin
from core.services.waitlist import promote_waitlist
from core.status import HANDOVER_OPEN, ORDER_LIVE, GOStatus, HandoverStatus, OrderStatus
from core.transitions import transition
from core.uow import UnitOfWork
from core.when import local_text

OFFER_HOURS = 24  # how long an offer waits for the recipient's answer
# GO statuses in which a claim may change hands: before the items are packed per buyer
HANDOVER_GO = frozenset({GOStatus.OPEN, GOStatus.CLOSED, GOStatus.CONFIRMED, GOStatus.ORDERED})
USAGE = "/handover ORDER @buyer"


@dataclass(frozen=True)
class HandoverView:
    id: int
    number: str
    go_code: str
    giver: str
    recipient: str
    status: str
    units: int
    total: str  # what the claim's lines cost, at their locked prices
    paid: str  # what the giver had paid ("" for an unpaid claim)
    fee: str
    refund: str
    expires: str  # when an offer lapses, in the GO's timezone
    due: str  # when the recipient's payment is due ("" if nothing is owed)
    mine_to_answer: bool  # the person shown it is the recipient of an open offer
    mine_to_cancel: bool  # the person shown it is the giver of an open offer


async def offer_handover(uow: UnitOfWork, actor: Actor, number: str, who: str) -> HandoverView:
    """The claim's buyer offers it to the person named by ``who`` (@handle)."""
    async with uow:
        order = await load_order(uow, number, lock=True)
        go = await uow.session.get_one(GroupOrder, order.go_id)  # locked with the order
        if order.buyer_id != actor.user_id:
            raise PermissionDenied(
                "%(number)s is not your order; only its buyer can hand it over.", number=order.number
            )
        await _require_transferable(uow, go, order)
        recipient = await _person(uow, who, actor)
        if recipient.id == actor.user_id:
            raise InvalidInput("You already hold this order; name the buyer who should take it.")
        await _require_room(uow, go, order, recipient)
        handover = Handover(
            order_id=order.id,
            go_id=go.id,
            giver_id=actor.user_id,
            recipient_id=recipient.id,
            status=HandoverStatus.OFFERED,
            units=order.units,
            paid_minor=0,
            fee_minor=0,
            refund_minor=0,
            created_at=uow.now,
            expires_at=uow.now + timedelta(hours=OFFER_HOURS),
            updated_at=uow.now,
        )
        uow.session.add(handover)
        await uow.session.flush()
        uow.audit(
            actor_id=actor.user_id,
            entity="handover",
            entity_id=handover.id,
            action="offered",
            to_status=HandoverStatus.OFFERED,
            detail=f"{order.number} ({order.status}, {order.units} units, "
            f"{format_money(order.total_minor, order.currency)}) from {actor.name} "
            f"to {recipient.display_name}, answer by {handover.expires_at.isoformat()}",
        )
        _order_audit(uow, actor.user_id, order, "handover_offered", f"to {recipient.display_name}")
        await handover_money.tell(
            uow,
            handover,
            "offered",
            ("recipient",),
            {"expires": local_text(handover.expires_at, go.timezone)},
        )
        view = await _view(uow, handover, actor)
        await uow.commit()
        return view


async def answer_handover(uow: UnitOfWork, actor: Actor, handover_id: str, accept: bool) -> HandoverView:
    """The recipient accepts (the claim moves) or declines an offer made to them."""
    async with uow:
        handover, order, go = await _locked(uow, handover_id)
        if handover.recipient_id != actor.user_id:
            raise PermissionDenied("That handover offer was not made to you.")
        _require_offered(handover, uow)
        if not accept:
            await transition(
                uow, handover, HandoverStatus.DECLINED, actor_id=actor.user_id, detail="declined"
            )
            _order_audit(uow, actor.user_id, order, "handover_declined", f"by {actor.name}")
            await handover_money.tell(uow, handover, "declined", ("giver",))
        else:
            await _accept(uow, actor, handover, order, go)
        view = await _view(uow, handover, actor)
        await uow.commit()
        return view


async def cancel_handover(uow: UnitOfWork, actor: Actor, handover_id: str) -> HandoverView:
    """The giver takes an offer back before it is answered."""
    async with uow:
        handover, order, _ = await _locked(uow, handover_id)
        if handover.giver_id != actor.user_id:
            raise PermissionDenied("Only the buyer who offered that handover can cancel it.")
        _require_offered(handover, uow)
        await transition(uow, handover, HandoverStatus.CANCELLED, actor_id=actor.user_id, detail="cancelled")
        _order_audit(uow, actor.user_id, order, "handover_cancelled", f"by {actor.name}")
        await handover_money.tell(uow, handover, "cancelled", ("recipient",))
        view = await _view(uow, handover, actor)
        await uow.commit()
        return view


async def handovers_of(uow: UnitOfWork, actor: Actor, number: str | None = None) -> list[HandoverView]:
    """Open offers to and from ``actor``; or every handover of one order, for its buyer
    and the GO's team (the order's history)."""
    async with uow:
        query = select(Handover).order_by(Handover.id.desc()).limit(20)
        if number is None:
            mine = (Handover.giver_id == actor.user_id) | (Handover.recipient_id == actor.user_id)
            query = query.where(mine, Handover.status.in_(HANDOVER_OPEN))
        else:
            order = await load_order(uow, number)
            if order.buyer_id != actor.user_id:
                await require_admin(uow, actor, await uow.session.get_one(GroupOrder, order.go_id))
            query = query.where(Handover.order_id == order.id)
        return [await _view(uow, h, actor) for h in (await uow.session.scalars(query)).all()]


async def expire_offers(uow: UnitOfWork) -> int:
    """Offers nobody answered in time expire, and offers of an order that ended or changed
    hands meanwhile are withdrawn; each once however many ticks race."""
    async with uow:
        due = (
            await uow.session.scalars(
                select(Handover.id)
                .join(Order, Order.id == Handover.order_id)
                .where(
                    Handover.status == HandoverStatus.OFFERED,
                    (Handover.expires_at <= uow.now)
                    | Order.status.not_in(ORDER_LIVE)
                    | (Order.buyer_id != Handover.giver_id),
                )
                .order_by(Handover.id)
            )
        ).all()
    ended = 0
    for handover_id in due:
        async with uow:
            handover, order, _ = await _locked(uow, str(handover_id))
            if handover.status != HandoverStatus.OFFERED:
                continue  # answered, cancelled or expired by another tick meanwhile
            if order.status not in ORDER_LIVE or order.buyer_id != handover.giver_id:
                why, target = f"the order is {order.status}", HandoverStatus.CANCELLED
            elif handover.expires_at <= uow.now:
                why, target = "no answer in time", HandoverStatus.EXPIRED
            else:
                continue
            await transition(uow, handover, target, actor_id=None, detail=why)
            _order_audit(uow, None, order, f"handover_{target}", why)
            expired = target == HandoverStatus.EXPIRED
            roles = ("giver", "recipient") if expired else ("recipient",)
            await handover_money.tell(uow, handover, target.value, roles)
            await uow.commit()
            ended += 1
    return ended


async def lapse_unpaid(uow: UnitOfWork) -> int:
    """Paid claims whose recipient did not pay in time go back to their giver, paid as
    before; a handover whose order ended meanwhile is closed. Each once."""
    async with uow:
        waiting = (
            await uow.session.execute(
                select(Handover.id)
                .join(Order, Order.id == Handover.order_id)
                .join(PaymentRequest, PaymentRequest.id == Handover.request_id, isouter=True)
                .where(
                    Handover.status == HandoverStatus.AWAITING,
                    (Order.status.not_in(ORDER_LIVE))
                    | (PaymentRequest.id.is_(None))
                    | (PaymentRequest.status.in_([RequestStatus.EXPIRED, RequestStatus.VOID]))
                    | ((PaymentRequest.status == RequestStatus.OPEN) & (PaymentRequest.due_at <= uow.now)),
                )
                .order_by(Handover.id)
            )
        ).scalars()
        due = list(waiting)
    lapsed = 0
    for handover_id in due:
        async with uow:
            handover, order, go = await _locked(uow, str(handover_id))
            if handover.status != HandoverStatus.AWAITING:
                continue
            request = (
                None
                if handover.request_id is None
                else await ledger.locked(uow, PaymentRequest, handover.request_id)
            )
            if order.status not in ORDER_LIVE or order.buyer_id != handover.recipient_id:
                await transition(
                    uow, handover, HandoverStatus.VOID, actor_id=None, detail=f"order {order.status}"
                )
                await uow.commit()
                continue
            if request is not None and request.status in PAYABLE:
                if request.status != RequestStatus.OPEN or request.due_at > uow.now:
                    continue  # paid for, or a proof waits for the GOM: not lapsed
                await ledger.set_request_status(
                    uow, request, RequestStatus.EXPIRED, None, "the recipient did not pay in time"
                )
            elif request is not None and request.status == RequestStatus.PAID:
                continue  # settled meanwhile
            await _give_back(uow, go, order, handover)
            await uow.commit()
            lapsed += 1
    return lapsed


# --- the move -----------------------------------------------------------------------------


async def _accept(uow: UnitOfWork, actor: Actor, handover: Handover, order: Order, go: GroupOrder) -> None:
    await _require_transferable(uow, go, order, giver_id=handover.giver_id, offered=handover.id)
    if order.units != handover.units:
        raise OrderLocked(
            "%(number)s changed since it was offered; ask for a new offer.", number=order.number
        )
    await run_session(uow.session, _move_quota(facts_of(go), handover.giver_id, actor.user_id, order.units))
    last_request = await uow.session.scalar(
        select(func.max(PaymentRequest.id)).where(PaymentRequest.order_id == order.id)
    )
    due = uow.now + timedelta(hours=go.payment_window_hours)
    values: dict[str, object] = {"giver_request_id": last_request}
    if order.status == OrderStatus.PLACED:
        for request in await _open_requests(uow, order):  # asked of the giver, with the old window
            await ledger.set_request_status(uow, request, RequestStatus.VOID, actor.user_id, "handed over")
        target = HandoverStatus.DONE
    else:
        payments = await handover_money.paid_payments(uow, await _request_ids(uow, order))
        paid = sum(p.amount_minor for p in payments)
        policy = await policies.policy_of(uow, go)
        fee = min(max(0, policy.backout_fee_minor), paid)
        values |= {"paid_minor": paid, "fee_minor": fee, "refund_minor": paid - fee}
        target = HandoverStatus.AWAITING
    giver = order.buyer_id
    order.buyer_id = actor.user_id
    order.channel = actor.channel
    order.updated_at = uow.now
    if order.status == OrderStatus.PLACED:
        order.payment_due_at = due
    else:
        await uow.session.flush()
        request = await ledger.open_request(uow, order, RequestKind.ITEMS, order.total_minor, due_at=due)
        values["request_id"] = request.id
    await transition(
        uow,
        handover,
        target,
        actor_id=actor.user_id,
        detail=f"{order.number}: {order.units} units from user {giver} to {actor.name}; "
        f"quota moved; due {due.isoformat()}"
        + (
            f"; giver paid {values['paid_minor']}, fee {values['fee_minor']}, "
            f"refund {values['refund_minor']} once the recipient pays (minor units)"
            if target == HandoverStatus.AWAITING
            else ""
        ),
        also=values,
    )
    _order_audit(uow, actor.user_id, order, "handed_over", f"to {actor.name} ({target})")
    extra = {"due": local_text(due, go.timezone), "total": format_money(order.total_minor, order.currency)}
    await handover_money.tell(uow, handover, "accepted", ("giver", "recipient", "staff"), extra)


async def _give_back(uow: UnitOfWork, go: GroupOrder, order: Order, handover: Handover) -> None:
    """The recipient did not pay: the claim returns to its giver, who paid it already. If
    the giver's own limit no longer has room (they ordered more since), the claim is
    given up instead and the giver's money refunded in full."""
    try:
        await run_session(
            uow.session, _move_quota(facts_of(go), handover.recipient_id, handover.giver_id, order.units)
        )
    except BuyerLimitReached as refused:  # the giver's quota refused: nothing was taken
        await end_order(uow, order, OrderStatus.CANCELLED, None, reason=f"handover lapsed; {refused}")
        await transition(uow, handover, HandoverStatus.LAPSED, actor_id=None, detail=f"given up: {refused}")
        if go.status == GOStatus.OPEN:
            await promote_waitlist(uow, go)
        await handover_money.tell(uow, handover, "lapsed", ("giver", "recipient", "staff"))
        return
    order.buyer_id = handover.giver_id
    order.updated_at = uow.now
    await transition(
        uow,
        handover,
        HandoverStatus.LAPSED,
        actor_id=None,
        detail=f"{order.number} back to its giver (user {handover.giver_id}): the recipient did not pay",
    )
    _order_audit(uow, None, order, "handover_lapsed", "back to its giver")
    await handover_money.tell(uow, handover, "lapsed", ("giver", "recipient", "staff"))


def _move_quota(go: GoFacts, from_id: int, to_id: int, units: int) -> Plan[None]:
    """The receiver's quota takes ``units`` by one conditional statement, then the
    giver's gives them back; a refusal is worded from the receiver's quota as it stood."""
    limit = NO_LIMIT if go.per_buyer_limit is None else go.per_buyer_limit
    held = None if units > limit else (yield Statement(QUOTA_TAKE, (go.id, to_id, units, limit), "scalar"))
    if held is None:
        raise quota_refusal(go, (yield Statement(QUOTA_STATE, (go.id, to_id), "scalar")))
    yield Statement(QUOTA_RELEASE, (units, go.id, from_id))


# --- checks ----------------------------------------------------------------------------------


async def _require_transferable(
    uow: UnitOfWork, go: GroupOrder, order: Order, *, giver_id: int | None = None, offered: int = 0
) -> None:
    """The claim can change hands now: live, its GO not yet packing, nothing half-paid or
    waiting for review, and no other handover of it under way."""
    if order.status not in ORDER_LIVE:
        raise OrderLocked(
            "%(number)s is %(status)s; only a live order can be handed over.",
            number=order.number,
            status=order.status,
        )
    if giver_id is not None and order.buyer_id != giver_id:
        raise OrderLocked("%(number)s no longer belongs to the buyer who offered it.", number=order.number)
    if go.status not in HANDOVER_GO:
        raise OrderLocked(
            "%(code)s is %(status)s; a claim can change hands only until the items arrive.",
            code=go.code,
            status=go.status,
        )
    if await ledger.proof_pending(uow, order):
        raise OrderLocked(
            "%(number)s has a proof of payment waiting for review; ask the GOM first.", number=order.number
        )
    for request in await _open_requests(uow, order):
        if order.status == OrderStatus.PAID or await ledger.received(uow, request.id):
            raise OrderLocked(
                (
                    "%(number)s has money part paid or still owed (%(reference)s); settle it with "
                    "the GOM first."
                ),
                number=order.number,
                reference=request.reference,
            )
    other = await uow.session.scalar(
        select(Handover.id).where(
            Handover.order_id == order.id, Handover.status.in_(HANDOVER_OPEN), Handover.id != offered
        )
    )
    if other is not None:
        raise OrderLocked(
            "%(number)s is already being handed over (/handover %(number)s).", number=order.number
        )


async def _require_room(uow: UnitOfWork, go: GroupOrder, order: Order, recipient: User) -> None:
    """Refuse an offer the recipient's per-buyer limit could not take, with the numbers."""
    if go.per_buyer_limit is None:
        return
    held = await uow.session.scalar(
        select(func.coalesce(func.sum(Order.units), 0)).where(
            Order.go_id == go.id, Order.buyer_id == recipient.id, Order.status.in_(ORDER_LIVE)
        )
    )
    left = max(0, go.per_buyer_limit - int(held or 0))
    if order.units > left:
        raise InvalidInput(
            (
                "%(code)s allows %(per_buyer_limit)s per buyer; %(display_name)s holds %(held)s, "
                "so can take %(left)s more, and %(number)s is %(units)s."
            ),
            code=go.code,
            per_buyer_limit=go.per_buyer_limit,
            display_name=recipient.display_name,
            held=int(held or 0),
            left=left,
            number=order.number,
            units=order.units,
        )


def _require_offered(handover: Handover, uow: UnitOfWork) -> None:
    if handover.status != HandoverStatus.OFFERED:
        raise AlreadyChanged("That handover was already %(status)s.", status=handover.status)
    if handover.expires_at <= uow.now:
        raise OrderLocked("That handover offer has expired; ask for a new one.")


async def _person(uow: UnitOfWork, who: str, actor: Actor) -> User:
    """The one person known as @handle (the @ may be left out): on the asker's own platform
    first, then on any."""
    handle = who.strip().lstrip("@").lower()[:MAX_NAME]
    if not handle:
        raise InvalidInput("Name the buyer by their @handle: %(usage)s", usage=USAGE)
    for channel in (actor.channel, None):
        query = (
            select(User)
            .join(Identity, Identity.user_id == User.id)
            .where(func.lower(Identity.handle) == handle, Identity.kind == "person")
        )
        if channel is not None:
            query = query.where(Identity.channel == channel)
        found = list((await uow.session.scalars(query.distinct().limit(2))).all())
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InvalidInput(
                "More than one person wrote as @%(handle)s; ask them which account to use.", handle=handle
            )
    raise NotFound(
        "gomflow knows nobody as @%(handle)s; they need to message gomflow once first.", handle=handle
    )


# --- reading -----------------------------------------------------------------------------


async def _locked(uow: UnitOfWork, handover_id: str) -> tuple[Handover, Order, GroupOrder]:
    """The handover, with its GO and order locked first (the global lock order)."""
    cleaned = handover_id.strip().lstrip("#")
    if not cleaned.isdigit() or len(cleaned) > 9:
        raise InvalidInput("Give the handover's number, as in the message: /handover accept 12.")
    order_id = await uow.session.scalar(select(Handover.order_id).where(Handover.id == int(cleaned)))
    if order_id is None:
        raise NotFound("There is no handover %(cleaned)s.", cleaned=cleaned)
    order = await lock_order(uow, order_id)
    go = await uow.session.get_one(GroupOrder, order.go_id)
    handover = await uow.session.scalar(
        select(Handover)
        .where(Handover.id == int(cleaned))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert handover is not None
    return handover, order, go


async def _open_requests(uow: UnitOfWork, order: Order) -> list[PaymentRequest]:
    return list(
        (
            await uow.session.scalars(
                select(PaymentRequest).where(
                    PaymentRequest.order_id == order.id, PaymentRequest.status.in_(PAYABLE)
                )
            )
        ).all()
    )


async def _request_ids(uow: UnitOfWork, order: Order) -> list[int]:
    return list(
        (
            await uow.session.scalars(select(PaymentRequest.id).where(PaymentRequest.order_id == order.id))
        ).all()
    )


def _order_audit(uow: UnitOfWork, actor_id: int | None, order: Order, action: str, detail: str) -> None:
    """The order's own history shows every step of its handovers."""
    uow.audit(actor_id=actor_id, entity="order", entity_id=order.id, action=action, detail=detail)


async def _view(uow: UnitOfWork, handover: Handover, viewer: Actor) -> HandoverView:
    order = await uow.session.get_one(Order, handover.order_id)
    go = await uow.session.get_one(GroupOrder, handover.go_id)
    names = await handover_money.names_of(uow, handover)
    request = (
        None if handover.request_id is None else await uow.session.get(PaymentRequest, handover.request_id)
    )
    owed = handover.status == HandoverStatus.DONE and order.status == OrderStatus.PLACED
    due = order.payment_due_at if owed else (request.due_at if request is not None else None)
    offered = handover.status == HandoverStatus.OFFERED

    def money(minor: int) -> str:
        return format_money(minor, order.currency)

    return HandoverView(
        id=handover.id,
        number=order.number,
        go_code=go.code,
        giver=names.get(handover.giver_id, "?"),
        recipient=names.get(handover.recipient_id, "?"),
        status=handover.status,
        units=handover.units,
        total=money(order.total_minor),
        paid=money(handover.paid_minor) if handover.paid_minor else "",
        fee=money(handover.fee_minor) if handover.fee_minor else "",
        refund=money(handover.refund_minor) if handover.paid_minor else "",
        expires=local_text(handover.expires_at, go.timezone),
        due=local_text(due, go.timezone)
        if due is not None
        and handover.status
        in (
            HandoverStatus.DONE,
            HandoverStatus.AWAITING,
        )
        else "",
        mine_to_answer=offered and handover.recipient_id == viewer.user_id,
        mine_to_cancel=offered and handover.giver_id == viewer.user_id,
    )
