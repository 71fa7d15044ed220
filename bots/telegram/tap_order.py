"""Ordering by taps: GO card → pick an item → step the quantity → confirm → summary.

Each tap edits the same message. Every step re-reads the GO's choices from core
(``core.choices``: what has room, the most this buyer may take, why not), so a button of
a GO that has since closed, filled up or changed its price answers with an alert instead
of ordering; this module only renders them.
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
from bots.commands.buyer import order_buttons
from bots.commands.policy import agree_command, ask_to_agree
from bots.commands.table import render_reply
from bots.telegram import codec
from bots.telegram.render import CHANGE, deep_link
from bots.telegram.translate import CHANNEL, Incoming
from core.choices import MAX_STEP, OrderChoice, OrderChoices
from core.errors import AlreadyClaimed, GomflowError, PolicyNotAgreed, PriceChanged
from core.languages import ENGLISH
from core.money import format_money
from core.quantities import LineRequest
from core.render import N_
from core.services import ordering, reports
from core.services.accounts import Actor, Caller, identify_caller
from core.status import GOStatus

TAP_SOURCE = "telegram-tap"
Rows = list[list[InlineKeyboardButton]]
STALE = N_("That button no longer works. Send /go CODE to start again.")
NOT_OFFERED = N_("That item is no longer offered in %(code)s.")
UNCHANGEABLE = N_("%(number)s can no longer be changed. /myorders shows your orders.")
IN_PRIVATE = N_("🛒 Order in a private chat")
OPEN_IN_PRIVATE = N_("Open in a private chat")
REFRESH = N_("🔄 Refresh")
ORDER = N_("✅ Order %(quantity)s · %(total)s")
BACK = N_("« Back")
AGREE = N_("✅ I agree")
CANCEL = N_("✖️ Cancel order")
PAY = N_("💳 Pay")
BACK_TO_GO = N_("« Back to the GO")
DELIVERY = N_("🚚 Choose delivery")
SAVE = N_("✅ Save changes")
CANCEL_ALL = N_("✖️ Cancel the whole order")
MY_ORDERS = N_("« My orders")


@dataclass(frozen=True)
class Tap:
    """What a tap does: show ``reply`` with ``rows`` in place, and/or an alert."""

    reply: ChatReply | None = None
    rows: Rows | None = None
    alert: str | None = None
    toast: str | None = None


class Sender:
    """Who tapped, looked up at most once per update, and only when a step needs it."""

    def __init__(self, bot: BotContext, incoming: Incoming) -> None:
        self._bot, self._incoming = bot, incoming
        self._actor: Actor | None = None

    async def actor(self) -> Actor:
        if self._actor is None:
            self._actor = await identify_caller(self._bot.core.uow(), self.caller())
        return self._actor

    def buyer(self) -> Actor | Caller:
        """For an order: the sender if looked up already, else who wrote (the order's own
        trip to the desk looks them up)."""
        return self._actor or self.caller()

    def caller(self) -> Caller:
        request = self._incoming.request
        return Caller(CHANNEL, request.user_id, request.name, request.handle, request.language)

    @property
    def language(self) -> str:
        """What the tapper reads, as far as is known: their own, else what their app says."""
        known = self._actor.language if self._actor is not None else None
        return known or self._incoming.request.language or ENGLISH

    def said(self, message: str, **values: object) -> str:
        """A phrase of this module (a button, an alert) in the tapper's language, filled in."""
        return self._bot.renderer.said(message, self.language, values)


async def load_choices(bot: BotContext, code: str, sender: Sender) -> OrderChoices:
    """The GO's card and what this buyer may order from it (``core.choices``)."""
    card = await reports.group_order_card(bot.core.reader(), code)
    buyer_id = (await sender.actor()).user_id if card.per_buyer_limit is not None else None
    return await ordering.choices_for(bot.core.reader(), card, buyer_id)


def _pick(choices: OrderChoices, choice: OrderChoice) -> tuple[str, str]:
    return f"{choice.label} · {choice.price}", f"o:pk {choices.go.code} {choice.token}"


async def card_rows(
    bot: BotContext,
    choices: OrderChoices,
    *,
    private: bool,
    bot_username: str,
    language: str = ENGLISH,
) -> Rows:
    """The GO card's keyboard: one button per choice with room in a private chat, a deep
    link in a group; its words in ``language``."""
    card = choices.go
    if not private:
        label = IN_PRIVATE if card.status == GOStatus.OPEN else OPEN_IN_PRIVATE
        link = deep_link(bot_username, card.code)
        return [[InlineKeyboardButton(bot.renderer.translate(label, language), url=link)]]
    rows: Rows = [
        [await _button(bot, b.label, b.command or "") for b in row] for row in order_buttons(choices, _pick)
    ]
    rows.append([await _button(bot, bot.renderer.translate(REFRESH, language), f"o:go {card.code}")])
    return rows


async def handle_tap(bot: BotContext, incoming: Incoming, payload: str, bot_username: str) -> Tap:
    step, *args = payload[len(codec.ORDER) :].split()
    sender = Sender(bot, incoming)
    try:
        if step == "go" and len(args) == 1:
            return await _show_card(bot, incoming, sender, args[0], bot_username)
        if step == "pk" and len(args) == 2:
            return await _quantity(bot, incoming, sender, args[0], args[1], 1, None, bot_username)
        if step == "qt" and len(args) == 4:
            quantity, price = int(args[2]), int(args[3])
            return await _quantity(bot, incoming, sender, args[0], args[1], quantity, price, bot_username)
        if step == "cf" and len(args) == 5:
            return await _confirm(bot, incoming, sender, args, bot_username)
        if step in {"ch", "ce"} and args:
            return await _change(bot, sender, args[0], args[1:] if step == "ce" else None)
    except GomflowError as refusal:
        return Tap(alert=_said(bot, incoming, refusal))
    except ValueError:
        pass
    return Tap(alert=sender.said(STALE))


async def _show_card(
    bot: BotContext, incoming: Incoming, sender: Sender, code: str, bot_username: str
) -> Tap:
    choices = await load_choices(bot, code, sender)
    reply = render_reply(bot.renderer, CHANNEL, "go_card", {"go": choices.go}, language=sender.language)
    rows = await card_rows(
        bot, choices, private=incoming.private, bot_username=bot_username, language=sender.language
    )
    return Tap(reply, rows)


async def _quantity(
    bot: BotContext,
    incoming: Incoming,
    sender: Sender,
    code: str,
    token: str,
    quantity: int,
    price: int | None,
    bot_username: str,
    alert: str | None = None,
) -> Tap:
    """The quantity stepper of one choice, capped where core says; the card if it has no room."""
    choices = await load_choices(bot, code, sender)
    card, choice = choices.go, choices.find(token)
    if choice is None or not choice.orderable:
        why = choices.message or (choice.message if choice else sender.said(NOT_OFFERED, code=code))
        reply = render_reply(bot.renderer, CHANNEL, "go_card", {"go": card}, language=sender.language)
        keyboard = await card_rows(
            bot, choices, private=incoming.private, bot_username=bot_username, language=sender.language
        )
        return Tap(reply, keyboard, alert=why)
    if price is not None and alert is None:
        alert = choice.price_change(price, card.currency)
    quantity = max(1, min(quantity, choice.most))
    unit = choice.price_minor
    base = f"{card.code} {choice.token}"
    nonce = secrets.token_urlsafe(6)[:8]
    stepper = [
        await _button(bot, "➖", f"o:qt {base} {max(1, quantity - 1)} {unit}") if quantity > 1 else None,
        await _button(bot, f"{quantity}", f"o:qt {base} {quantity} {unit}"),
        await _button(bot, "➕", f"o:qt {base} {quantity + 1} {unit}") if quantity < choice.most else None,
    ]
    total = format_money(unit * quantity, card.currency)
    rows: Rows = [
        [b for b in stepper if b is not None],
        [
            await _button(
                bot,
                sender.said(ORDER, quantity=quantity, total=total),
                f"o:cf {base} {quantity} {unit} {nonce}",
            )
        ],
        [await _button(bot, sender.said(BACK), f"o:go {card.code}")],
    ]
    reply = render_reply(
        bot.renderer,
        CHANNEL,
        "tap_quantity",
        {
            "go": card,
            "label": choice.label,
            "token": choice.token,
            "price": choice.price,
            "quantity": quantity,
            "total": total,
            "most": choice.most,
        },
        language=sender.language,
    )
    return Tap(reply, rows, alert=alert)


async def _confirm(
    bot: BotContext, incoming: Incoming, sender: Sender, args: list[str], bot_username: str
) -> Tap:
    code, token, quantity, price, nonce = args[0], args[1], int(args[2]), int(args[3]), args[4]
    # The desk checks everything at once — the button not used before, the GO open, room,
    # stock, the buyer's limit, the price shown — so a tap costs no read of the card; the
    # button's use is recorded with the order, and rolled back with it if anything fails.
    item, _, variant = token.partition(":")
    try:
        placed = await ordering.place_order(
            bot.core.uow(),
            sender.buyer(),
            code,
            [LineRequest(item, variant or None, quantity)],
            {token: price},
            claim=(TAP_SOURCE, f"{incoming.chat_id}:{nonce}"),
        )
    except AlreadyClaimed as repeat:
        return Tap(toast=_said(bot, incoming, repeat))
    except PriceChanged as changed:
        return await _quantity(
            bot, incoming, sender, code, token, quantity, None, bot_username, _said(bot, incoming, changed)
        )
    except PolicyNotAgreed as ask:  # the GO's rules first, with "I agree" that places this order
        asked = await ask_to_agree(bot, CHANNEL, ask, sender.language)
        return Tap(asked, [[await _button(bot, sender.said(AGREE), f"c:{agree_command(ask)}")]])
    except GomflowError as refusal:
        shown = await _show_card(bot, incoming, sender, code, bot_username)
        return Tap(shown.reply, shown.rows, alert=_said(bot, incoming, refusal))
    language = placed.language or incoming.request.language or ENGLISH
    reply = render_reply(bot.renderer, CHANNEL, "order_placed", {"order": placed}, language=language)

    def said(message: str) -> str:
        return bot.renderer.translate(message, language)

    rows: Rows = [
        [
            await _button(bot, said(CHANGE), f"o:ch {placed.number}"),
            await _button(bot, said(CANCEL), f"c:/cancel {placed.number}"),
        ],
        [await _button(bot, said(PAY), f"c:/pay {placed.number}")],
        [await _button(bot, said(BACK_TO_GO), f"o:go {code}")],
    ]
    if placed.choose_delivery:
        rows.insert(2, [await _button(bot, said(DELIVERY), f"c:/delivery {placed.go_code}")])
    return Tap(reply, rows)


async def _change(bot: BotContext, sender: Sender, number: str, state: list[str] | None) -> Tap:
    orders = await ordering.my_orders(bot.core.reader(), await sender.actor())
    order = next((o for o in orders if o.number == number.upper()), None)
    if order is None or order.status != "placed":
        return Tap(alert=sender.said(UNCHANGEABLE, number=number))
    labels = {line.token: line.label for line in order.lines}
    if state is None:
        quantities = {line.token: line.quantity for line in order.lines}
    else:
        pairs = zip(state[::2], state[1::2], strict=False)
        quantities = {token: max(0, min(MAX_STEP, int(qty))) for token, qty in pairs if token in labels}
    rows: Rows = []
    for token, quantity in quantities.items():

        def with_qty(new: int, token: str = token) -> str:
            parts = " ".join(f"{t} {new if t == token else q}" for t, q in quantities.items())
            return f"o:ce {order.number} {parts}"

        row = [await _button(bot, f"{labels[token]} × {quantity}"[:40], with_qty(quantity))]
        if quantity > 0:
            row.insert(0, await _button(bot, "➖", with_qty(quantity - 1)))
        if quantity < MAX_STEP:
            row.append(await _button(bot, "➕", with_qty(quantity + 1)))
        rows.append(row)
    kept = " ".join(f"{t} {q}" for t, q in quantities.items() if q > 0)
    if kept:
        rows.append([await _button(bot, sender.said(SAVE), f"c:/change {order.number} {kept}")])
    else:
        rows.append([await _button(bot, sender.said(CANCEL_ALL), f"c:/cancel {order.number}")])
    rows.append([await _button(bot, sender.said(MY_ORDERS), "c:/myorders")])
    context = {"order": order, "quantities": quantities, "labels": labels}
    reply = render_reply(bot.renderer, CHANNEL, "tap_change", context, language=sender.language)
    return Tap(reply, rows)


async def _button(bot: BotContext, label: str, payload: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=await codec.encode(bot.core, payload))


__all__ = ["Tap", "card_rows", "handle_tap"]


def _said(bot: BotContext, incoming: Incoming, refusal: GomflowError) -> str:
    """A refusal in the language the tapper's app says they read."""
    return bot.renderer.said(refusal.text, incoming.request.language or ENGLISH, refusal.values)
