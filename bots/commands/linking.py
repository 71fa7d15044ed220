"""One buyer across every app: /link and /unlink."""

from __future__ import annotations

from bots.chat import ChatReply
from bots.commands.table import Call, command
from core.services import linking
from core.when import local_text


@command("link", "[CODE]", "Join your accounts in two apps into one buyer", verified_only=True)
async def link(call: Call) -> ChatReply:
    if not call.args:
        invite = await linking.new_code(call.uow(), call.actor)
        channels = await linking.linked_channels(call.reader(), call.actor)
        expires = local_text(invite.expires_at, call.bot.core.settings.default_timezone)
        return call.reply("link_code", code=invite.code, expires=expires, channels=channels)
    linked = await linking.link(call.bot.core.uow, call.actor, call.raw_args)
    return call.reply("linked", linked=linked)


@command("unlink", "[APP]", "Part this app (or the one named) from your linked accounts", verified_only=True)
async def unlink(call: Call) -> ChatReply:
    channel = await linking.unlink(call.uow(), call.actor, call.args[0] if call.args else None)
    return call.reply("unlinked", channel=channel)


@command("prefer", "[APP]", "Choose the app your messages go to first: telegram, email, sms …")
async def prefer(call: Call) -> ChatReply:
    chosen, channels = await linking.prefer(call.uow(), call.actor, call.args[0] if call.args else None)
    return call.reply("preferred", chosen=chosen, channels=channels)
