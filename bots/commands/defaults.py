"""/defaults: what a GOM's new group orders get when the GOM does not say (a per-buyer limit)."""

from __future__ import annotations

from bots.chat import ChatReply
from bots.commands.args import whole_number
from bots.commands.table import Audience, Call, command
from core.errors import InvalidInput
from core.permissions import Permission
from core.render import N_
from core.services import gom_defaults
from core.services.gom_defaults import MAX_DEFAULT_LIMIT

USAGE = (
    "Usage: /defaults, or /defaults limit N (each buyer's most units in your new GOs), or /defaults limit off"
)


@command(
    "defaults",
    "[limit N|off]",
    "Defaults for your new group orders: the most one buyer may take",
    audience=Audience.GOM,
    permission=Permission.OPEN_GO,
)
async def defaults(call: Call) -> ChatReply:
    if not call.args:
        limit = await gom_defaults.show_default_limit(call.reader(), call.actor)
        return call.reply("gom_defaults", limit=limit, changed=False)
    if len(call.args) != 2 or call.args[0].lower() != "limit":
        raise InvalidInput(USAGE)
    word = call.args[1].lower()
    wanted = (
        None
        if word in {"off", "none"}
        else whole_number(word, N_("Per-buyer limit"), minimum=1, maximum=MAX_DEFAULT_LIMIT)
    )
    limit = await gom_defaults.set_default_limit(call.uow(), call.actor, wanted)
    return call.reply("gom_defaults", limit=limit, changed=True)
