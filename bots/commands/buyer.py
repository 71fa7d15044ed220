"""Commands every buyer can run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

from bots.chat import Button, ChatReply
from bots.commands.args import need
from bots.commands.payments import expect_proof
from bots.commands.table import Call, command, commands_for
from core.choices import OrderChoice, OrderChoices
from core.payments.qr import qr_png
from core.permissions import Permission
from core.quantities import parse_line_pairs
from core.services import bundled_orders, ordering, reports, waitlist


@command("start", "", "Say hello and see what gomflow can do")
async def start(call: Call) -> ChatReply:
    if call.args:  # a deep link that names a group order
        return await go(call)
    return call.reply("start", name=call.actor.name, is_admin=call.actor.may_administer)


@command("help", "", "List the commands you can use", in_groups=True)
async def help_(call: Call) -> ChatReply:
    return call.reply("help", commands=commands_for(call.actor), is_admin=call.actor.may_administer)


@command("browse", "", "Open group orders", in_groups=True)
async def browse(call: Call) -> ChatReply:
    gos = await reports.browse_open(call.reader())
    buttons = [[Button(f"{g.code} · {g.title}"[:60], command=f"/go {g.code}")] for g in gos[:10]]
    return call.reply("browse", gos=gos, buttons=buttons)


@command("go", "CODE", "Details, prices and progress of a group order", in_groups=True)
async def go(call: Call) -> ChatReply:
    need(call.args, 1, "/go CODE")
    card = await reports.visible_card(call.reader(), call.actor, call.args[0])
    choices = await ordering.choices_for(call.reader(), card, call.actor.user_id)
    return replace(
        call.reply("go_card", go=card, buttons=order_buttons(choices, partial(one_unit, call))),
        choices=choices,
    )


@command("order", "CODE ITEM QTY [ITEM QTY …]", "Order items, e.g. /order SVT-FML ALB:A 2", for_caller=True)
async def order(call: Call) -> ChatReply:
    need(call.args, 3, "/order CODE ITEM QTY [ITEM QTY …]")
    placed = await ordering.place_order(call.uow(), call.buyer, call.args[0], parse_line_pairs(call.args[1:]))
    if placed.language:  # theirs, read in the order's own trip to the desk: the buttons say it too
        call.sender = replace(call.sender, language=placed.language)
    buttons = [
        [Button(call.gettext("Pay"), command=f"/pay {placed.number}")],
        [Button(call.gettext("Cancel order"), command=f"/cancel {placed.number}")],
    ]
    if placed.choose_delivery:
        buttons.append([Button(call.gettext("Choose delivery"), command=f"/delivery {placed.go_code}")])
    if placed.rankable:  # read with the catalogue, in the order's own trip to the desk
        buttons.append(
            [Button(call.gettext("Rank the inclusions you want"), command=f"/rank {placed.number}")]
        )
    return call.reply(
        "order_placed", order=placed, buttons=buttons, rank=placed.rankable, in_language=placed.language
    )


@command("myorders", "", "Your orders and what is still to pay")
async def my_orders(call: Call) -> ChatReply:
    everything = bool(call.args and call.args[0].lower() == "all")
    mine = await bundled_orders.my_orders(call.uow(), call.actor, include_ended=everything)
    buttons = [
        [
            Button(call.gettext("Pay %(number)s", number=o.number), command=f"/pay {o.number}"),
            Button(call.gettext("Cancel %(number)s", number=o.number), command=f"/cancel {o.number}"),
        ]
        for o in mine.orders
        if o.status == "placed"
    ][:10]
    reply = call.reply(
        "my_orders", orders=mine.orders, bundles=mine.bundles, everything=everything, buttons=buttons
    )
    if len(mine.bundles) == 1 and mine.bundles[0].takes_proof:
        await expect_proof(call, mine.bundles[0].reference)
    qr = next((b.qr_payload for b in mine.bundles if b.qr_payload), None)
    return replace(reply, image=qr_png(qr)) if qr else reply


@command(
    "change",
    "ORDER ITEM QTY [ITEM QTY …]",
    "Replace what an unpaid order holds",
    verified_only=True,
    permission=Permission.ORDERS,
)
async def change(call: Call) -> ChatReply:
    need(call.args, 3, "/change ORDER ITEM QTY [ITEM QTY …]")
    changed = await ordering.change_order(
        call.uow(), call.actor, call.args[0], parse_line_pairs(call.args[1:])
    )
    return call.reply("order_changed", order=changed)


@command(
    "cancel",
    "ORDER",
    "Cancel an unpaid order (or leave a conversation)",
    verified_only=True,
    permission=Permission.ORDERS,
)
async def cancel(call: Call) -> ChatReply:
    need(call.args, 1, "/cancel ORDER")
    cancelled = await ordering.cancel_order(call.uow(), call.actor, call.args[0])
    return call.reply("order_cancelled", order=cancelled)


@command(
    "waitlist",
    "[CODE ITEM QTY | leave CODE]",
    "Queue for a sold-out item, or see your places",
    verified_only=frozenset({"leave"}),
)
async def waitlist_(call: Call) -> ChatReply:
    if not call.args:
        entries = await waitlist.my_waitlist(call.reader(), call.actor)
        return call.reply("waitlist_list", entries=entries)
    if call.args[0].lower() == "leave":
        need(call.args, 2, "/waitlist leave CODE")
        await waitlist.leave_waitlist(call.uow(), call.actor, call.args[1])
        return call.reply("waitlist_left", code=call.args[1].upper())
    need(call.args, 3, "/waitlist CODE ITEM QTY")
    (line,) = parse_line_pairs(call.args[1:3])
    entry = await waitlist.join_waitlist(call.uow(), call.actor, call.args[0], line)
    return call.reply("waitlist_joined", entry=entry)


def one_unit(call: Call, choices: OrderChoices, choice: OrderChoice) -> tuple[str, str]:
    """A button that orders one unit of ``choice`` by command, on any platform (given to
    ``order_buttons`` as ``partial(one_unit, call)``: its label in the sender's language)."""
    return call.gettext("Order 1 × %(item)s", item=choice.label), f"/order {choices.go.code} {choice.token} 1"


def order_buttons(
    choices: OrderChoices,
    button: Callable[[OrderChoices, OrderChoice], tuple[str, str]],
) -> list[list[Button]]:
    """One button per item or version this buyer may still order, for every platform.

    Which choices have room (open, before the deadline, capacity, stock, the buyer's own
    limit) is decided by ``core.choices``; ``button`` only says what a button reads and
    runs (a one-unit ``/order``, ``one_unit``; a tap-to-order step on Telegram).
    """
    rows: list[list[Button]] = []
    for choice in choices.orderable[:20]:
        label, runs = button(choices, choice)
        rows.append([Button(label[:60], command=runs)])
    return rows
