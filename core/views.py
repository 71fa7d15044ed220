"""Plain read models handed to templates: strings and numbers, nothing lazy."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.payments.status import PAYABLE


@dataclass(frozen=True)
class VariantView:
    code: str
    name: str
    left: int | None  # None: no stock limit of its own
    price: str | None = None  # its own price, when it differs from the item's
    price_minor: int | None = None
    retired: bool = False  # kept for the orders that hold it, offered to nobody new


@dataclass(frozen=True)
class ItemView:
    code: str
    name: str
    price: str
    price_minor: int
    left: int | None
    reserved: int
    paid: int = 0
    variants: list[VariantView] = field(default_factory=list)
    retired: bool = False


@dataclass(frozen=True)
class ProgressView:
    reserved: int
    paid: int
    moq: int
    capacity: int

    @property
    def moq_reached(self) -> bool:
        return self.reserved >= self.moq

    @property
    def left(self) -> int:
        return self.capacity - self.reserved


@dataclass(frozen=True)
class GroupOrderView:
    id: int
    code: str
    title: str
    description: str
    status: str
    currency: str
    timezone: str
    deadline: str
    deadline_iso: str
    per_buyer_limit: int | None
    payment_window_hours: int
    progress: ProgressView
    items: list[ItemView] = field(default_factory=list)


@dataclass(frozen=True)
class LineView:
    label: str
    token: str
    quantity: int
    amount: str


@dataclass(frozen=True)
class OrderView:
    number: str
    go_code: str
    go_title: str
    status: str
    units: int
    total: str
    payment_due: str
    buyer: str
    lines: list[LineView] = field(default_factory=list)
    choose_delivery: bool = False  # just placed in a GO that offers ways to deliver
    rankable: bool = False  # holds an item with inclusions the buyer may rank
    # the GOM's fee and what the items ask with it, and the rate the order is locked to
    money_lines: list[str] = field(default_factory=list)
    # the buyer's language as the order path found it (theirs, or the GO's for a buyer who
    # had none): what the reply is written in; None when the order path did not look
    language: str | None = None


@dataclass(frozen=True)
class WaitlistView:
    id: int
    go_code: str
    token: str
    label: str
    quantity: int
    position: int
    status: str


# --- payments ------------------------------------------------------------------------


@dataclass(frozen=True)
class PayView:
    """Everything a buyer needs to pay one request, in the chat or on the pay page."""

    number: str
    go_code: str
    go_title: str
    kind: str
    status: str
    amount: str
    amount_minor: int
    currency: str
    reference: str
    token: str
    due: str
    qr_payload: str | None = None
    qr_label: str | None = None
    manual: bool = False
    gateways: list[tuple[str, str]] = field(default_factory=list)  # (method, label)
    received: str = ""  # what already arrived for this request, when part of it is paid
    pay_to: str = ""  # the number or account the QR pays, shown as text beside it
    bank: BankView | None = None  # the account to transfer to, when the GO takes bank transfers
    # "S$49.00 + S$0.07 = S$49.07" when the GO asks unique amounts; "" otherwise
    unique_line: str = ""
    amount_plain: str = ""  # the amount as a banking app takes it typed: "49.07"
    # the order's money beyond its lines: GOM fee, locked rate, which part this is, surcharges
    money_lines: list[str] = field(default_factory=list)
    can_split: bool = False  # the buyer may still choose to pay this order in instalments
    # what paying online by a method asks in all, where the method adds a surcharge
    with_surcharge: dict[str, str] = field(default_factory=dict)
    credit: str = ""  # the buyer's store credit with the GOM in this currency, "" for none

    @property
    def payable(self) -> bool:
        return self.status in PAYABLE


@dataclass(frozen=True)
class BankView:
    """A GOM's bank account as a buyer types it into a banking app."""

    bank: str
    holder: str
    account: str


@dataclass(frozen=True)
class PayMethodsView:
    """What /paymethods set: the labels, what a photo of a bank QR was read as, and which
    chosen methods this server cannot take (a gateway without its keys)."""

    code: str
    labels: list[str]
    not_here: list[str]
    qr_scheme: str = ""  # read from the GOM's photo: "DuitNow", "EMVCo"
    qr_payee: str = ""
    qr_account: str = ""


@dataclass(frozen=True)
class PaymentRow:
    number: str
    buyer: str
    order_status: str
    kind: str
    amount: str
    status: str
    note: str = ""


@dataclass(frozen=True)
class PaymentsReport:
    go_code: str
    rows: list[PaymentRow]
    paid_total: str
    unpaid_total: str
    paid_count: int
    unpaid_count: int
    to_review: list[str]  # one line per pending proof: "TH-1-3 #2 S$22.50 ref DBS123"
    held: list[str]
    refunds_to_send: list[str]  # refund due, sent by hand
    refunds_queued: list[str] = field(default_factory=list)  # refund due, through the gateway
    overpaid: list[str] = field(default_factory=list)  # refund or credit due
    review_orders: list[str] = field(default_factory=list)  # orders with a proof to review
    # messages to this GO's buyers that wait for them to write first (WhatsApp's 24 hours)
    waiting: list[str] = field(default_factory=list)
    buyers: list[BuyerTotal] = field(default_factory=list)  # per buyer, across their orders


@dataclass(frozen=True)
class RefundView:
    number: str
    amount: str
    provider: str
    status: str


@dataclass(frozen=True)
class BuyerTotal:
    """One buyer's money across all their orders in one GO (minor units, and as read).

    ``owed`` is what their live orders ask (items, shipping, adjustments); ``paid`` what
    arrived, refunded or not; ``due`` what their live orders still wait for.
    """

    buyer: str
    orders: list[str]
    currency: str
    owed_minor: int
    paid_minor: int
    refunded_minor: int
    due_minor: int
    owed: str
    paid: str
    refunded: str
    due: str
    references: list[str]
    last_paid: str  # in the GO's timezone; "" when nothing arrived
    fee_minor: int = 0  # the GOM's fee included in ``owed``
    surcharge_minor: int = 0  # methods' surcharges paid on top of ``paid``, not counted in it
