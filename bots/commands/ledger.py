"""The GOM's bookkeeping: money received outside gomflow (/markpaid) and the proofs that
match exactly, approved together (/approve all, reached through /approve)."""

from __future__ import annotations

from bots.chat import Button, ChatReply, Document
from bots.commands.args import key_values, need, whole_number
from bots.commands.table import Audience, Call, command
from core.permissions import Permission
from core.services import buyer_sheet, marked_payments, proof_batches

MARKPAID_USAGE = "/markpaid ORDER AMOUNT [NOTE]"
APPROVE_ALL_USAGE = "/approve all CODE"


@command(
    "markpaid",
    "ORDER AMOUNT [NOTE]",
    "Record money you received outside gomflow (cash, a transfer you saw)",
    audience=Audience.GOM,
    permission=Permission.PROOFS,
)
async def markpaid(call: Call) -> ChatReply:
    need(call.args, 2, MARKPAID_USAGE)
    recorded = await marked_payments.mark_paid(
        call.uow(), call.actor, call.args[0], call.args[1], " ".join(call.args[2:])
    )
    return call.reply("marked_paid", paid=recorded)


async def approve_all(call: Call) -> ChatReply:
    """``/approve all CODE`` lists the exact matches with a button to confirm;
    ``/approve all CODE confirm=N`` approves those shown (up to proof N)."""
    need(call.args, 2, APPROVE_ALL_USAGE)
    positional, options = key_values(call.args[1:])
    code = positional[0] if positional else ""
    if "confirm" not in options:
        batch = await proof_batches.matching_proofs(call.reader(), call.actor, code)
        confirm = f"/approve all {batch.go_code} confirm={batch.newest}"
        label = call.gettext("Approve the %(count)s that match", count=len(batch.exact))
        buttons = [[Button(label, command=confirm)]] if batch.exact else []
        return call.reply("proofs_matched", batch=batch, confirm=confirm, buttons=buttons)
    newest = whole_number(options["confirm"], "confirm=", maximum=2_000_000_000)
    batch = await proof_batches.approve_matching(call.bot.core.uow, call.actor, code, newest)
    return call.reply("proofs_matched", batch=batch, confirm="")


async def buyers_csv(call: Call) -> ChatReply:
    """``/payments CODE csv``: the per-buyer totals as a spreadsheet."""
    filename, content = await buyer_sheet.buyer_totals_csv(call.reader(), call.actor, call.args[0])
    return call.reply("buyer_totals_ready", filename=filename, document=Document(filename, content))
