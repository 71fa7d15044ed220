"""A person's own data: /mydata hands it over, /forgetme erases it, /forgetbuyer lets a GOM
erase a buyer who asked them in writing. Erasing asks first: the command again with
``confirm`` does it."""

from __future__ import annotations

from bots.chat import Button, ChatReply, Document
from bots.commands.table import Audience, Call, command
from core.permissions import Permission
from core.services import personal_data

CONFIRM = "confirm"


@command("mydata", "", "Get everything gomflow holds about you, as a file", verified_only=True)
async def mydata(call: Call) -> ChatReply:
    export = await personal_data.my_data(call.reader(), call.actor)
    document = Document(export.filename, export.content, "application/zip")
    return call.reply("my_data", filename=export.filename, document=document)


@command("forgetme", "[confirm]", "Erase your personal data from gomflow", verified_only=True)
async def forgetme(call: Call) -> ChatReply:
    if call.args[:1] != [CONFIRM]:
        confirm = [[Button(call.gettext("Erase my data"), command=f"/forgetme {CONFIRM}")]]
        return call.reply("forget_ask", buyer=None, buttons=confirm)
    number = await personal_data.forget_me(call.uow(), call.actor)
    return call.reply("forgotten", number=number, buyer=None)


@command(
    "forgetbuyer",
    "ORDER [confirm]",
    "Erase a buyer's personal data on their written request",
    audience=Audience.GOM,
    verified_only=True,
    permission=Permission.ERASE_BUYERS,
)
async def forgetbuyer(call: Call) -> ChatReply:
    if not call.args:
        return call.reply("forget_ask", buyer="usage")
    order = await personal_data.buyer_to_forget(call.reader(), call.actor, call.args[0])
    if call.args[1:2] != [CONFIRM]:
        confirm = [
            [Button(call.gettext("Erase this buyer's data"), command=f"/forgetbuyer {order} {CONFIRM}")]
        ]
        return call.reply("forget_ask", buyer=order, buttons=confirm)
    number = await personal_data.forget_buyer(call.uow(), call.actor, order)
    return call.reply("forgotten", number=number, buyer=order)
