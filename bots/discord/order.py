"""Ordering with components: GO card (embed + select) → quantity panel → confirm.

The card's select menu lists the choices core gives every platform (``core.choices`` via
``order_buttons``); picking one answers the clicker alone (ephemerally) with a quantity
panel, whose buttons edit that panel. Every step re-reads the choices, so a stale card
answers with why instead of ordering. The confirm button carries a one-off nonce recorded
with the order (``place_order``'s ``claim``), so a double click orders once.

Custom ids (``o:`` namespace): ``pk CODE`` the select · ``qt CODE TOKEN QTY PRICE`` a
quantity · ``cf CODE TOKEN QTY PRICE NONCE`` confirm.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import discord

from bots.chat import Button, ChatReply
from bots.commands import BotContext
from bots.commands.table import render_reply
from bots.discord.render import Outgoing, encode, finished, render
from core.choices import OrderChoices
from core.errors import AlreadyClaimed, GomflowError, PriceChanged
from core.languages import ENGLISH
from core.money import format_money
from core.quantities import LineRequest
from core.render import N_, filled
from core.services import ordering, reports
from core.services.accounts import Actor
from core.views import ProgressView

CHANNEL = "discord"
TAP_SOURCE = "discord-tap"
BAR = 12  # blocks in the progress bar
ORDER_ONE = re.compile(r"^/order (\S+) \S+ 1$")  # what order_buttons' buttons run
STALE = N_("That button no longer works. Send /go CODE to start again.")
NOT_OFFERED = N_("That item is no longer offered in %(code)s.")
MOQ_REACHED = N_("MOQ reached ✅")
MOQ = N_("MOQ %(moq)s")
PROGRESS = N_("Progress")
DEADLINE = N_("Deadline")
ORDERING = N_("Ordering")
CHOOSE = N_("🛒 Choose an item or version to order")
ORDER = N_("✅ Order %(quantity)s · %(total)s")
PANEL = N_("**%(item)s** · %(price)s each\nQuantity: **%(quantity)s** (at most %(most)s) · %(total)s")
PAY = N_("💳 Pay")
CANCEL = N_("✖️ Cancel order")
DELIVERY = N_("🚚 Choose delivery")


@dataclass
class Panel:
    """What a click shows: ``out``, in place of the clicked message when ``update``."""

    out: Outgoing
    update: bool = True


def card_code(reply: ChatReply) -> str | None:
    """The GO whose choices a reply offers as one-unit order buttons, if it does."""
    for row in reply.buttons:
        for button in row:
            if button.command and (match := ORDER_ONE.match(button.command)):
                return match.group(1)
    return None


async def choices(bot: BotContext, actor: Actor, code: str) -> OrderChoices:
    card = await reports.visible_card(bot.core.reader(), actor, code)
    buyer = actor.user_id if card.per_buyer_limit is not None else None
    return await ordering.choices_for(bot.core.reader(), card, buyer)


def progress_bar(progress: ProgressView, translate: Callable[[str], str] = str) -> str:
    capacity = max(progress.capacity, 1)
    done = min(BAR, round(BAR * progress.reserved / capacity))
    moq = (
        translate(MOQ_REACHED) if progress.moq_reached else filled(MOQ, {"moq": progress.moq}, translate(MOQ))
    )
    return f"{'▰' * done}{'▱' * (BAR - done)} {progress.reserved}/{progress.capacity} · {moq}"


async def card(
    bot: BotContext, found: OrderChoices, text: str, *, ephemeral: bool, language: str = ENGLISH
) -> Outgoing:
    """The GO card: an embed with progress and deadline, and a select of what may be
    ordered; its own words in ``language``."""

    def translate(message: str) -> str:
        return bot.renderer.translate(message, language)

    go = found.go
    embed = discord.Embed(title=f"{go.code} · {go.title}"[:256], description=text[:4096])
    embed.add_field(name=translate(PROGRESS), value=progress_bar(go.progress, translate), inline=False)
    if go.deadline_iso:
        stamp = int(datetime.fromisoformat(go.deadline_iso).timestamp())
        embed.add_field(name=translate(DEADLINE), value=f"<t:{stamp}:R> (<t:{stamp}:f>)", inline=False)
    out = Outgoing([""], embed=embed, ephemeral=ephemeral)
    options = [
        discord.SelectOption(label=f"{c.label} · {c.price}"[:100], value=c.token)
        for c in found.orderable[:25]  # the same choices core gives every platform
    ]
    if options:
        view = discord.ui.View(timeout=None)
        picker: discord.ui.Select[discord.ui.View] = discord.ui.Select(
            custom_id=await encode(bot.core, f"o:pk {go.code}"),
            placeholder=translate(CHOOSE)[:150],
            options=options,
        )
        view.add_item(picker)
        out.view = finished(view)
    elif found.message:
        embed.add_field(name=translate(ORDERING), value=found.message[:1024], inline=False)
    return out


async def tap(bot: BotContext, actor: Actor, payload: str, values: list[str], user_key: str) -> Panel:
    step, *args = payload[2:].split()
    try:
        if step == "pk" and len(args) == 1 and len(values) == 1:
            return await quantity(bot, actor, args[0], values[0], 1, None, update=False)
        if step == "qt" and len(args) == 4:
            return await quantity(bot, actor, args[0], args[1], int(args[2]), int(args[3]))
        if step == "cf" and len(args) == 5:
            return await confirm(bot, actor, args, user_key)
    except GomflowError as refusal:
        return Panel(Outgoing([_said(bot, actor, refusal)]), update=False)
    except ValueError:
        pass
    return Panel(Outgoing([_text(bot, actor, STALE)]), update=False)


async def quantity(
    bot: BotContext,
    actor: Actor,
    code: str,
    token: str,
    wanted: int,
    shown_price: int | None,
    *,
    update: bool = True,
    note: str | None = None,
) -> Panel:
    """The quantity panel of one choice, capped where core says."""
    found = await choices(bot, actor, code)
    go, choice = found.go, found.find(token)
    if choice is None or not choice.orderable:
        why = found.message or (choice.message if choice else _text(bot, actor, NOT_OFFERED, code=code))
        return Panel(Outgoing([why or _text(bot, actor, STALE)]), update=False)
    if shown_price is not None and note is None:
        note = choice.price_change(shown_price, go.currency)
    count = max(1, min(wanted, choice.most))
    unit, base = choice.price_minor, f"{go.code} {choice.token}"
    total = format_money(unit * count, go.currency)
    nonce = secrets.token_urlsafe(6)[:8]
    buttons = [
        Button("➖", f"o:qt {base} {max(1, count - 1)} {unit}") if count > 1 else None,
        Button("➕", f"o:qt {base} {count + 1} {unit}") if count < choice.most else None,
        Button(_text(bot, actor, ORDER, quantity=count, total=total), f"o:cf {base} {count} {unit} {nonce}"),
    ]
    view = discord.ui.View(timeout=None)
    for button in buttons:
        if button is not None:
            confirms = (button.command or "").startswith("o:cf ")
            style = discord.ButtonStyle.success if confirms else discord.ButtonStyle.secondary
            custom_id = await encode(bot.core, button.command or "")
            view.add_item(discord.ui.Button(label=button.label[:80], custom_id=custom_id, style=style))
    text = _text(
        bot,
        actor,
        PANEL,
        item=choice.label,
        price=choice.price,
        quantity=count,
        most=choice.most,
        total=total,
    )
    if note:
        text = f"⚠️ {note}\n{text}"
    return Panel(Outgoing([text], view=finished(view)), update=update)


async def confirm(bot: BotContext, actor: Actor, args: list[str], user_key: str) -> Panel:
    code, token, count, price, nonce = args[0], args[1], int(args[2]), int(args[3]), args[4]
    item, _, variant = token.partition(":")
    try:
        placed = await ordering.place_order(
            bot.core.uow(),
            actor,
            code,
            [LineRequest(item, variant or None, count)],
            {token: price},
            claim=(TAP_SOURCE, f"{user_key}:{nonce}"),
        )
    except AlreadyClaimed as repeat:
        return Panel(Outgoing([_said(bot, actor, repeat)]), update=False)
    except PriceChanged as changed:
        return await quantity(bot, actor, code, token, count, None, note=_said(bot, actor, changed))
    language = placed.language or actor.language or ENGLISH

    def said(message: str) -> str:
        return bot.renderer.translate(message, language)

    buttons = [
        [Button(said(PAY), command=f"/pay {placed.number}")],
        [Button(said(CANCEL), command=f"/cancel {placed.number}")],
    ]
    if placed.choose_delivery:
        buttons.append([Button(said(DELIVERY), command=f"/delivery {code}")])
    reply = render_reply(bot.renderer, CHANNEL, "order_placed", {"order": placed}, buttons, language=language)
    return Panel(await render(bot.core, reply, ephemeral=True))


def _text(bot: BotContext, actor: Actor, message: str, **values: object) -> str:
    """A phrase of this module in the clicker's language, filled in."""
    return bot.renderer.said(message, actor.language or ENGLISH, values)


def _said(bot: BotContext, actor: Actor, refusal: GomflowError) -> str:
    """A refusal in the clicker's language."""
    return bot.renderer.said(refusal.text, actor.language or ENGLISH, refusal.values)
