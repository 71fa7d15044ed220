"""From a ``ChatReply`` to what Discord shows: content, an embed, components, files.

Buttons become Discord buttons whose custom id runs the command (``c:<command>``); a
custom id over Discord's 100 characters is kept in the database behind a token
(``t:<token>``). A GO card (a reply whose buttons order one unit, ``order_buttons``) is an
embed with a progress bar and the deadline as a Discord timestamp, and a select menu of
the same choices core gives every platform (``order.card``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import discord

from bots.chat import Button, ChatReply
from core.app import Core
from core.render import Rendered, split_message
from core.services.callbacks import load_payload, store_payload

MAX_CONTENT = 2000
MAX_CUSTOM_ID = 100
MAX_ROWS, MAX_PER_ROW = 5, 5
MAX_LABEL = 80
COMMAND, ORDER, TOKEN = "c:", "o:", "t:"
ACTION_ROW, BUTTON = 1, 2  # component types


@dataclass
class Outgoing:
    """One answer: the first part goes as the response, the rest as follow-ups."""

    parts: list[str]
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    files: list[discord.File] = field(default_factory=list)
    ephemeral: bool = True

    def first(self) -> dict[str, Any]:
        """Keyword arguments for the response (or the first follow-up)."""
        kwargs: dict[str, Any] = {
            "content": self.parts[0] if self.parts else None,
            "allowed_mentions": discord.AllowedMentions.none(),
        }
        if self.embed is not None:
            kwargs["embed"] = self.embed
        if self.view is not None:
            kwargs["view"] = self.view
        if self.files:
            kwargs["files"] = self.files
        return kwargs


def plain(text: str, *, ephemeral: bool = True) -> Outgoing:
    return Outgoing([text[:MAX_CONTENT]], ephemeral=ephemeral)


async def encode(core: Core, payload: str) -> str:
    if len(payload) <= MAX_CUSTOM_ID and not payload.startswith(TOKEN):
        return payload
    return TOKEN + await store_payload(core.uow(), payload)


async def decode(core: Core, custom_id: str) -> str | None:
    """The payload behind a custom id; None for a token nobody stored."""
    if custom_id.startswith(TOKEN):
        return await load_payload(core.reader(), custom_id[len(TOKEN) :])
    return custom_id


async def render(core: Core, reply: ChatReply, *, ephemeral: bool) -> Outgoing:
    parts = [p.text for p in split_message(Rendered(reply.text), MAX_CONTENT)] or [""]
    out = Outgoing(parts, ephemeral=ephemeral or reply.alert)
    out.view = await view_of(core, reply.buttons)
    if reply.document is not None:
        out.files.append(discord.File(io.BytesIO(reply.document.content), filename=reply.document.filename))
    if reply.image is not None:
        out.files.append(discord.File(io.BytesIO(reply.image), filename="qr.png"))
    return out


async def view_of(core: Core, buttons: list[list[Button]]) -> discord.ui.View | None:
    """Buttons as components: at most five rows of five, links as link buttons."""
    flat = [b for row in buttons for b in row if b.url or b.command]
    if not flat:
        return None
    components: list[dict[str, Any]] = []
    for button in flat[: MAX_ROWS * MAX_PER_ROW]:
        component: dict[str, Any] = {"type": BUTTON, "disabled": False, "label": button.label[:MAX_LABEL]}
        if button.url:
            component.update(style=discord.ButtonStyle.link.value, url=button.url)
        else:
            custom_id = await encode(core, COMMAND + (button.command or ""))
            component.update(style=discord.ButtonStyle.secondary.value, custom_id=custom_id)
        components.append(component)
    rows = [components[i : i + MAX_PER_ROW] for i in range(0, len(components), MAX_PER_ROW)]
    return Components([{"type": ACTION_ROW, "components": row} for row in rows])


class Components(discord.ui.View):
    """Components laid out as Discord's JSON, sent as a view.

    A reply's buttons are answered by the adapter from their custom ids, never through a
    view kept in memory, so all a view is for here is this JSON; discord.py's ``Button``
    items, made only to be turned back into it, took about 30 µs of every order's answer."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__(timeout=None)
        self._rows = rows
        self.stop()  # sent, never stored (see ``finished``)

    def to_components(self) -> list[dict[str, Any]]:
        return self._rows


def finished(view: discord.ui.View) -> discord.ui.View:
    """Components are answered by the adapter from their custom ids, not by a view kept
    in memory: a stopped view is sent but never stored (so a restart loses nothing)."""
    view.stop()
    return view
