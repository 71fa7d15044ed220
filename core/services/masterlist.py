"""The masterlist: the public list of a GO's claims that GOMs post for transparency.

Each claim reads under the buyer's label (``core.services.nicknames``: their nickname or
``Buyer #N``, never a name, handle or contact), with the item, its version, the quantity
and where its payment stands. A GOM (or their team) reads it (``/masterlist CODE``),
exports it as CSV or PNG pages, or posts it to the GO's linked channels.

A posted masterlist is kept up to date without anyone asking (DESIGN rule 3: the state is
in the database, the scheduler only ticks). Each tick reads every live post's list and
compares its digest with what was last sent; when they differ, one outbox message is
queued for that post, unless one is already waiting. The message carries no text: the
dispatcher renders the list from the database when it sends it (``live_message``), so a
drop of 500 orders between two ticks costs one edit, not 500. The first send posts the
list and records the platform's message ids (``record_delivery``); later ones edit those
messages in place where the platform can (Telegram, Discord), and elsewhere post a new
list at most every ``REPOST_EVERY``. Queueing is a compare-and-set on the post's
``refreshes`` counter, whose value is in the message's dedupe key, so two ticks at once
(two workers) queue one refresh.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from core.db.models import (
    GroupOrder,
    Identity,
    Item,
    LinkedChannel,
    MasterlistPost,
    Order,
    OrderLine,
    OutboxMessage,
    Payment,
    PaymentRequest,
    Variant,
)
from core.db.upsert import insert_ignoring_conflict
from core.errors import InvalidInput, NotFound
from core.lookups import load_go
from core.outbox import NOTICE
from core.payments.status import AttemptStatus, RequestStatus
from core.permissions import Permission
from core.services.accounts import Actor, require_admin
from core.services.masterlist_image import draw_page
from core.services.nicknames import labels_for
from core.services.report_files import BOM, guarded
from core.services.reports import SPREADSHEET
from core.status import GOStatus, OrderStatus
from core.uow import UnitOfWork

TEMPLATE = "masterlist"
LIVE = "live"
STOPPED = "stopped"
# A platform that cannot edit a message gets a new list no more often than this.
REPOST_EVERY = timedelta(hours=6)
# After a post's message failed for good, the scheduler waits this long before another.
FAILED_PAUSE = timedelta(hours=1)
# A GO that ended (completed, cancelled, failed) this long ago is no longer read every tick.
SETTLED_AFTER = timedelta(days=3)
ENDED = (GOStatus.COMPLETED, GOStatus.CANCELLED, GOStatus.FAILED)
ROWS_PER_IMAGE = 50
# Claims shown: the ones holding a slot, and the refunded (their money went back).
SHOWN = (OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.REFUNDED)
UNSENT = ("pending", "waiting")


@dataclass(frozen=True)
class MasterRow:
    label: str
    item: str
    version: str
    quantity: int
    status: str  # unpaid, checking, part paid, paid, refunded


@dataclass(frozen=True)
class Masterlist:
    code: str
    title: str
    rows: tuple[MasterRow, ...]

    @property
    def buyers(self) -> int:
        return len({row.label for row in self.rows})

    @property
    def units(self) -> int:
        return sum(row.quantity for row in self.rows if row.status != "refunded")

    @property
    def paid_units(self) -> int:
        return sum(row.quantity for row in self.rows if row.status == "paid")

    def context(self) -> dict[str, Any]:
        """What the ``masterlist`` template reads (plain values: it is also JSON)."""
        return {
            "code": self.code,
            "title": self.title,
            "rows": [asdict(row) for row in self.rows],
            "buyers": self.buyers,
            "units": self.units,
            "paid_units": self.paid_units,
        }

    @property
    def digest(self) -> str:
        """The same for two lists that read the same, whatever was asked to produce them."""
        content = json.dumps(self.context(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(content.encode()).hexdigest()


@dataclass(frozen=True)
class PostedView:
    code: str
    channels: int  # linked channels the list now lives in
    queued: int  # of them, how many get it (or a refresh) now; others have one on its way


@dataclass(frozen=True)
class ImagePage:
    filename: str
    png: bytes
    page: int
    pages: int
    code: str


@dataclass(frozen=True)
class LiveMessage:
    """A post's message as it must read now, and what shows it on the platform so far."""

    context: dict[str, Any]
    digest: str
    message_ids: list[str]


async def read_masterlist(uow: UnitOfWork, go: GroupOrder) -> Masterlist:
    """The GO's masterlist as the database has it now, in the caller's transaction."""
    labels = await labels_for(uow, go.id)
    lines = (
        await uow.session.execute(
            select(Order.id, Order.buyer_id, Order.status, OrderLine.quantity, Item.name, Variant.name)
            .select_from(Order)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Item, Item.id == OrderLine.item_id)
            .outerjoin(Variant, Variant.id == OrderLine.variant_id)
            .where(Order.go_id == go.id, Order.status.in_([s.value for s in SHOWN]))
            .order_by(Order.id, OrderLine.id)
        )
    ).all()
    placed = Order.go_id == go.id, Order.status == OrderStatus.PLACED
    part_paid = set(
        (
            await uow.session.execute(
                select(PaymentRequest.order_id)
                .join(Payment, Payment.request_id == PaymentRequest.id)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(*placed, Payment.status == AttemptStatus.SUCCEEDED)
                .group_by(PaymentRequest.order_id)
                .having(func.sum(Payment.amount_minor) > 0)
            )
        ).scalars()
    )
    checking = set(
        (
            await uow.session.execute(
                select(PaymentRequest.order_id)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(*placed, PaymentRequest.status == RequestStatus.REVIEW)
            )
        ).scalars()
    )
    rows = tuple(
        MasterRow(
            labels.get(buyer_id, "Buyer"),
            item,
            version or "",
            quantity,
            _payment_status(order_id, status, part_paid, checking),
        )
        for order_id, buyer_id, status, quantity, item, version in lines
    )
    return Masterlist(go.code, go.title, rows)


def _payment_status(order_id: int, status: str, part_paid: set[int], checking: set[int]) -> str:
    if status == OrderStatus.PAID:
        return "paid"
    if status == OrderStatus.REFUNDED:
        return "refunded"
    if order_id in part_paid:
        return "part paid"
    if order_id in checking:
        return "checking"
    return "unpaid"


async def show_masterlist(uow: UnitOfWork, actor: Actor, go_code: str) -> Masterlist:
    """``/masterlist CODE``: the list as it would be posted, for the GO's team."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        return await read_masterlist(uow, go)


async def masterlist_csv(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[str, bytes]:
    """``/masterlist CODE csv``: one row per claimed line; UTF-8 with a BOM for spreadsheets."""
    masterlist = await show_masterlist(uow, actor, go_code)
    return f"{masterlist.code}-masterlist.csv", csv_bytes(masterlist)


def csv_bytes(masterlist: Masterlist) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, SPREADSHEET)
    writer.writerow(["#", "buyer", "item", "version", "quantity", "payment"])
    writer.writerows(
        (n, guarded(row.label), guarded(row.item), guarded(row.version), row.quantity, row.status)
        for n, row in enumerate(masterlist.rows, start=1)
    )
    return BOM + text.getvalue().encode()


async def masterlist_image(uow: UnitOfWork, actor: Actor, go_code: str, page: int = 1) -> ImagePage:
    """``/masterlist CODE image [PAGE]``: one PNG page of ``ROWS_PER_IMAGE`` claims."""
    masterlist = await show_masterlist(uow, actor, go_code)
    pages = max(1, -(-len(masterlist.rows) // ROWS_PER_IMAGE))
    if not 1 <= page <= pages:
        raise InvalidInput(
            "The masterlist of %(code)s has %(pages)s image page(s); ask for 1 to %(pages)s.",
            code=masterlist.code,
            pages=pages,
        )
    start = (page - 1) * ROWS_PER_IMAGE
    summary = (
        f"{len(masterlist.rows)} claim(s) · {masterlist.buyers} buyer(s) · {masterlist.units} unit(s), "
        f"{masterlist.paid_units} paid · page {page} of {pages}"
    )
    rows = [
        (row.label, f"{row.item} ({row.version})" if row.version else row.item, row.quantity, row.status)
        for row in masterlist.rows[start : start + ROWS_PER_IMAGE]
    ]
    png = draw_page(f"{masterlist.code} · {masterlist.title}", summary, rows, start + 1)
    return ImagePage(f"{masterlist.code}-masterlist-{page}.png", png, page, pages, masterlist.code)


async def post_masterlist(uow: UnitOfWork, actor: Actor, go_code: str) -> PostedView:
    """``/masterlist CODE post``: the list goes to every confirmed linked channel, and from
    then on is kept up to date there. Posting again where it lives refreshes it now."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor.acting_for(Permission.BROADCASTS), go)
        linked = (
            await uow.session.execute(
                select(LinkedChannel.identity_id, Identity.reachable)
                .join(Identity, Identity.id == LinkedChannel.identity_id)
                .where(LinkedChannel.go_id == go.id, LinkedChannel.status == "confirmed")
                .order_by(LinkedChannel.id)
            )
        ).all()
        identity_ids = [identity_id for identity_id, reachable in linked if reachable]
        if not linked:
            raise NotFound(
                (
                    "No channel is linked to %(code)s, so there is nowhere to post its masterlist. "
                    "Link one with /linkchannel %(code)s PLATFORM TARGET first."
                ),
                code=go.code,
            )
        if not identity_ids:
            raise NotFound(
                (
                    "gomflow can no longer post in the channels linked to %(code)s (was the bot "
                    "removed?). Add it back, then /linkchannel %(code)s PLATFORM TARGET again."
                ),
                code=go.code,
            )
        queued = 0
        for identity_id in identity_ids:
            await uow.session.execute(
                insert_ignoring_conflict(
                    uow.session,
                    MasterlistPost,
                    {
                        "go_id": go.id,
                        "identity_id": identity_id,
                        "status": LIVE,
                        "message_ids": "[]",
                        "refreshes": 0,
                        "created_by": actor.user_id,
                        "created_at": uow.now,
                    },
                    ["go_id", "identity_id"],
                )
            )
            await uow.session.execute(
                update(MasterlistPost)
                .where(MasterlistPost.go_id == go.id, MasterlistPost.identity_id == identity_id)
                .values(status=LIVE)
            )
            post = await uow.session.scalar(
                select(MasterlistPost)
                .where(MasterlistPost.go_id == go.id, MasterlistPost.identity_id == identity_id)
                .execution_options(populate_existing=True)
            )
            assert post is not None
            queued += await _queue_refresh(uow, post.id, post.refreshes)
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="masterlist_post",
            detail=f"channels={len(identity_ids)} queued={queued}",
        )
        await uow.commit()
    return PostedView(go.code, len(identity_ids), queued)


async def stop_masterlist(uow: UnitOfWork, actor: Actor, go_code: str) -> int:
    """``/masterlist CODE stop``: the posted lists stay as they are, no longer refreshed.
    Returns how many were live."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor.acting_for(Permission.BROADCASTS), go)
        result = await uow.session.execute(
            update(MasterlistPost)
            .where(MasterlistPost.go_id == go.id, MasterlistPost.status == LIVE)
            .values(status=STOPPED)
        )
        stopped = int(getattr(result, "rowcount", 0) or 0)
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="masterlist_stop",
            detail=f"posts={stopped}",
        )
        await uow.commit()
    return stopped


async def _queue_refresh(uow: UnitOfWork, post_id: int, seen: int) -> int:
    """Queue the post's next message unless one is waiting; 1 if this call queued it.

    The compare-and-set on ``refreshes`` lets one of two callers at once through; the
    other's message would carry the same dedupe key anyway.
    """
    waiting = await uow.session.scalar(
        select(OutboxMessage.id)
        .where(OutboxMessage.masterlist_post_id == post_id, OutboxMessage.status.in_(UNSENT))
        .limit(1)
    )
    if waiting is not None:
        return 0
    won = await uow.session.execute(
        update(MasterlistPost)
        .where(MasterlistPost.id == post_id, MasterlistPost.refreshes == seen)
        .values(refreshes=seen + 1)
    )
    if getattr(won, "rowcount", 0) != 1:
        return 0
    identity_id = await uow.session.scalar(
        select(MasterlistPost.identity_id).where(MasterlistPost.id == post_id)
    )
    await uow.session.execute(
        insert_ignoring_conflict(
            uow.session,
            OutboxMessage,
            {
                "dedupe_key": f"masterlist:{post_id}:{seen + 1}",
                "identity_id": identity_id,
                "template": TEMPLATE,
                "context": "{}",  # rendered from the database when it is sent
                "priority": NOTICE,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": uow.now,
                "created_at": uow.now,
                "masterlist_post_id": post_id,
            },
            ["dedupe_key"],
        )
    )
    uow.mark_queued()
    return 1


async def refresh_masterlists(uow: UnitOfWork) -> int:
    """The scheduler's job: queue a refresh for every live post whose list changed since
    it was last sent (see the module doc); a GO that ended days ago is left alone. Returns
    how many were queued."""
    async with uow:
        posts = (
            await uow.session.execute(
                select(MasterlistPost, GroupOrder)
                .join(GroupOrder, GroupOrder.id == MasterlistPost.go_id)
                .join(Identity, Identity.id == MasterlistPost.identity_id)
                .where(MasterlistPost.status == LIVE, Identity.reachable.is_(True))
                .where(
                    or_(
                        GroupOrder.status.not_in([s.value for s in ENDED]),
                        GroupOrder.updated_at > uow.now - SETTLED_AFTER,
                    )
                )
                .order_by(MasterlistPost.id)
            )
        ).all()
        digests: dict[int, str] = {}
        queued = 0
        for post, go in posts:
            if go.id not in digests:
                digests[go.id] = (await read_masterlist(uow, go)).digest
            if digests[go.id] == post.digest:
                continue
            if post.editable is False and post.sent_at is not None and uow.now - post.sent_at < REPOST_EVERY:
                continue
            if await _failed_lately(uow, post.id):
                continue
            queued += await _queue_refresh(uow, post.id, post.refreshes)
        await uow.commit()
    return queued


async def _failed_lately(uow: UnitOfWork, post_id: int) -> bool:
    last = (
        await uow.session.execute(
            select(OutboxMessage.status, OutboxMessage.created_at)
            .where(OutboxMessage.masterlist_post_id == post_id)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    ).first()
    return last is not None and last[0] == "failed" and uow.now - last[1] < FAILED_PAUSE


async def live_message(uow: UnitOfWork, post_id: int) -> LiveMessage | None:
    """For the dispatcher, at send time: the post's list as it reads now and the platform's
    ids of the messages showing it; None when the post was stopped or is gone."""
    async with uow:
        post = await uow.session.get(MasterlistPost, post_id)
        if post is None or post.status != LIVE:
            return None
        go = await uow.session.get_one(GroupOrder, post.go_id)
        masterlist = await read_masterlist(uow, go)
        return LiveMessage(masterlist.context(), masterlist.digest, list(json.loads(post.message_ids)))


async def record_delivery(
    uow: UnitOfWork, post_id: int, message_ids: Sequence[str], digest: str, *, editable: bool
) -> None:
    """For the dispatcher, once the platform accepted it: what shows the post now."""
    async with uow:
        values: dict[str, Any] = {"digest": digest, "editable": editable, "sent_at": uow.now}
        if editable:
            values["message_ids"] = json.dumps(list(message_ids))
        await uow.session.execute(update(MasterlistPost).where(MasterlistPost.id == post_id).values(**values))
        await uow.commit()
