"""A GOM's team: adding people, their roles (core.permissions), and who is on it."""

from __future__ import annotations

from bots.chat import ChatReply
from bots.commands.args import need
from bots.commands.table import Audience, Call, command
from core.errors import InvalidInput
from core.permissions import Permission, Role, assignable_role
from core.services import accounts, team
from core.when import local_text

HELPER_USAGE = (
    "Usage: /helper invite, /helper add HANDLE [manager], /helper remove HANDLE, "
    "/helper role HANDLE manager|helper"
)


@command(
    "helper",
    "invite | add HANDLE [ROLE] | remove HANDLE | role HANDLE ROLE",
    "Your team: add someone (a helper, or a manager), change their role, remove them",
    audience=Audience.GOM,
    permission=Permission.TEAM,
)
async def helper(call: Call) -> ChatReply:
    action = call.args[0].lower() if call.args else ""
    if action == "invite" and len(call.args) == 1:
        invite = await accounts.invite_helper(call.uow(), call.actor)
        expires = local_text(invite.expires_at, call.bot.core.settings.default_timezone)
        return call.reply("helper_invite", code=invite.code, expires=expires)
    if action == "add" and len(call.args) in {2, 3}:
        role = assignable_role(call.args[2]) if len(call.args) == 3 else Role.HELPER
        name = await accounts.add_helper(call.uow(), call.actor, call.args[1], role)
        return call.reply("helper_changed", name=name, added=True, role=role.value)
    if action == "remove" and len(call.args) == 2:
        name = await accounts.remove_helper(call.uow(), call.actor, call.args[1])
        return call.reply("helper_changed", name=name, added=False)
    if action == "role" and len(call.args) == 3:
        name, role = await team.set_role(call.uow(), call.actor, call.args[1], call.args[2])
        return call.reply("team_role_set", name=name, role=role.value)
    raise InvalidInput(HELPER_USAGE)


@command(
    "helpers",
    "",
    "Your team: everyone who helps run the group orders, and their roles",
    audience=Audience.GOM,
    permission=Permission.ORDERS,
)
async def helpers(call: Call) -> ChatReply:
    return call.reply("team_list", teams=await team.teams(call.reader(), call.actor))


@command("join", "CODE", "Become a GOM's helper with the invite code they gave you")
async def join(call: Call) -> ChatReply:
    need(call.args, 1, "/join CODE")
    gom_name = await accounts.join_staff(call.uow(), call.actor, call.raw_args)
    return call.reply("helper_joined", gom=gom_name)
