"""Numbered menus: a reply's buttons where a platform has none (SMS, WhatsApp, email).

The buttons of a ``ChatReply`` are written under its text as "Reply 1 for …, 2 for …",
and the commands they stand for are kept as a row of the sender's conversation (DESIGN
rule 3), so the next message "1" runs the first one even after a restart or on another
worker. A menu lasts ``MENU_TTL`` and is replaced by the next reply that has buttons; a
reply without buttons ends it, so a number never runs something the person no longer
sees. A conversation of another flow (a new GO, a payment proof) is never overwritten:
the menu of its question rides beside it (``ConversationState.menu``), so "1" answers the
question as the first button would, and anything else is the flow's to read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bots.chat import ChatReply, ChatRequest
from bots.commands import BotContext
from bots.commands.table import render_reply
from bots.dispatch import handle
from core.errors import GomflowError
from core.languages import ENGLISH
from core.render import N_, Renderer
from core.services.accounts import Actor, identify
from core.services.conversations import (
    ConversationState,
    end_conversation,
    load_conversation,
    save_conversation,
)

MENU_FLOW = "menu"
MENU_TTL = timedelta(hours=24)
MAX_OPTIONS = 20  # a text message stays readable
MENU = N_("Reply %(options)s.")  # the options, each OPTION, joined with ", "
OPTION = N_("%(number)s for %(label)s")
NOT_ON_MENU = N_("Please reply with a number from 1 to %(count)s, or type a command.")


def numbered_text(reply: ChatReply, renderer: Renderer) -> tuple[str, list[str]]:
    """The reply's text with its buttons as numbered options, and the command of each number,
    the menu's words in the reply's own language (``reply.language``).

    A link button cannot be run by a number, so it is written out as its address.
    """
    commands: list[str] = []
    options: list[str] = []
    links: list[str] = []
    for row in reply.buttons:
        for button in row:
            if button.command and len(commands) < MAX_OPTIONS:
                commands.append(button.command)
                options.append(
                    renderer.said(OPTION, reply.language, {"number": len(commands), "label": button.label})
                )
            elif button.url:
                links.append(f"{button.label}: {button.url}")
    text = reply.text
    if options:
        text += "\n\n" + renderer.said(MENU, reply.language, {"options": ", ".join(options)})
    if links:
        text += "\n" + "\n".join(links)
    return text, commands


async def handle_numbered(bot: BotContext, request: ChatRequest) -> ChatReply:
    """Answer ``request`` for a platform without buttons: a number picks from the last menu."""
    try:
        actor = await identify(
            bot.core.uow(), request.channel, request.user_id, request.name, request.handle, request.language
        )
        state = await load_conversation(bot.core.reader(), actor.identity_id)
    except GomflowError as failure:  # the same polite answer the dispatcher gives
        language = request.language or ENGLISH
        return _refusal(bot, language, request, bot.renderer.said(failure.text, language, failure.values))
    text = request.text.strip()
    if state is not None and state.flow == MENU_FLOW and text.lower() == "/cancel":
        # a menu is not a conversation to leave: /cancel means the command, as elsewhere
        await end_conversation(bot.core.uow(), actor.identity_id)
    picked, unknown = _pick(state, text, bot.core.clock.now())
    if unknown is not None:
        language = actor.language or request.language or ENGLISH
        refusal = bot.renderer.said(NOT_ON_MENU, language, {"count": unknown})
        return _refusal(bot, language, request, refusal)
    if picked is not None:
        request = replace(request, text=picked)
    reply = await handle(bot, request, actor)
    if reply.unanswered:
        return reply
    text, commands = numbered_text(reply, bot.renderer)
    await _remember(bot, actor, commands)
    return replace(reply, text=text, buttons=[])


def _refusal(bot: BotContext, language: str, request: ChatRequest, message: str) -> ChatReply:
    reply = render_reply(
        bot.renderer, request.channel, "error", {"message": message}, alert=True, language=language
    )
    return replace(reply, text=numbered_text(reply, bot.renderer)[0])


def _pick(state: ConversationState | None, text: str, now: datetime) -> tuple[str | None, int | None]:
    """(what a number stands for: a command, or an answer to a flow's question; for a
    number the menu does not have, how many it has). Both None when the text is not a
    pick: it is handled as typed."""
    menu = _menu_in(state)
    if not text.isdigit() or menu is None or datetime.fromisoformat(str(menu.get("until"))) <= now:
        return None, None
    commands = [str(c) for c in menu.get("commands", [])]
    number = int(text)
    if not 1 <= number <= len(commands):
        return None, len(commands)
    return commands[number - 1], None


def _menu_in(state: ConversationState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return state.data if state.flow == MENU_FLOW else state.menu


async def _remember(bot: BotContext, actor: Actor, commands: list[str]) -> None:
    """Keep this reply's menu: as the conversation, or beside another flow's."""
    state = await load_conversation(bot.core.reader(), actor.identity_id)
    until = (bot.core.clock.now() + MENU_TTL).isoformat()
    if state is not None and state.flow != MENU_FLOW:
        beside = {"commands": commands, "until": until} if commands else None
        if beside != state.menu:
            await save_conversation(bot.core.uow(), actor.identity_id, replace(state, menu=beside))
        return
    if not commands:
        if state is not None:
            await end_conversation(bot.core.uow(), actor.identity_id)
        return
    menu = ConversationState(MENU_FLOW, "pick", {"commands": commands, "until": until})
    await save_conversation(bot.core.uow(), actor.identity_id, menu)
