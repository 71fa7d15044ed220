"""A GO's money terms: prices in another currency, the GOM's fee, surcharges, deposits and
instalments (``core.services.money_terms``)."""

from __future__ import annotations

from bots.chat import ChatReply
from bots.commands.args import need
from bots.commands.table import Audience, Call, command
from core.permissions import Permission
from core.services import money_terms

GOM = Audience.GOM


@command(
    "money",
    "CODE",
    "A group order's money terms: rate, fee, surcharges, deposit, instalments",
    audience=GOM,
    permission=Permission.ORDERS,
)
async def money(call: Call) -> ChatReply:
    need(call.args, 1, "/money CODE")
    view = await money_terms.show(call.reader(), call.actor, call.args[0])
    return call.reply("money_terms", view=view)


@command(
    "rate",
    "CODE 1000 KRW = 0.98 SGD|off",
    "Price a group order in another currency at your rate",
    audience=GOM,
)
async def rate(call: Call) -> ChatReply:
    need(call.args, 2, money_terms.RATE_USAGE)
    view = await money_terms.set_rate(call.uow(), call.actor, call.args[0], " ".join(call.args[1:]))
    return call.reply("money_terms", view=view)


@command(
    "srcprice",
    "CODE ITEM[:VERSION] PRICE",
    "Set an item's price in the currency set with /rate",
    audience=GOM,
)
async def srcprice(call: Call) -> ChatReply:
    need(call.args, 3, money_terms.SRCPRICE_USAGE)
    view = await money_terms.set_source_price(
        call.uow(), call.actor, call.args[0], call.args[1], call.args[2]
    )
    return call.reply("money_terms", view=view)


@command(
    "fee", "CODE AMOUNT|PERCENT%|off", "Your fee per item, shown to buyers as its own line", audience=GOM
)
async def fee(call: Call) -> ChatReply:
    need(call.args, 2, money_terms.FEE_USAGE)
    view = await money_terms.set_fee(call.uow(), call.actor, call.args[0], call.args[1:])
    return call.reply("money_terms", view=view)


@command(
    "surcharge",
    "CODE METHOD AMOUNT|PERCENT%|off",
    "Pass an online method's fee on to buyers who use it",
    audience=GOM,
    permission=Permission.PAYOUTS,
)
async def surcharge(call: Call) -> ChatReply:
    need(call.args, 3, money_terms.SURCHARGE_USAGE)
    view = await money_terms.set_surcharge(call.uow(), call.actor, call.args[0], call.args[1], call.args[2:])
    return call.reply("money_terms", view=view)


@command(
    "deposit",
    "CODE PERCENT%|AMOUNT [days=N]|off",
    "Take a deposit now and the balance after arrival",
    audience=GOM,
)
async def deposit(call: Call) -> ChatReply:
    need(call.args, 2, money_terms.DEPOSIT_USAGE)
    view = await money_terms.set_deposit(call.uow(), call.actor, call.args[0], call.args[1:])
    return call.reply("money_terms", view=view)


@command(
    "instalments", "CODE DATE,DATE…|off", "Let buyers pay in 2 to 4 instalments on your dates", audience=GOM
)
async def instalments(call: Call) -> ChatReply:
    need(call.args, 2, money_terms.INSTALMENTS_USAGE)
    view = await money_terms.set_instalments(call.uow(), call.actor, call.args[0], " ".join(call.args[1:]))
    return call.reply("money_terms", view=view)
