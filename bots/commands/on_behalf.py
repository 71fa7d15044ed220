"""Orders a GOM or helper places for a buyer who asked them elsewhere (``/orderfor``)."""

from __future__ import annotations

from bots.chat import ChatReply
from bots.commands.args import need
from bots.commands.table import Audience, Call, command
from core.permissions import Permission
from core.quantities import parse_line_pairs
from core.services import on_behalf


@command(
    "orderfor",
    "CODE BUYER ITEM QTY [ITEM QTY …]",
    'Order for a buyer who asked you elsewhere (BUYER is @handle, or new:"Name")',
    audience=Audience.GOM,
    permission=Permission.ORDERS,
)
async def orderfor(call: Call) -> ChatReply:
    need(call.args, 4, on_behalf.USAGE)
    placed = await on_behalf.place_order_for(
        call.uow(), call.actor, call.args[0], call.args[1], parse_line_pairs(call.args[2:])
    )
    return call.reply("order_placed_for", order=placed)
