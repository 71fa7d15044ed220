"""Shortfalls and store credit: /shortfall (preview, then confirm) and /credit."""

from __future__ import annotations

from bots.chat import Button, ChatReply
from bots.commands.args import need
from bots.commands.table import Audience, Call, command
from core.permissions import Permission
from core.services import refunds, shortfalls, store_credit


@command(
    "shortfall",
    "CODE ITEM[:VERSION]=ARRIVED … [refund|credit] [seed=WORD] [confirm]",
    "Fewer units arrived: see who goes short and what they get back, then confirm",
    audience=Audience.GOM,
    permission=Permission.REFUNDS,
)
async def shortfall(call: Call) -> ChatReply:
    need(call.args, 2, shortfalls.USAGE)
    code, words = call.args[0], call.args[1:]
    if words[-1].lower() != "confirm":
        view = await shortfalls.preview_shortfall(call.reader(), call.actor, code, words)
        again = " ".join(["/shortfall", view.code, *view.words, "confirm"])
        buttons = (
            [] if view.nothing_short else [[Button(call.gettext("Confirm the shortfall"), command=again)]]
        )
        return call.reply("shortfall_preview", s=view, confirm=again, buttons=buttons)
    view = await shortfalls.confirm_shortfall(call.uow(), call.actor, code, words[:-1])
    await refunds.run_pending_refunds(call.bot.core.uow, call.bot.core.payment_gateways)
    return call.reply("shortfall_applied", s=view)


@command(
    "credit",
    "[@buyer [+AMOUNT|-AMOUNT [CURRENCY] REASON]]",
    "Your store credit with each GOM; the GOM's team: a buyer's (@buyer), adjusted with a reason",
    permission=Permission.ORDERS,
)
async def credit(call: Call) -> ChatReply:
    if len(call.args) > 1:
        view = await store_credit.adjust_credit(call.uow(), call.actor, call.args[0], call.args[1:])
    elif call.args:
        view = await store_credit.buyer_credit(call.reader(), call.actor, call.args[0])
    else:
        view = await store_credit.my_credit(call.reader(), call.actor)
    return call.reply("credit_balance", c=view)
