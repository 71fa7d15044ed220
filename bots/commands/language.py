"""/language: which language gomflow writes to a person in."""

from __future__ import annotations

from bots.chat import Button, ChatReply
from bots.commands.table import Call, command
from core.languages import LANGUAGES
from core.services import language_choice


@command(
    "language", "[" + "|".join(LANGUAGES) + "]", "Choose the language I write to you in", in_groups=False
)
async def language(call: Call) -> ChatReply:
    if not call.args:
        current = language_choice.language_view(call.language)
        buttons = [[Button(name, command=f"/language {code}")] for code, name in current.choices]
        return call.reply("language", view=current, changed=False, buttons=buttons)
    chosen = await language_choice.set_language(call.uow(), call.actor, call.raw_args)
    return call.reply("language", view=chosen, changed=True, in_language=chosen.code)
