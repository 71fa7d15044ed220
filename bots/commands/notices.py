"""/notices: what a GOM or helper hears about their group orders, and when."""

from __future__ import annotations

from bots.chat import ChatReply
from bots.commands.table import Audience, Call, command
from core.errors import InvalidInput
from core.permissions import Permission
from core.services import notice_settings

USAGE = (
    "Usage: /notices, /notices digest 09:00 [Asia/Seoul], /notices digest off, "
    "/notices mute|unmute CODE, or /notices on|off (helpers)"
)


@command(
    "notices",
    "[digest HH:MM [ZONE] | digest off | mute|unmute CODE | on|off]",
    "What you are told about your group orders, and when",
    audience=Audience.GOM,
    permission=Permission.ORDERS,
)
async def notices(call: Call) -> ChatReply:
    action = call.args[0].lower() if call.args else ""
    rest = call.args[1:]
    if not action:
        settings = await notice_settings.show(call.reader(), call.actor)
    elif action == "digest" and len(rest) == 1 and rest[0].lower() == "off":
        settings = await notice_settings.set_digest(call.uow(), call.actor, None)
    elif action == "digest" and len(rest) in (1, 2):
        hour = notice_settings.parse_hour(rest[0])
        zone = rest[1] if len(rest) == 2 else None
        settings = await notice_settings.set_digest(call.uow(), call.actor, hour, zone)
    elif action in ("mute", "unmute") and len(rest) == 1:
        settings = await notice_settings.mute_go(call.uow(), call.actor, rest[0], action == "mute")
    elif action in ("on", "off") and not rest:
        settings = await notice_settings.set_helper_opt_in(call.uow(), call.actor, action == "on")
    else:
        raise InvalidInput(USAGE)
    return call.reply(
        "notice_settings", settings=settings, changed=action, code=rest[0].upper() if rest else ""
    )
