"""Broadcasts, linked group channels and muting."""

from __future__ import annotations

import re

from bots.chat import Button, ChatReply
from bots.commands.args import need, whole_number
from bots.commands.table import Audience, Call, command
from core.errors import InvalidInput
from core.permissions import Permission
from core.render import N_
from core.services import broadcasts, linked_channels, optout

GOM = Audience.GOM
BROADCAST_USAGE = "/broadcast CODE all|unpaid|paid|waitlist|channels MESSAGE (or /broadcast confirm ID)"
SCHEDULE_USAGE = (
    '/schedule CODE WHEN all|unpaid|paid|waitlist|channels MESSAGE, WHEN like "2026-12-01 20:00" or +2h'
)
_TOKEN = re.compile(r'\s*(?:"[^"]*"|“[^”]*”|\S+)')
_CLOCK = re.compile(r"^\d{1,2}:\d{2}$")


def rest_after(raw: str, words: int) -> str:
    """The text after the first ``words`` words, as typed (line breaks and quotes kept)."""
    position = 0
    for _ in range(words):
        match = _TOKEN.match(raw, position)
        if match is None:
            return ""
        position = match.end()
    return raw[position:].strip()


def _reply_for(call: Call, view: broadcasts.BroadcastView) -> ChatReply:
    buttons = []
    if view.status == "draft":
        buttons = [
            [
                Button(
                    call.gettext("Send to %(count)s", count=view.recipients),
                    command=f"/broadcast confirm {view.id}",
                )
            ],
            [Button(call.gettext("Drop it"), command=f"/unschedule {view.id}")],
        ]
    return call.reply("broadcast_preview", b=view, buttons=buttons)


@command(
    "broadcast",
    "CODE AUDIENCE MESSAGE",
    "Message a GO's buyers, waitlist or linked channels",
    audience=GOM,
    permission=Permission.BROADCASTS,
)
async def broadcast(call: Call) -> ChatReply:
    if call.args and call.args[0].lower() == "confirm":
        need(call.args, 2, "/broadcast confirm ID")
        broadcast_id = whole_number(
            call.args[1].lstrip("#"), N_("Broadcast number"), minimum=1, maximum=10**9
        )
        view = await broadcasts.confirm_broadcast(call.uow(), call.actor, broadcast_id)
        return _reply_for(call, view)
    need(call.args, 3, BROADCAST_USAGE)
    view = await broadcasts.prepare_broadcast(
        call.uow(),
        call.actor,
        call.args[0],
        call.args[1],
        rest_after(call.raw_args, 2),
        confirm_over=call.bot.core.settings.broadcast_confirm_over,
    )
    return _reply_for(call, view)


@command(
    "schedule",
    "CODE WHEN AUDIENCE MESSAGE",
    "Broadcast later (in the GO's timezone)",
    audience=GOM,
    permission=Permission.BROADCASTS,
)
async def schedule(call: Call) -> ChatReply:
    need(call.args, 4, SCHEDULE_USAGE)
    when, used = call.args[1], 2
    if _CLOCK.match(call.args[2]) and len(call.args) >= 5:  # 2026-12-01 20:00 typed without quotes
        when, used = f"{call.args[1]} {call.args[2]}", 3
    view = await broadcasts.prepare_broadcast(
        call.uow(),
        call.actor,
        call.args[0],
        call.args[used],
        rest_after(call.raw_args, used + 1),
        confirm_over=call.bot.core.settings.broadcast_confirm_over,
        when=when,
    )
    return _reply_for(call, view)


@command("scheduled", "", "Broadcasts waiting for their time", audience=GOM, permission=Permission.BROADCASTS)
async def scheduled(call: Call) -> ChatReply:
    items = await broadcasts.list_broadcasts(call.reader(), call.actor, scheduled_only=True)
    buttons = [
        [Button(call.gettext("Cancel #%(number)s", number=b.id), command=f"/unschedule {b.id}")]
        for b in items[:10]
    ]
    return call.reply("broadcast_list", items=items, scheduled_only=True, buttons=buttons)


@command("unschedule", "ID", "Cancel a scheduled broadcast", audience=GOM, permission=Permission.BROADCASTS)
async def unschedule(call: Call) -> ChatReply:
    need(call.args, 1, "/unschedule ID")
    broadcast_id = whole_number(call.args[0].lstrip("#"), N_("Broadcast number"), minimum=1, maximum=10**9)
    view = await broadcasts.cancel_broadcast(call.uow(), call.actor, broadcast_id)
    return call.reply("broadcast_preview", b=view)


@command(
    "broadcasts",
    "",
    "Your broadcasts: sent, pending and failed",
    audience=GOM,
    permission=Permission.BROADCASTS,
)
async def broadcasts_(call: Call) -> ChatReply:
    items = await broadcasts.list_broadcasts(call.reader(), call.actor, scheduled_only=False)
    return call.reply("broadcast_list", items=items, scheduled_only=False)


@command(
    "linkchannel",
    "CODE PLATFORM TARGET",
    "Send a GO's announcements to a group",
    audience=GOM,
    permission=Permission.BROADCASTS,
)
async def linkchannel(call: Call) -> ChatReply:
    need(call.args, 3, "/linkchannel CODE PLATFORM TARGET")
    linked = await linked_channels.link_channel(
        call.uow(),
        call.actor,
        *call.args[:3],
        targets=call.bot.core.link_targets,
        verifiers=call.bot.core.channel_verifiers,
        public_base_url=call.bot.core.settings.public_base_url,
    )
    return call.reply("channel_linked", channel=linked, code=call.args[0].upper(), linked=True)


@command(
    "unlinkchannel",
    "CODE PLATFORM TARGET",
    "Stop a group's announcements",
    audience=GOM,
    permission=Permission.BROADCASTS,
)
async def unlinkchannel(call: Call) -> ChatReply:
    need(call.args, 3, "/unlinkchannel CODE PLATFORM TARGET")
    unlinked = await linked_channels.unlink_channel(
        call.uow(), call.actor, *call.args[:3], targets=call.bot.core.link_targets
    )
    return call.reply("channel_linked", channel=unlinked, code=call.args[0].upper(), linked=False)


@command("channels", "CODE", "The groups linked to a GO", audience=GOM, permission=Permission.BROADCASTS)
async def channels(call: Call) -> ChatReply:
    need(call.args, 1, "/channels CODE")
    found = await linked_channels.list_channels(call.reader(), call.actor, call.args[0])
    return call.reply("channels_list", channels=found, code=call.args[0].upper())


@command("mute", "", "Stop GOM announcements (order messages still come)")
async def mute(call: Call) -> ChatReply:
    if call.args:
        raise InvalidInput("Just /mute: it stops announcements from every GO.")
    await optout.set_muted(call.uow(), call.actor, True)
    return call.reply("muted", muted=True)


@command("unmute", "", "Get GOM announcements again")
async def unmute(call: Call) -> ChatReply:
    await optout.set_muted(call.uow(), call.actor, False)
    return call.reply("muted", muted=False)
