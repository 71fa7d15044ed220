"""/nickname for buyers, /masterlist for a GO's team: the public list of claims."""

from __future__ import annotations

from dataclasses import replace

from bots.chat import ChatReply, Document
from bots.commands.args import need, whole_number
from bots.commands.table import Audience, Call, command
from core.errors import InvalidInput
from core.permissions import Permission
from core.render import N_
from core.services import masterlist, nicknames

MASTERLIST_USAGE = "/masterlist CODE [post|stop|csv|image [PAGE]]"


# A nickname is shown publicly: where a sender can be forged (email), only from a verified one.
@command(
    "nickname",
    "[NAME]",
    "The name masterlists show for you (never your real name or contact)",
    verified_only=True,
)
async def nickname(call: Call) -> ChatReply:
    if not call.args:
        shown = await nicknames.my_nickname(call.reader(), call.actor)
        return call.reply("nickname", nickname=shown.nickname, changed=False)
    chosen = await nicknames.set_nickname(call.uow(), call.actor, call.raw_args.strip().strip('"“”'))
    return call.reply("nickname", nickname=chosen.nickname, changed=True)


@command(
    "masterlist",
    "CODE [post|stop|csv|image [PAGE]]",
    "The public list of a GO's claims by nickname: see it, post it to linked channels (kept "
    "up to date), or get it as CSV or images",
    audience=Audience.GOM,
    permission=Permission.ORDERS,
)
async def masterlist_(call: Call) -> ChatReply:
    need(call.args, 1, MASTERLIST_USAGE)
    code, action = call.args[0], (call.args[1].lower() if len(call.args) > 1 else "")
    if action == "":
        shown = await masterlist.show_masterlist(call.reader(), call.actor, code)
        return call.reply("masterlist", **shown.context())
    if action == "post":
        posted = await masterlist.post_masterlist(call.uow(), call.actor, code)
        hours = int(masterlist.REPOST_EVERY.total_seconds() // 3600)
        return call.reply(
            "masterlist_posted",
            code=posted.code,
            channels=posted.channels,
            queued=posted.queued,
            stopped=None,
            repost_hours=hours,
        )
    if action == "stop":
        stopped = await masterlist.stop_masterlist(call.uow(), call.actor, code)
        return call.reply(
            "masterlist_posted", code=code.upper(), channels=0, queued=0, stopped=stopped, repost_hours=0
        )
    if action == "csv":
        filename, content = await masterlist.masterlist_csv(call.reader(), call.actor, code)
        return call.reply(
            "masterlist_file",
            code=code.upper(),
            filename=filename,
            page=0,
            pages=0,
            document=Document(filename, content),
        )
    if action == "image":
        page = whole_number(call.args[2], N_("Page"), minimum=1, maximum=10_000) if len(call.args) > 2 else 1
        drawn = await masterlist.masterlist_image(call.reader(), call.actor, code, page)
        reply = call.reply(
            "masterlist_file", code=drawn.code, filename=drawn.filename, page=drawn.page, pages=drawn.pages
        )
        return replace(reply, image=drawn.png)
    raise InvalidInput("Usage: %(masterlist_usage)s", masterlist_usage=MASTERLIST_USAGE)
