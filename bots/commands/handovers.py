"""Handing a claim to another buyer (``/handover``) and backing out of one (``/backout``)."""

from __future__ import annotations

from bots.chat import Button, ChatReply
from bots.commands.args import need
from bots.commands.table import Call, command
from core.permissions import Permission
from core.services import backouts, handovers
from core.services.handovers import HandoverView

ANSWERS = {"accept": True, "decline": False}


@command(
    "handover",
    "[ORDER @buyer | accept N | decline N | cancel N | ORDER]",
    "Hand an order to another buyer, answer an offer, or see an order's handovers",
    verified_only=True,
    permission=Permission.ORDERS,
)
async def handover(call: Call) -> ChatReply:
    if not call.args:
        shown = await handovers.handovers_of(call.reader(), call.actor)
        return call.reply("handover_list", handovers=shown, number="", buttons=_buttons(call, shown))
    word = call.args[0].lower()
    if word in ANSWERS or word == "cancel":
        need(call.args, 2, f"/handover {word} N")
        if word == "cancel":
            done = await handovers.cancel_handover(call.uow(), call.actor, call.args[1])
        else:
            done = await handovers.answer_handover(call.uow(), call.actor, call.args[1], ANSWERS[word])
        return call.reply("handover_view", h=done, event=word)
    if len(call.args) == 1:
        shown = await handovers.handovers_of(call.reader(), call.actor, call.args[0])
        number = call.args[0].strip().upper().lstrip("#")
        return call.reply("handover_list", handovers=shown, number=number, buttons=_buttons(call, shown))
    need(call.args, 2, handovers.USAGE)
    offered = await handovers.offer_handover(call.uow(), call.actor, call.args[0], call.args[1])
    return call.reply("handover_view", h=offered, event="offer", buttons=_buttons(call, [offered]))


@command(
    "backout",
    "ORDER [confirm]",
    "Back out of an order, as the group order's policy allows",
    verified_only=True,
)
async def backout(call: Call) -> ChatReply:
    need(call.args, 1, "/backout ORDER [confirm]")
    confirmed = len(call.args) > 1 and call.args[1].lower() == "confirm"
    result = await backouts.backout(call.uow(), call.actor, call.args[0], confirmed)
    again = f"/backout {result.number} confirm"
    buttons = (
        []
        if result.done
        else [[Button(call.gettext("Back out, refund %(amount)s", amount=result.refund)[:60], command=again)]]
    )
    return call.reply("backout", b=result, confirm=again, buttons=buttons)


def _buttons(call: Call, shown: list[HandoverView]) -> list[list[Button]]:
    rows: list[list[Button]] = []
    for h in shown[:10]:
        if h.mine_to_answer:
            rows.append(
                [
                    Button(
                        call.gettext("Accept %(number)s", number=h.number)[:60],
                        command=f"/handover accept {h.id}",
                    ),
                    Button(
                        call.gettext("Decline %(number)s", number=h.number)[:60],
                        command=f"/handover decline {h.id}",
                    ),
                ]
            )
        elif h.mine_to_cancel:
            rows.append(
                [
                    Button(
                        call.gettext("Cancel offer of %(number)s", number=h.number)[:60],
                        command=f"/handover cancel {h.id}",
                    )
                ]
            )
    return rows
