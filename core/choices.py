"""What a buyer may order in a group order, how many at most, and if not, why.

Every platform offers the same choices: Telegram as inline buttons and a quantity
stepper, Discord as components, SMS and WhatsApp as numbered replies. So the rules live
here once, as a pure function of a GO's card and what the buyer already holds; an
adapter only renders the result. The order desk still checks everything again when the
order is placed (a button shown a minute ago may be stale): these choices are what to
offer, never a promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.money import format_money
from core.status import GOStatus
from core.views import GroupOrderView, ItemView, VariantView

MAX_STEP = 99  # the most a single choice offers at once, whatever the limits


class NotOrderable(StrEnum):
    """Why a GO, or one item or version of it, takes no order from this buyer now."""

    NOT_OPEN = "not_open"
    DEADLINE_PASSED = "deadline_passed"
    FULL = "full"
    SOLD_OUT = "sold_out"
    AT_LIMIT = "at_limit"


@dataclass(frozen=True)
class OrderChoice:
    """One item, or one version of an item, with the most this buyer may still take."""

    token: str  # ``ALB`` or ``ALB:A``, as a buyer types it
    label: str
    price: str
    price_minor: int
    most: int  # 0 when ``why`` says why not
    why: NotOrderable | None
    message: str | None  # the words for ``why``, ready to show

    @property
    def orderable(self) -> bool:
        return self.why is None

    def price_change(self, shown_minor: int, currency: str) -> str | None:
        """The words for a price that is no longer the one the buyer was shown, or None."""
        if shown_minor == self.price_minor:
            return None
        was, now = format_money(shown_minor, currency), self.price
        return f"The price of {self.label} changed from {was} to {now}. Please check and confirm again."


@dataclass(frozen=True)
class OrderChoices:
    """A GO's choices for one buyer; ``why``/``message`` say why the whole GO takes none."""

    go: GroupOrderView
    choices: list[OrderChoice]
    why: NotOrderable | None
    message: str | None

    def find(self, token: str) -> OrderChoice | None:
        wanted = token.upper()
        return next((c for c in self.choices if c.token.upper() == wanted), None)

    @property
    def orderable(self) -> list[OrderChoice]:
        return [c for c in self.choices if c.orderable]


def order_choices(card: GroupOrderView, now: datetime, held: int = 0) -> OrderChoices:
    """The choices of ``card`` for a buyer who already holds ``held`` units in it.

    The cap of each choice is the least of the GO's capacity left, the item's and the
    version's stock left, the buyer's per-buyer limit left and ``MAX_STEP``. The first
    reason that applies wins, in the order the order desk checks them: open, deadline,
    capacity, stock, then the buyer's limit.
    """
    code = card.code
    go_why, go_message = _go_refusal(card, now, held)
    room = max(0, card.progress.left)
    limit_left = None if card.per_buyer_limit is None else max(0, card.per_buyer_limit - held)
    choices: list[OrderChoice] = []
    for item in card.items:
        if item.retired:
            continue
        pairs: list[tuple[ItemView, VariantView | None]] = [(item, v) for v in item.variants if not v.retired]
        pairs = pairs or ([] if item.variants else [(item, None)])
        for owner, variant in pairs:
            token = owner.code if variant is None else f"{owner.code}:{variant.code}"
            label = owner.name if variant is None else f"{owner.name} ({variant.name})"
            stocks = [x for x in (owner.left, variant.left if variant else None) if x is not None]
            stock = min(stocks) if stocks else None
            why, message = go_why, go_message
            if why is None and stock is not None and stock <= 0:
                why = NotOrderable.SOLD_OUT
                message = f"{label} is sold out. /waitlist {code} {token} 1 queues you for a freed one."
            caps = [MAX_STEP, room] + [x for x in (stock, limit_left) if x is not None]
            most = 0 if why is not None else max(0, min(caps))
            price, price_minor = owner.price, owner.price_minor
            if variant is not None and variant.price is not None and variant.price_minor is not None:
                price, price_minor = variant.price, variant.price_minor
            choices.append(OrderChoice(token, label, price, price_minor, most, why, message))
    return OrderChoices(card, choices, go_why, go_message)


def _go_refusal(card: GroupOrderView, now: datetime, held: int) -> tuple[NotOrderable | None, str | None]:
    code = card.code
    if card.status != GOStatus.OPEN:
        return NotOrderable.NOT_OPEN, f"{code} is {card.status}, not taking orders."
    if datetime.fromisoformat(card.deadline_iso) <= now:
        return NotOrderable.DEADLINE_PASSED, f"{code} closed for orders at its deadline."
    if card.progress.left <= 0:
        return NotOrderable.FULL, f"{code} is full. Use /waitlist {code} ITEM QTY to queue for a freed slot."
    if card.per_buyer_limit is not None and held >= card.per_buyer_limit:
        return (
            NotOrderable.AT_LIMIT,
            f"{code} allows {card.per_buyer_limit} per buyer and you hold {held} already.",
        )
    return None, None
