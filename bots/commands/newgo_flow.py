"""``/newgo`` as a conversation: one question at a time, the answers kept in the database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bots.chat import Button, ChatReply
from bots.commands.args import whole_number
from bots.commands.table import Call
from core.errors import GomflowError, InvalidInput
from core.money import CURRENCIES, get_currency
from core.render import N_
from core.services import accounts, group_orders, reports
from core.services.conversations import ConversationState, end_conversation, save_conversation
from core.services.group_orders import NewGroupOrder
from core.when import future_deadline, timezone_for

FLOW = "newgo"


@dataclass(frozen=True)
class Step:
    name: str
    prompt: str
    choices: tuple[str, ...] = ()


STEPS = (
    Step("code", N_("Pick a short code buyers will type, like SVT-FML (letters, digits, dashes).")),
    Step("title", N_("What is the group order called?")),
    Step("currency", N_("Which currency do buyers pay in?"), tuple(CURRENCIES)),
    Step("moq", N_("Minimum order quantity: how many units in total for the GO to go ahead?")),
    Step("capacity", N_("Capacity: the most units you will take in total?")),
    Step("limit", N_("Most units one buyer may order? (a number, or 'none')"), ("none",)),
    Step("deadline", N_("When do orders close? e.g. 2026-12-01 20:00, or +7d")),
)


async def start_newgo_conversation(call: Call) -> ChatReply:
    accounts.require_may_open_group_orders(call.actor)  # before seven questions, not after
    state = ConversationState(FLOW, STEPS[0].name, {})
    await save_conversation(call.uow(), call.actor.identity_id, state)
    return _ask(call, STEPS[0], intro=True)


async def continue_newgo(call: Call, state: ConversationState, text: str) -> ChatReply:
    index = next(i for i, step in enumerate(STEPS) if step.name == state.step)
    step = STEPS[index]
    try:
        state.data[step.name] = await _read(call, step.name, text.strip(), state.data)
    except GomflowError as refusal:
        return _ask(call, step, error=call.said(refusal))
    if index + 1 < len(STEPS):
        state.step = STEPS[index + 1].name
        await save_conversation(call.uow(), call.actor.identity_id, state)
        return _ask(call, STEPS[index + 1])
    data = state.data
    command = NewGroupOrder(
        code=data["code"],
        title=data["title"],
        currency=data["currency"],
        moq=data["moq"],
        capacity=data["capacity"],
        per_buyer_limit=data["limit"],
        deadline=data["deadline"],
        timezone=timezone_for(data["currency"], call.bot.core.settings.default_timezone),
    )
    try:
        code = await group_orders.create_group_order(call.uow(), call.actor, command)
    except GomflowError as refusal:
        await end_conversation(call.uow(), call.actor.identity_id)
        again = call.gettext("Start again with /newgo.")
        return call.reply("error", message=f"{call.said(refusal)} {again}")
    await end_conversation(call.uow(), call.actor.identity_id)
    return call.reply("go_created", go=await reports.group_order_card(call.reader(), code))


async def _read(call: Call, step: str, text: str, data: dict[str, Any]) -> Any:
    if not text:
        raise InvalidInput("Please type an answer (or /cancel to stop).")
    readers: dict[str, Callable[[], Any]] = {
        "title": lambda: text[:200],
        "currency": lambda: get_currency(text).code,
        "moq": lambda: whole_number(text, N_("MOQ")),
        "capacity": lambda: _capacity(text, data),
        "limit": lambda: (
            None
            if text.lower() in {"none", "no", "-", "0"}
            else whole_number(text, N_("Per-buyer limit"), minimum=1, maximum=data["capacity"])
        ),
        "deadline": lambda: _deadline(call, text, data),
    }
    if step == "code":
        return await group_orders.code_available(call.reader(), text)
    return readers[step]()


def _capacity(text: str, data: dict[str, Any]) -> int:
    return whole_number(text, N_("Capacity"), minimum=max(1, data["moq"]), maximum=group_orders.MAX_CAPACITY)


def _deadline(call: Call, text: str, data: dict[str, Any]) -> str:
    tz = timezone_for(data["currency"], call.bot.core.settings.default_timezone)
    future_deadline(text, tz, call.bot.core.clock.now())
    return text


def _ask(call: Call, step: Step, *, intro: bool = False, error: str | None = None) -> ChatReply:
    buttons = [
        [Button(choice, command=choice) for choice in step.choices[i : i + 3]]
        for i in range(0, len(step.choices), 3)
    ]
    return call.reply(
        "newgo_step",
        prompt=call.gettext(step.prompt),
        intro=intro,
        error=error,
        number=STEPS.index(step) + 1,
        total=len(STEPS),
        buttons=buttons,
    )
