"""/reopen: a GO waiting for its GOM's decision below its MOQ takes orders again."""

from __future__ import annotations

from bots.chat import Button, ChatReply
from bots.commands.args import need
from bots.commands.table import Audience, Call, command
from core.permissions import Permission
from core.services import go_decision, reports

REOPEN_USAGE = "/reopen CODE WHEN (like +3d, 12h or 2026-12-24 20:00)"


@command(
    "reopen",
    "CODE WHEN",
    "Take orders again in a GO waiting below its MOQ, until a new deadline",
    audience=Audience.GOM,
    permission=Permission.MANAGE,
)
async def reopen(call: Call) -> ChatReply:
    need(call.args, 2, REOPEN_USAGE)
    await go_decision.reopen_group_order(call.uow(), call.actor, call.args[0], " ".join(call.args[1:]))
    card = await reports.group_order_card(call.reader(), call.args[0])
    return call.reply(
        "go_reopened", go=card, buttons=[[Button(call.gettext("Show the card"), command=f"/go {card.code}")]]
    )
