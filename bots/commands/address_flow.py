"""``/address add`` as a short conversation: one question at a time, each answer checked
before the next is asked, the answers kept in the database until the address is saved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bots.chat import Button, ChatReply
from bots.commands.table import Call
from core.delivery import addresses
from core.errors import GomflowError, InvalidInput
from core.render import N_
from core.services.conversations import ConversationState, end_conversation, save_conversation

FLOW = "address"
SKIP = {"-", "none", "no", "skip"}


@dataclass(frozen=True)
class Step:
    name: str
    prompt: str
    choices: tuple[str, ...] = ()


STEPS = (
    Step(
        "country", N_("Which country is it in? (two letters: SG, MY, PH, ID, TH, VN …)"), ("SG", "MY", "PH")
    ),
    Step("recipient", N_("Whom is the parcel for? (the name on the label)")),
    Step("phone", N_("Their phone number, for the courier?")),
    Step("line1", N_("Street address: block, street, unit?")),
    Step("line2", N_("A second line (building, district), or - for none?"), ("-",)),
    Step("postal_code", N_("Postal code?")),
)


async def start_address_conversation(call: Call) -> ChatReply:
    state = ConversationState(FLOW, STEPS[0].name, {})
    await save_conversation(call.uow(), call.actor.identity_id, state)
    return _ask(call, STEPS[0], intro=True)


async def continue_address(call: Call, state: ConversationState, text: str) -> ChatReply:
    index = next(i for i, step in enumerate(STEPS) if step.name == state.step)
    step = STEPS[index]
    try:
        state.data[step.name] = _read(step.name, text.strip(), state.data)
    except GomflowError as refusal:
        return _ask(call, step, error=call.said(refusal))
    if index + 1 < len(STEPS):
        state.step = STEPS[index + 1].name
        await save_conversation(call.uow(), call.actor.identity_id, state)
        return _ask(call, STEPS[index + 1])
    try:
        saved = await addresses.add_address(call.uow(), call.actor, addresses.NewAddress(**state.data))
    except GomflowError as refusal:
        await end_conversation(call.uow(), call.actor.identity_id)
        again = call.gettext("Start again with /address add.")
        return call.reply("error", message=f"{call.said(refusal)} {again}")
    await end_conversation(call.uow(), call.actor.identity_id)
    book = await addresses.my_addresses(call.reader(), call.actor)
    return call.reply("address_book", addresses=book, saved=saved, deleted=None)


def _read(step: str, text: str, data: dict[str, Any]) -> str:
    if not text:
        raise InvalidInput("Please type an answer (or /cancel to stop).")
    if step == "country":
        return addresses.check_country(text)
    if step == "phone":
        return addresses.check_phone(text, data["country"])
    if step == "postal_code":
        return addresses.check_postal_code(text, data["country"])
    if step == "line2" and text.lower() in SKIP:
        return ""
    limit = addresses.LIMITS[step]
    if len(text) > limit:
        raise InvalidInput("That is too long (at most %(limit)s characters).", limit=limit)
    return text


def _ask(call: Call, step: Step, *, intro: bool = False, error: str | None = None) -> ChatReply:
    buttons = [[Button(choice, command=choice) for choice in step.choices]] if step.choices else []
    return call.reply(
        "address_step",
        prompt=call.gettext(step.prompt),
        intro=intro,
        error=error,
        number=STEPS.index(step) + 1,
        total=len(STEPS),
        buttons=buttons,
    )
