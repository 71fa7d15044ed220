"""Ordering by taps: GO card → pick an item → step the quantity → confirm → summary.

Each tap edits the same message. Every step re-reads the GO, so a button of a GO that has
since closed, filled up or changed its price answers with an alert instead of ordering.
The order itself goes through ``core.services.ordering`` (atomic reservations); a
confirm button carries a one-off nonce recorded as an inbound delivery, so tapping it
twice never places two orders.

Payloads (``o:`` namespace, see ``codec``):
``pk CODE TOKEN`` pick · ``qt CODE TOKEN QTY PRICE`` step · ``cf CODE TOKEN QTY PRICE NONCE``
confirm · ``go CODE`` back to the card · ``ch ORDER`` / ``ce ORDER TOKEN QTY …`` change.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from telegram import InlineKeyboardButton

from bots.chat import ChatReply
from bots.commands import BotContext
from bots.commands.table import render_reply
from bots.telegram import codec
from bots.telegram.render import deep_link
from bots.telegram.translate import CHANNEL, Incoming
from core.errors import AlreadyClaimed, GomflowError, PriceChanged
from core.money import format_money
from core.quantities import LineRequest
from core.services import ordering, reports
from core.services.accounts import identify
from core.status import GOStatus
from core.views import GroupOrderView, ItemView, VariantView

MAX_STEP_QTY = 99
TAP_SOURCE = "telegram-tap"
Rows = list[list[InlineKeyboardButton]]


@dataclass(frozen=True)
class Tap:
    """What a tap does: show ``reply`` with ``rows`` in place, and/or an alert."""

    reply: ChatReply | None = None
    rows: Rows | None = None
    alert: str | None = None
    toast: str | None = None


@dataclass(frozen=True)
class Choice:
    token: str
    label: str
    item: ItemView
    variant: VariantView | None

    @property
    def left(self) -> int | None:
        lefts = [x for x in (self.item.left, self.variant.left if self.variant else None) if x is not None]
        return min(lefts) if lefts else None


def choices(card: GroupOrderView) -> list[Choice]:
    found: list[Choice] = []
    for item in card.items:
        if item.variants:
            found += [
                Choice(f"{item.code}:{v.code}", f"{item.name} ({v.name})", item, v) for v in item.variants
            ]
        else:
            found.append(Choice(item.code, item.name, item, None))
    return found


def find_choice(card: GroupOrderView, token: str) -> Choice | None:
    return next((c for c in choices(card) if c.token == token), None)


async def card_rows(bot: BotContext, card: GroupOrderView, *, private: bool, bot_username: str) -> Rows:
    """The GO card's keyboard: one button per item with room in a private chat, a deep link in a group."""
    if not private:
        label = "🛒 Order in a private chat" if card.status == GOStatus.OPEN else "Open in a private chat"
        return [[InlineKeyboardButton(label, url=deep_link(bot_username, card.code))]]
    rows: Rows = []
    if card.status == GOStatus.OPEN and card.progress.left > 0:
        for choice in choices(card)[:20]:
            if choice.left is None or choice.left > 0:
                label = f"{choice.label} · {choice.item.price}"[:60]
                rows.append([await _button(bot, label, f"o:pk {card.code} {choice.token}")])
    rows.append([await _button(bot, "🔄 Refresh", f"o:go {card.code}")])
    return rows


async def handle_tap(bot: BotContext, incoming: Incoming, payload: str, bot_username: str) -> Tap:
    step, *args = payload[len(codec.ORDER) :].split()
    try:
        if step == "go" and len(args) == 1:
            return await _show_card(bot, incoming, args[0], bot_username)
        if step == "pk" and len(args) == 2:
            return await _quantity(bot, incoming, args[0], args[1], 1, None, bot_username)
        if step == "qt" and len(args) == 4:
            return await _quantity(bot, incoming, args[0], args[1], int(args[2]), int(args[3]), bot_username)
        if step == "cf" and len(args) == 5:
            return await _confirm(bot, incoming, args, bot_username)
        if step in {"ch", "ce"} and args:
            return await _change(bot, incoming, args[0], args[1:] if step == "ce" else None)
    except GomflowError as refusal:
        return Tap(alert=refusal.message)
    except ValueError:
        pass
    return Tap(alert="That button no longer works. Send /go CODE to start again.")


async def _show_card(bot: BotContext, incoming: Incoming, code: str, bot_username: str) -> Tap:
    card = await reports.group_order_card(bot.core.reader(), code)
    reply = render_reply(bot.renderer, CHANNEL, "go_card", {"go": card})
    return Tap(reply, await card_rows(bot, card, private=incoming.private, bot_username=bot_username))


def _stale(card: GroupOrderView, choice: Choice | None) -> str | None:
    """Why this GO can no longer take this choice, or None."""
    if card.status != GOStatus.OPEN:
        return f"{card.code} is {card.status} now, so it is not taking orders."
    if choice is None:
        return f"That item is no longer offered in {card.code}."
    if card.progress.left <= 0:
        return f"{card.code} is full now. /waitlist {card.code} {choice.token} 1 puts you in the queue."
    if choice.left is not None and choice.left <= 0:
        return f"{choice.label} is sold out now."
    return None


async def _quantity(
    bot: BotContext,
    incoming: Incoming,
    code: str,
    token: str,
    quantity: int,
    price: int | None,
    bot_username: str,
    alert: str | None = None,
) -> Tap:
    card = await reports.group_order_card(bot.core.reader(), code)
    choice = find_choice(card, token)
    stale = _stale(card, choice)
    if stale is not None or choice is None:
        shown = await _show_card(bot, incoming, code, bot_username)
        return Tap(shown.reply, shown.rows, alert=stale)
    if price is not None and price != choice.item.price_minor and alert is None:
        was = format_money(price, card.currency)
        now = choice.item.price
        alert = f"The price of {choice.label} changed from {was} to {now}. Please check and confirm again."
    most = _most(card, choice)
    quantity = max(1, min(quantity, most))
    unit = choice.item.price_minor
    base = f"{card.code} {choice.token}"
    nonce = secrets.token_urlsafe(6)[:8]
    stepper = [
        await _button(bot, "➖", f"o:qt {base} {max(1, quantity - 1)} {unit}") if quantity > 1 else None,
        await _button(bot, f"{quantity}", f"o:qt {base} {quantity} {unit}"),
        await _button(bot, "➕", f"o:qt {base} {quantity + 1} {unit}") if quantity < most else None,
    ]
    total = format_money(unit * quantity, card.currency)
    rows: Rows = [
        [b for b in stepper if b is not None],
        [await _button(bot, f"✅ Order {quantity} · {total}", f"o:cf {base} {quantity} {unit} {nonce}")],
        [await _button(bot, "« Back", f"o:go {card.code}")],
    ]
    reply = render_reply(
        bot.renderer,
        CHANNEL,
        "tap_quantity",
        {
            "go": card,
            "label": choice.label,
            "token": choice.token,
            "price": choice.item.price,
            "quantity": quantity,
            "total": total,
            "most": most,
        },
    )
    return Tap(reply, rows, alert=alert)


def _most(card: GroupOrderView, choice: Choice) -> int:
    limits = [MAX_STEP_QTY, card.progress.left]
    if choice.left is not None:
        limits.append(choice.left)
    if card.per_buyer_limit is not None:
        limits.append(card.per_buyer_limit)
    return max(1, min(limits))


async def _confirm(bot: BotContext, incoming: Incoming, args: list[str], bot_username: str) -> Tap:
    code, token, quantity, price, nonce = args[0], args[1], int(args[2]), int(args[3]), args[4]
    # The desk checks everything at once — the button not used before, the GO open, room,
    # stock, the buyer's limit, the price shown — so a tap costs no read of the card; the
    # button's use is recorded with the order, and rolled back with it if anything fails.
    request = incoming.request
    actor = await identify(bot.core.uow(), CHANNEL, request.user_id, request.name, request.handle)
    item, _, variant = token.partition(":")
    try:
        placed = await ordering.place_order(
            bot.core.uow(),
            actor,
            code,
            [LineRequest(item, variant or None, quantity)],
            {token: price},
            claim=(TAP_SOURCE, f"{incoming.chat_id}:{nonce}"),
        )
    except AlreadyClaimed as repeat:
        return Tap(toast=repeat.message)
    except PriceChanged:
        return await _quantity(bot, incoming, code, token, quantity, price, bot_username)
    except GomflowError as refusal:
        shown = await _show_card(bot, incoming, code, bot_username)
        return Tap(shown.reply, shown.rows, alert=refusal.message)
    reply = render_reply(bot.renderer, CHANNEL, "order_placed", {"order": placed})
    rows: Rows = [
        [
            await _button(bot, "✏️ Change", f"o:ch {placed.number}"),
            await _button(bot, "✖️ Cancel order", f"c:/cancel {placed.number}"),
        ],
        [await _button(bot, "💳 Pay", f"c:/pay {placed.number}")],
        [await _button(bot, "« Back to the GO", f"o:go {code}")],
    ]
    return Tap(reply, rows)


async def _change(bot: BotContext, incoming: Incoming, number: str, state: list[str] | None) -> Tap:
    request = incoming.request
    actor = await identify(bot.core.uow(), CHANNEL, request.user_id, request.name, request.handle)
    orders = await ordering.my_orders(bot.core.reader(), actor)
    order = next((o for o in orders if o.number == number.upper()), None)
    if order is None or order.status != "placed":
        return Tap(alert=f"{number} can no longer be changed. /myorders shows your orders.")
    labels = {line.token: line.label for line in order.lines}
    if state is None:
        quantities = {line.token: line.quantity for line in order.lines}
    else:
        pairs = zip(state[::2], state[1::2], strict=False)
        quantities = {token: max(0, min(MAX_STEP_QTY, int(qty))) for token, qty in pairs if token in labels}
    rows: Rows = []
    for token, quantity in quantities.items():

        def with_qty(new: int, token: str = token) -> str:
            parts = " ".join(f"{t} {new if t == token else q}" for t, q in quantities.items())
            return f"o:ce {order.number} {parts}"

        row = [await _button(bot, f"{labels[token]} × {quantity}"[:40], with_qty(quantity))]
        if quantity > 0:
            row.insert(0, await _button(bot, "➖", with_qty(quantity - 1)))
        if quantity < MAX_STEP_QTY:
            row.append(await _button(bot, "➕", with_qty(quantity + 1)))
        rows.append(row)
    kept = " ".join(f"{t} {q}" for t, q in quantities.items() if q > 0)
    if kept:
        rows.append([await _button(bot, "✅ Save changes", f"c:/change {order.number} {kept}")])
    else:
        rows.append([await _button(bot, "✖️ Cancel the whole order", f"c:/cancel {order.number}")])
    rows.append([await _button(bot, "« My orders", "c:/myorders")])
    reply = render_reply(
        bot.renderer, CHANNEL, "tap_change", {"order": order, "quantities": quantities, "labels": labels}
    )
    return Tap(reply, rows)


async def _button(bot: BotContext, label: str, payload: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=await codec.encode(bot.core, payload))


__all__ = ["Tap", "card_rows", "handle_tap"]
