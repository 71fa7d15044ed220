"""The GOM's bookkeeping: money received outside gomflow (/markpaid)."""

from __future__ import annotations

from bots.chat import ChatReply
from bots.commands.args import need
from bots.commands.table import Audience, Call, command
from core.services import marked_payments

MARKPAID_USAGE = "/markpaid ORDER AMOUNT [NOTE]"


@command(
    "markpaid",
    "ORDER AMOUNT [NOTE]",
    "Record money you received outside gomflow (cash, a transfer you saw)",
    audience=Audience.GOM,
)
async def markpaid(call: Call) -> ChatReply:
    need(call.args, 2, MARKPAID_USAGE)
    recorded = await marked_payments.mark_paid(
        call.uow(), call.actor, call.args[0], call.args[1], " ".join(call.args[2:])
    )
    return call.reply("marked_paid", paid=recorded)
