"""/statement: the GOM's bank export, matched to open payment requests, applied on confirm."""

from __future__ import annotations

from bots.chat import Button, ChatReply
from bots.commands.args import whole_number
from bots.commands.table import Audience, Call, command
from core.errors import InvalidInput
from core.permissions import Permission
from core.render import N_
from core.services import statements

USAGE = (
    "Send your bank's export (CSV, XLSX, OFX or MT940) with the caption /statement, or paste the "
    "bank's notification of a transfer after /statement; then /statement apply ID"
)


@command(
    "statement",
    "(with the bank's export) | NOTIFICATION TEXT | apply ID",
    "Match your bank statement to open payments; applied when you confirm",
    audience=Audience.GOM,
    permission=Permission.PROOFS,
)
async def statement(call: Call) -> ChatReply:
    if len(call.args) == 2 and call.args[0].lower() == "apply":
        number = whole_number(call.args[1].lstrip("#"), N_("Statement number"), minimum=1, maximum=10**9)
        report = await statements.apply_statement(call.uow(), call.actor, number)
        return call.reply("statement_report", report=report)
    attachment = call.request.attachment
    if attachment is not None and not call.args:
        report = await statements.preview_statement(
            call.uow(), call.actor, attachment.content, attachment.filename
        )
    elif attachment is None and call.args:
        report = await statements.preview_notification(call.uow(), call.actor, call.raw_args)
    else:
        raise InvalidInput("Usage: %(usage)s", usage=USAGE)
    buttons = []
    if report.to_apply:
        label = call.gettext("Apply %(count)s payment(s)", count=report.to_apply)
        buttons = [[Button(label, command=f"/statement apply {report.import_id}")]]
    return call.reply("statement_report", report=report, buttons=buttons)
