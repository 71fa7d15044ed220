"""The database schema as typed SQLAlchemy mapped classes.

Counters that concurrent buyers race on (``reserved_units``, ``reserved``) live on the
row they limit, so one conditional UPDATE both checks and takes them (DESIGN rule 4).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.db.types import EncryptedBytes, EncryptedText, UTCDateTime


class Base(DeclarativeBase):
    pass


class User(Base):
    """One person, whatever chat apps they use. GOMs are users with ``is_gom``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(120))
    is_gom: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Muted buyers get no promotional broadcasts; messages about their own orders still go.
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Where notifications go first (/prefer): a channel name, or None for where they last wrote.
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    # The per-buyer limit a GOM's new group orders get when none is given (/defaults).
    default_buyer_limit: Mapped[int | None] = mapped_column(Integer)
    # What the masterlist shows for this buyer (/nickname), never their name or contact;
    # ``nickname_key`` is its case-folded form, which two buyers of one GO are compared by.
    nickname: Mapped[str | None] = mapped_column(String(40))
    nickname_key: Mapped[str | None] = mapped_column(String(80))
    # The language their messages are written in (core.languages): from their platform at
    # first contact, or /language; None until something says, which reads as English.
    language: Mapped[str | None] = mapped_column(String(8))


class Identity(Base):
    """How a user is reached on one channel: a Telegram id, a phone number, an address."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(320))
    handle: Mapped[str | None] = mapped_column(String(120), index=True)
    # When the person last wrote with this handle: handles change hands, so only a recent
    # one names its holder (an old one may since belong to someone else).
    handle_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "person", or "group" for a group chat, channel or mailing list linked to a GO.
    kind: Mapped[str] = mapped_column(String(10), default="person", server_default="person")
    # When the person last wrote to us here: WhatsApp takes free-form messages only within
    # 24 hours of it (the customer-service window), templates at any time.
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The phone number or email address of an SMS, WhatsApp or email identity, sealed;
    # ``external_id`` then holds its blind index (core.privacy.identities).
    address: Mapped[str | None] = mapped_column(EncryptedText("identities.address"))


class StaffMember(Base):
    """Who may administer a GOM's group orders: the GOM (owner) and their helpers."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("gom_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gom_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GroupOrder(Base):
    __tablename__ = "group_orders"
    __table_args__ = (
        CheckConstraint("reserved_units >= 0 AND reserved_units <= capacity", name="go_capacity"),
        CheckConstraint("moq >= 0 AND moq <= capacity", name="go_moq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    gom_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    moq: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    per_buyer_limit: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    payment_window_hours: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), index=True)
    reserved_units: Mapped[int] = mapped_column(Integer, default=0)
    order_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped by every edit that changes what an order reads of the GO (prices, limits,
    # retired items): an order whose facts were read before the edit is refused by the
    # same conditional UPDATE that takes its slots, and read again.
    catalogue_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # The language a buyer who has none of their own takes when they first order here
    # (the GOM's choice: /edit CODE language=th); None leaves them in English.
    language: Mapped[str | None] = mapped_column(String(8))

    items: Mapped[list[Item]] = relationship(
        back_populates="group_order", order_by="Item.position", lazy="raise"
    )


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("go_id", "code"),
        CheckConstraint("reserved >= 0 AND (stock IS NULL OR reserved <= stock)", name="item_stock"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int | None] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer)
    # Retired: kept for the orders that hold it, offered to nobody new.
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The price in the GO's price currency (``GOMoney.source_currency``), when it has one:
    # ``price_minor`` is then this converted at the GO's current rate.
    source_price_minor: Mapped[int | None] = mapped_column(BigInteger)

    group_order: Mapped[GroupOrder] = relationship(back_populates="items", lazy="raise")
    variants: Mapped[list[Variant]] = relationship(
        back_populates="item", order_by="Variant.position", lazy="raise"
    )


class Variant(Base):
    """An album version or a member: its item's price unless it has its own, optionally its own stock."""

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("item_id", "code"),
        CheckConstraint("reserved >= 0 AND (stock IS NULL OR reserved <= stock)", name="variant_stock"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    stock: Mapped[int | None] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer)
    # None: the item's price. Album versions often cost differently.
    price_minor: Mapped[int | None] = mapped_column(BigInteger)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Its own price in the GO's price currency, when it has one (None: the item's).
    source_price_minor: Mapped[int | None] = mapped_column(BigInteger)

    item: Mapped[Item] = relationship(back_populates="variants", lazy="raise")


class BuyerQuota(Base):
    """Units one buyer holds in one GO, so the per-buyer limit is one conditional UPDATE."""

    __tablename__ = "buyer_quotas"
    __table_args__ = (CheckConstraint("reserved >= 0", name="quota_nonnegative"),)

    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_go_status", "go_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id"), index=False)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    units: Mapped[int] = mapped_column(Integer)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(20))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payment_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", lazy="raise")


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="line_quantity"),
        CheckConstraint("short_units >= 0 AND short_units <= quantity", name="line_short"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    # Units the supplier never delivered (a shortfall): the buyer gets ``quantity`` less these.
    short_units: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class WaitlistEntry(Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (Index("ix_waitlist_go_status", "go_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(20))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who changed what, when: every status change of a GO, order or payment."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    detail: Mapped[str] = mapped_column(Text, default="")


class Conversation(Base):
    """A multi-step chat flow in progress, kept here so a restart loses nothing."""

    __tablename__ = "conversations"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message to send after the transaction that caused it commits (DESIGN rule 6)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "priority", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    template: Mapped[str] = mapped_column(String(60))
    context: Mapped[str] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # pending, sent, failed; or waiting: outside the recipient's customer-service window with
    # no approved template for it, until they write again (core.services.service_window)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL"), index=True
    )
    # What the platform last reported after accepting it (Twilio's status callback):
    # sent, delivered, read, undelivered or failed, with the platform's error code.
    delivery_status: Mapped[str | None] = mapped_column(String(12))
    delivery_error: Mapped[int | None] = mapped_column(Integer)
    # An edit-in-place message (a masterlist post): rendered from the database when it is
    # sent, posted the first time and edited after (core.services.masterlist).
    masterlist_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("masterlist_posts.id", ondelete="CASCADE", name="fk_outbox_masterlist_post_id"), index=True
    )


class ProcessedInbound(Base):
    """Inbound ids already handled: update ids, MessageSids, Message-IDs, event ids."""

    __tablename__ = "processed_inbound"

    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallbackPayload(Base):
    """A button's payload too long for a chat platform's callback field, kept behind a short token."""

    __tablename__ = "callback_payloads"

    token: Mapped[str] = mapped_column(String(24), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentSettings(Base):
    """Which payment methods one GO accepts, as JSON: ``[{"method": "paynow", "target": "+65…"}]``."""

    __tablename__ = "payment_settings"

    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), primary_key=True)
    # Payout details (PayNow numbers, bank accounts): sealed at rest.
    methods: Mapped[str] = mapped_column(EncryptedText("payment_settings.methods"), default="[]")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentRequest(Base):
    """One amount an order owes: its items, later its shipping, or an adjustment."""

    __tablename__ = "payment_requests"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="payreq_amount"),
        Index("ix_payreq_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))
    reference: Mapped[str] = mapped_column(String(25), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The cents added (or taken) to make ``amount_minor`` unique among the GOM's open
    # requests (``core.payments.unique_amounts``); 0 when the GO does not ask for it.
    adjust_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))


class Payment(Base):
    """One attempt to pay a request through one provider, with its idempotency key."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("provider", "provider_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_requests.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    charge_ref: Mapped[str | None] = mapped_column(String(200))
    checkout_url: Mapped[str | None] = mapped_column(Text)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The bundle this money was paid against (one payment for several orders), if any.
    bundle_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_bundles.id", ondelete="SET NULL", name="fk_payments_bundle_id"), index=True
    )
    # The method's pass-through fee included in ``amount_minor`` (a card surcharge): paid
    # by the buyer on top of what the request asks, never credited to the request.
    surcharge_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))


class PaymentProof(Base):
    """A buyer's screenshot or typed reference of a transfer, waiting for the GOM's review."""

    __tablename__ = "payment_proofs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_requests.id", ondelete="CASCADE"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reference: Mapped[str] = mapped_column(String(200), default="")
    # What the buyer says arrived (the request's amount unless they stated another);
    # approving credits exactly this, in the request's currency.
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    image: Mapped[bytes | None] = mapped_column(EncryptedBytes("payment_proofs.image"))
    mime_type: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the proof pays a bundle: approving shares it out over the bundle's orders
    # (``request_id`` is then the oldest of them, whose order the review locks first).
    bundle_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_bundles.id", ondelete="SET NULL", name="fk_payment_proofs_bundle_id"), index=True
    )
    # What the screenshot was read to say (``ProofReading.as_json``), its perceptual hash and
    # the bank's transaction id: "sent before?" is asked of both for every new proof.
    reading: Mapped[str | None] = mapped_column(Text)
    image_hash: Mapped[str | None] = mapped_column(String(16), index=True)
    txn_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # Who decided it: "policy" (approved automatically) or "human"; None while pending.
    decided_by: Mapped[str | None] = mapped_column(String(10))


class Refund(Base):
    """Money going back for one payment: through the gateway, or by hand with a reference."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LinkedChannel(Base):
    """A group chat, channel or mailing list that gets a GO's announcements.

    The destination is an identity of kind "group" (owned by the GOM who linked it), so
    the outbox addresses it like anyone else.
    """

    __tablename__ = "linked_channels"
    __table_args__ = (
        UniqueConstraint("go_id", "identity_id"),
        Index("ix_linked_channels_confirm_hash", "confirm_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "confirmed" gets announcements; "pending" waits for its confirmation link (email).
    status: Mapped[str] = mapped_column(String(10), default="confirmed", server_default="confirmed")
    # SHA-256 of the one-time confirmation token, and when it stops working.
    confirm_hash: Mapped[str | None] = mapped_column(String(64))
    confirm_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Broadcast(Base):
    """A GOM's message to an audience of a GO: awaiting confirmation, scheduled, or queued."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_due", "status", "send_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    audience: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundUpdate(Base):
    """An update a chat platform handed us (a Telegram update, by webhook or long polling).

    The row is committed before the platform is told we have it, and ``handled_at`` is
    set in the same transaction as the update's effect, so an acknowledged update is
    either still waiting here or handled, never lost (DESIGN rule 5).
    """

    __tablename__ = "inbound_updates"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class StaffInvite(Base):
    """A one-time code a GOM gives a helper: the sure way to add staff, whatever their handle.

    Only the code's SHA-256 is kept; redeeming is one conditional UPDATE on ``used_by``.
    """

    __tablename__ = "staff_invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gom_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkCode(Base):
    """A one-time code that joins another chat identity to this person (/link).

    Only the code's SHA-256 is kept; it is spent by one conditional UPDATE on ``used_at``.
    """

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkTries(Base):
    """How many link codes a person has typed in the current window: the guard against
    guessing, taken by one conditional upsert before a code is looked at."""

    __tablename__ = "link_tries"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    tries: Mapped[int] = mapped_column(Integer)
    window_until: Mapped[datetime] = mapped_column(UTCDateTime)


class ShippingOption(Base):
    """One way a GO's parcels reach buyers: pickup, local courier, registered or normal mail.

    ``fee_minor`` is the flat fee per parcel; ``tiers`` (``"500:350,1000:500"``, grams up to
    and fee in minor units) replaces it by weight when set.
    """

    __tablename__ = "shipping_options"
    __table_args__ = (
        UniqueConstraint("go_id", "code"),
        CheckConstraint("fee_minor >= 0", name="shipopt_fee"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(120))
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tiers: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PickupSlot(Base):
    """A meet-up place and time with room for ``capacity`` buyers, taken like stock."""

    __tablename__ = "pickup_slots"
    __table_args__ = (
        UniqueConstraint("option_id", "position"),
        CheckConstraint("reserved >= 0 AND reserved <= capacity", name="slot_capacity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("shipping_options.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class Address(Base):
    """A buyer's saved delivery address; shown only to them and the GOM (and helpers) of a GO
    whose parcel it is on."""

    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Sealed at rest (core.privacy): only the country is readable in the database.
    recipient: Mapped[str] = mapped_column(EncryptedText("addresses.recipient"))
    phone: Mapped[str] = mapped_column(EncryptedText("addresses.phone"))
    line1: Mapped[str] = mapped_column(EncryptedText("addresses.line1"))
    line2: Mapped[str] = mapped_column(EncryptedText("addresses.line2"), default="")
    postal_code: Mapped[str] = mapped_column(EncryptedText("addresses.postal_code"))
    country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Parcel(Base):
    """Everything one buyer ordered in one GO, shipped together for one fee."""

    __tablename__ = "parcels"
    __table_args__ = (UniqueConstraint("go_id", "buyer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("shipping_options.id"))
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_slots.id"))
    address_id: Mapped[int | None] = mapped_column(ForeignKey("addresses.id", ondelete="SET NULL"))
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    # The second payment request that asked for this parcel's fee (``/shipfees``), once opened.
    fee_request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_requests.id", ondelete="SET NULL"))
    carrier: Mapped[str | None] = mapped_column(String(20))
    tracking: Mapped[str | None] = mapped_column(String(40))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TrackingImport(Base):
    """A GOM's file of tracking numbers, checked and waiting for their confirmation.

    ``rows`` is JSON: ``[{"line": 2, "order": "SVT-FML-1", "carrier": "jnt", "tracking": "…"}]``.
    Confirming moves it from pending to applied (a compare-and-set), so it applies once.
    """

    __tablename__ = "tracking_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rows: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PackingLink(Base):
    """A link to a GO's printable packing page: only the token's SHA-256 is kept, and it
    stops working at ``expires_at``. Whoever holds it sees addresses: it is given only to
    the GO's GOM and helpers."""

    __tablename__ = "packing_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticePreference(Base):
    """How one GOM or helper wants to hear about their group orders.

    No row means the defaults: a GOM gets notices and a digest at ``DEFAULT_DIGEST_HOUR`` in
    the timezone of their newest GO; a helper gets nothing until they opt in (``/notices on``).
    """

    __tablename__ = "notice_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # local hour of the daily digest (0–23), or None for no digest
    digest_hour: Mapped[int | None] = mapped_column(Integer)
    # the IANA zone the digest hour is read in; None for the newest GO's
    timezone: Mapped[str | None] = mapped_column(String(64))
    # a helper who asked to be told what the GOM is told
    helper_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticeMute(Base):
    """A GO one GOM or helper no longer wants notices or digest lines about."""

    __tablename__ = "notice_mutes"
    __table_args__ = (UniqueConstraint("user_id", "go_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentBundle(Base):
    """One payment for all of a buyer's unpaid orders in a GO, as ``/myorders`` offered it:
    one total and one reference. What it covers, and how much of each, is what was shown
    (``BundleRequest``); money paid against it is shared out oldest order first, and once
    the orders no longer owe what was shown the bundle is refused, never mis-allocated."""

    __tablename__ = "payment_bundles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reference: Mapped[str] = mapped_column(String(25), unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BundleRequest(Base):
    """A payment request a bundle covers and what was still owed on it when offered."""

    __tablename__ = "bundle_requests"

    bundle_id: Mapped[int] = mapped_column(
        ForeignKey("payment_bundles.id", ondelete="CASCADE"), primary_key=True
    )
    request_id: Mapped[int] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="CASCADE"), primary_key=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class StatementImport(Base):
    """A bank statement export a GOM (or a helper) sent, read and matched, waiting for
    confirmation. The same file (``content_hash``) sent again by the same person is this
    import again, not a new one. Confirming moves it from pending to applied once (a
    compare-and-set)."""

    __tablename__ = "statement_imports"
    __table_args__ = (UniqueConstraint("author_id", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200), default="")
    layout: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10))
    lines: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatementLine(Base):
    """One credit of an import and what matching decided for it: the evidence kept for the
    books (``/reconcile``) once it pays a request (``payment_id``)."""

    __tablename__ = "statement_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("statement_imports.id", ondelete="CASCADE"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    posted_on: Mapped[str] = mapped_column(String(10))  # ISO date, as the bank dated it
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # the payer's name is often in it: sealed at rest
    description: Mapped[str] = mapped_column(EncryptedText("statement_lines.description"))
    fingerprint: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(12))  # matched, ambiguous, unmatched, applied, skipped
    how: Mapped[str] = mapped_column(String(20), default="")
    why: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="SET NULL"), index=True
    )
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"), index=True)


# A GO's orders in the order they were placed: a page of /orders, a chunk of /export and
# the keyset walk of a report read this index instead of sorting the whole GO.
Index("ix_orders_go_id", Order.go_id, Order.id)


class ProofPolicySetting(Base):
    """How a GOM's proofs are decided once read (``suggest``, ``auto``, ``off``): the GOM's
    default (``go_id`` 0) or one GO's own, which wins."""

    __tablename__ = "proof_policies"

    gom_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    go_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UniqueAmountSetting(Base):
    """A GO whose payment requests each ask a unique amount, off by at most ``max_minor``."""

    __tablename__ = "unique_amount_settings"

    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), primary_key=True)
    max_minor: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AmountClaim(Base):
    """One amount a GOM's open request asks in one currency: the primary key is what keeps
    two open requests from asking the same. A claim whose request is no longer payable is
    taken over by the next request that wants its amount."""

    __tablename__ = "amount_claims"

    gom_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="CASCADE"), unique=True
    )


class GOPolicySetting(Base):
    """A GO's rules (``core.policy``): the GOM's default (``go_id`` 0) or one GO's own, which
    wins. Money is in minor units of ``currency`` (a GO's own: the GO's currency);
    ``version`` counts the changes, so an agreement names the rules a buyer saw."""

    __tablename__ = "go_policies"

    gom_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    go_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    # payment reminder leads in minutes, longest first ("2880,1440,60"); "" for the configured one
    reminders: Mapped[str] = mapped_column(String(200), default="")
    late_fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    late_fee_cap_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    grace_minutes: Mapped[int] = mapped_column(Integer, default=0)
    backout: Mapped[str] = mapped_column(String(12))
    backout_fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shortfall_rule: Mapped[str] = mapped_column(String(12))
    shortfall_remedy: Mapped[str] = mapped_column(String(12))
    unclaimed: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PolicyAgreement(Base):
    """A buyer agreed to a GO's policy (the ``version`` they were shown) before ordering."""

    __tablename__ = "policy_agreements"

    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    agreed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BuyerBan(Base):
    """A buyer a GOM will not take orders from; the reason is for the GOM's team only."""

    __tablename__ = "buyer_bans"

    gom_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    banned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LateFee(Base):
    """The late fee one overdue payment request has run up: charged on a request of kind
    ``late_fee`` (``fee_request_id``) whose amount grows with ``days_charged``, each step a
    compare-and-set on ``days_charged``, so two ticks never charge one day twice."""

    __tablename__ = "late_fees"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="CASCADE"), primary_key=True
    )
    fee_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="SET NULL"), index=True
    )
    days_charged: Mapped[int] = mapped_column(Integer, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GOMoney(Base):
    """A GO's money terms beyond its prices: a price currency and its rate, the GOM's fee,
    surcharges per payment method, and a deposit or instalments.

    The rate is an exact ratio (``rate_num / rate_den`` of the GO's currency per one unit
    of ``source_currency``). ``surcharges`` is JSON: ``[{"method": "stripe", "fixed": 50,
    "bp": 340}]``. ``deposit_kind`` is "percent" (``deposit_value`` in basis points) or
    "per_unit" (minor units per unit), or None. ``instalment_dates`` are ISO dates, comma
    separated: the due dates of the parts after the first.
    """

    __tablename__ = "go_money"

    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), primary_key=True)
    source_currency: Mapped[str | None] = mapped_column(String(3))
    rate_num: Mapped[int | None] = mapped_column(BigInteger)
    rate_den: Mapped[int | None] = mapped_column(BigInteger)
    fee_fixed_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    fee_bp: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    surcharges: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    deposit_kind: Mapped[str | None] = mapped_column(String(10))
    deposit_value: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    balance_days: Mapped[int] = mapped_column(Integer, default=14, server_default=text("14"))
    instalment_dates: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderTerms(Base):
    """The rate and fee an order was placed under, written for every order of the GO that
    has none yet just before the GO's terms change (under the GO's row lock, which every
    order placement takes too). An order without a row was placed under the GO's current
    terms, so placing an order writes nothing more."""

    __tablename__ = "order_terms"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    source_currency: Mapped[str | None] = mapped_column(String(3))
    rate_num: Mapped[int | None] = mapped_column(BigInteger)
    rate_den: Mapped[int | None] = mapped_column(BigInteger)
    fee_fixed_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_bp: Mapped[int] = mapped_column(Integer, default=0)
    stamped_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Shortfall(Base):
    """A shortfall a GOM confirmed: what arrived, the rule and seed that chose who went
    short, the remedy, and what it came to (each buyer's part is in the audit log)."""

    __tablename__ = "shortfalls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rule: Mapped[str] = mapped_column(String(12))
    remedy: Mapped[str] = mapped_column(String(8))
    seed: Mapped[str] = mapped_column(String(64))
    # JSON: {"ALB:A": 3, …} the units the GOM said arrived
    received: Mapped[str] = mapped_column(Text)
    units_short: Mapped[int] = mapped_column(Integer)
    value_minor: Mapped[int] = mapped_column(BigInteger)
    refund_minor: Mapped[int] = mapped_column(BigInteger)
    credit_minor: Mapped[int] = mapped_column(BigInteger)
    owed_less_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreCreditBalance(Base):
    """What a buyer holds with one GOM in one currency: the sum of their entries, kept on
    one row so spending it is one conditional UPDATE (never below zero)."""

    __tablename__ = "store_credit_balances"
    __table_args__ = (CheckConstraint("balance_minor >= 0", name="credit_nonnegative"),)

    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    gom_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    balance_minor: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreCreditEntry(Base):
    """One movement of store credit, never changed: granted (a shortfall, a refund of
    money paid with credit), used by a payment, or adjusted by the GOM with a reason."""

    __tablename__ = "store_credit_entries"
    __table_args__ = (Index("ix_store_credit_entries_owner", "buyer_id", "gom_id", "currency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    gom_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # signed: + granted, - used
    kind: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    shortfall_id: Mapped[int | None] = mapped_column(ForeignKey("shortfalls.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Handover(Base):
    """A buyer's offer to hand one claim (an order) to another buyer, and what became of it.

    ``status`` moves only along ``core.status.HANDOVER_TRANSITIONS``, each step a
    compare-and-set. For a paid claim the recipient owes the GOM ``request_id`` and the
    giver's refund (``refund_minor``, what they paid less ``fee_minor``) is queued only
    when that request is paid; the order's payment requests up to ``giver_request_id``
    are the giver's money, whoever holds the order now.
    """

    __tablename__ = "handovers"
    __table_args__ = (Index("ix_handovers_status_expires", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"))
    giver_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    units: Mapped[int] = mapped_column(Integer)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_requests.id", ondelete="SET NULL"))
    giver_request_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Inclusion(Base):
    """One random photocard or pre-order benefit an item comes with. Buyers rank them by
    their number, which is their place in ``position`` order; ``received`` is how many
    copies arrived (``/received``), None until the GOM says."""

    __tablename__ = "inclusions"
    __table_args__ = (
        UniqueConstraint("item_id", "name"),
        CheckConstraint("received IS NULL OR received >= 0", name="inclusion_received"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    received: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InclusionRanking(Base):
    """A buyer's preferences for the inclusions of one order line, most wanted first, as
    comma-separated inclusion ids; every unit of the line draws with it."""

    __tablename__ = "inclusion_rankings"

    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), primary_key=True)
    ranking: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InclusionSettings(Base):
    """A GO's inclusion state, one row that every writer of it locks first: whether buyers
    may still change their rankings, and the lottery seed with the commitment published
    before any draw. The seed stays private until a result drawn with it is announced."""

    __tablename__ = "inclusion_settings"

    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), primary_key=True)
    rankings_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seed: Mapped[str | None] = mapped_column(Text)
    seed_commitment: Mapped[str | None] = mapped_column(String(64))
    seed_committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seed_revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Allocation(Base):
    """An item's inclusions shared out: the exact inputs, the seed and the result
    (core.allocation). One per item, taken by the insert that meets the unique key;
    ``allocated`` until the GOM announces it, then ``announced`` and final."""

    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    tie_break: Mapped[str] = mapped_column(String(12))
    seed: Mapped[str | None] = mapped_column(Text)
    inputs: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(Integer, default=1)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    allocated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AllocatedUnit(Base):
    """What one unit claimed got: the result of an allocation as a table."""

    __tablename__ = "allocated_units"
    __table_args__ = (UniqueConstraint("allocation_id", "claim"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id", ondelete="CASCADE"))
    claim: Mapped[str] = mapped_column(String(48))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    draw: Mapped[int] = mapped_column(Integer)
    inclusion_id: Mapped[int | None] = mapped_column(ForeignKey("inclusions.id", ondelete="SET NULL"))
    inclusion_name: Mapped[str | None] = mapped_column(String(80))


class MasterlistPost(Base):
    """A GO's masterlist posted to one linked channel, kept up to date.

    ``message_ids`` (JSON) are the platform's ids of the messages that show it, in order,
    recorded by the dispatcher once posted; later refreshes edit them in place. ``editable``
    is None until the first post, then whether the platform could edit it (else a refresh
    is a new message, at most every ``REPOST_EVERY``). ``digest`` is what the last message
    sent showed; the scheduler queues a refresh when the list reads otherwise now, one at a
    time: ``refreshes`` numbers them, taken by a compare-and-set.
    """

    __tablename__ = "masterlist_posts"
    __table_args__ = (UniqueConstraint("go_id", "identity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    go_id: Mapped[int] = mapped_column(ForeignKey("group_orders.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))  # live, stopped
    message_ids: Mapped[str] = mapped_column(Text, default="[]")
    editable: Mapped[bool | None] = mapped_column(Boolean)
    digest: Mapped[str | None] = mapped_column(String(64))
    refreshes: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DashboardSignIn(Base):
    """One sign-in to the web dashboard: the one-time link the bot sent, and the session it
    became once opened. Only SHA-256 digests of the two tokens are kept, so a copy of the
    database signs nobody in. ``used_at`` is set once (a compare-and-set): a link opens one
    session, however many times it is pressed; signing out ends the session early."""

    __tablename__ = "dashboard_sign_ins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    link_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    session_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
