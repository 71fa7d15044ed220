"""/dashboard: a one-time link that signs a GOM or a team member in to the web dashboard."""

from __future__ import annotations

from bots.chat import Button, ChatReply
from bots.commands.table import Audience, Call, command
from core.errors import InvalidInput
from core.permissions import Permission
from core.services import dashboard
from core.when import local_text

SIGN_OUT = frozenset({"signout", "sign out", "logout", "out"})


@command(
    "dashboard",
    "[signout]",
    "Sign in to the web dashboard: your GOs, orders, proofs and payments (a one-time link)",
    audience=Audience.GOM,
    permission=Permission.ORDERS,
)
async def dashboard_link(call: Call) -> ChatReply:
    if call.args:
        if call.raw_args.strip().lower() not in SIGN_OUT:
            raise InvalidInput(
                "Send /dashboard for a sign-in link, or /dashboard signout to end every session."
            )
        ended = await dashboard.sign_out_everywhere(call.uow(), call.actor)
        return call.reply("dashboard_signed_out", ended=ended)
    link = await dashboard.send_sign_in_link(call.uow(), call.actor, call.bot.core.settings.public_base_url)
    button = Button(call.gettext("Open the dashboard"), url=link.url)
    expires = local_text(link.expires_at, call.bot.core.settings.default_timezone)
    return call.reply("dashboard_link", url=link.url, expires=expires, buttons=[[button]])
