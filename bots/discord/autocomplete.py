"""Suggestions while a slash command's option is typed: GO codes, items and versions, orders.

Read-only, answered at once. What to suggest comes from the option (``slash.Option``'s
``autocomplete``); the choices themselves from core, the same ones every platform offers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bots.commands import COMMANDS, BotContext
from bots.discord import order
from bots.discord.slash import options_of
from core.languages import ENGLISH
from core.render import N_
from core.services import ordering, reports
from core.services.accounts import Actor

MAX_CHOICES = 25
CODE_FIRST = N_("Choose the group order (code) first")


async def suggest(
    bot: BotContext, actor: Actor, command: str, focused: str | None, options: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """(label, value) pairs for the focused option; none when it suggests nothing."""
    found = COMMANDS.get(command)
    if found is None or focused is None:
        return []
    kind = next((o.autocomplete for o in options_of(found) if o.name == focused), None)
    typed = str(options[focused].get("value") or "").strip().upper()
    if kind == "go":
        gos = await reports.browse_open(bot.core.reader())
        if actor.may_administer:
            gos += await reports.managed_group_orders(bot.core.reader(), actor)
        seen: dict[str, str] = {}
        for go in gos:
            if go.code.startswith(typed) and go.code not in seen:
                seen[go.code] = f"{go.code} · {go.title}"
        return [(label, code) for code, label in seen.items()][:MAX_CHOICES]
    if kind == "item":
        code = str((options.get("code") or {}).get("value") or "").strip()
        if not code:
            return [(bot.renderer.translate(CODE_FIRST, actor.language or ENGLISH), "?")]
        choices = await order.choices(bot, actor, code)  # an unknown GO is refused in words
        return [
            (f"{c.token} · {c.label} · {c.price}" + ("" if c.orderable else f" ({c.message})"), c.token)
            for c in choices.choices
            if c.token.upper().startswith(typed)
        ][:MAX_CHOICES]
    if kind == "order":
        orders = await ordering.my_orders(bot.core.reader(), actor)
        return [
            (f"{o.number} · {o.go_code} · {o.total} · {o.status}", o.number)
            for o in orders
            if o.number.upper().startswith(typed)
        ][:MAX_CHOICES]
    return []
