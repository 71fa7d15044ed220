"""The one table of chat commands (DESIGN rule 2).

Each command is declared once with its name, arguments, who may run it and a short
handler that parses, calls one service and renders one template. Every adapter runs
commands only through this table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bots.chat import Button, ChatReply, ChatRequest, Document
from core.app import Core
from core.errors import GomflowError
from core.languages import ENGLISH
from core.permissions import Permission
from core.render import Renderer
from core.services.accounts import Actor, Caller
from core.uow import UnitOfWork


class Audience(StrEnum):
    EVERYONE = "everyone"
    GOM = "gom"  # GOMs and their helpers


@dataclass(frozen=True)
class BotContext:
    """What handlers need from the composition root."""

    core: Core
    renderer: Renderer


@dataclass
class Call:
    """One command being run: who asked, where, with which arguments."""

    bot: BotContext
    request: ChatRequest
    # who asked: looked up, or (for a command declared ``for_caller``) not yet
    sender: Actor | Caller
    args: list[str]
    raw_args: str

    @property
    def actor(self) -> Actor:
        """Who asked, looked up (every command not declared ``for_caller`` has them)."""
        if not isinstance(self.sender, Actor):
            raise RuntimeError("this command runs before its sender is looked up: use Call.buyer")
        return self.sender

    @actor.setter
    def actor(self, actor: Actor) -> None:
        self.sender = actor

    @property
    def buyer(self) -> Actor | Caller:
        """Who asked, for a service that takes a ``Caller`` and looks them up itself."""
        return self.sender

    @property
    def language(self) -> str:
        """What the sender reads: their own language, else what their platform says, else English."""
        return self.sender.language or self.request.language or ENGLISH

    def gettext(self, message: str, **values: object) -> str:
        """A phrase of the adapter's own (a button, a menu's frame) in the sender's language,
        filled in: ``call.gettext("Pay %(number)s", number=order.number)``."""
        return self.bot.renderer.said(message, self.language, values)

    def said(self, refusal: GomflowError) -> str:
        """A refusal from the core in the sender's language."""
        return self.bot.renderer.said(refusal.text, self.language, refusal.values)

    def uow(self) -> UnitOfWork:
        return self.bot.core.uow()

    def reader(self) -> UnitOfWork:
        return self.bot.core.reader()

    def reply(
        self,
        template: str,
        *,
        buttons: list[list[Button]] | None = None,
        document: Document | None = None,
        alert: bool = False,
        in_language: str | None = None,
        **context: Any,
    ) -> ChatReply:
        """The reply in the sender's language (or ``in_language``, when the service that
        answered found theirs: the order path looks its buyer up itself)."""
        return render_reply(
            self.bot.renderer,
            self.request.channel,
            template,
            context,
            buttons,
            document,
            alert,
            in_language or self.language,
        )


Handler = Callable[[Call], Awaitable[ChatReply]]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    audience: Audience
    handler: Handler
    in_groups: bool = False
    # undoes what a person has or changes who they are (cancel an order, link accounts):
    # where a sender can be forged (email), taken only from a verified sender, like every
    # GOM command; a word list names the first arguments that do so (``/waitlist leave``)
    verified_only: bool | frozenset[str] = False
    # what a GOM's team member needs to run it (core.permissions), checked in core against
    # their role on the GO's team; GOM commands that name none need MANAGE, and a buyer
    # command names one only where staff may also act with it on others' orders (/cancel)
    permission: Permission | None = None
    # runs before its sender is looked up: its one service call takes ``Call.buyer`` and
    # looks them up in its own trip to the order desk (one trip for the message, not two)
    for_caller: bool = False

    @property
    def staff_permission(self) -> Permission | None:
        if self.permission is None and self.audience is Audience.GOM:
            return Permission.MANAGE
        return self.permission

    def needs_verified_sender(self, args: list[str]) -> bool:
        if self.audience is Audience.GOM or self.verified_only is True:
            return True
        words = self.verified_only or frozenset()
        return bool(args) and args[0].lower() in words


COMMANDS: dict[str, Command] = {}


def command(
    name: str,
    usage: str,
    summary: str,
    *,
    audience: Audience = Audience.EVERYONE,
    in_groups: bool = False,
    verified_only: bool | frozenset[str] = False,
    permission: Permission | None = None,
    for_caller: bool = False,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in COMMANDS:
            raise ValueError(f"command /{name} is declared twice")
        COMMANDS[name] = Command(
            name, usage, summary, audience, handler, in_groups, verified_only, permission, for_caller
        )
        return handler

    return register


def commands_for(actor: Actor) -> list[Command]:
    """What this person may run, in table order: buyers never see GOM commands, and a
    team member sees those their highest role allows."""
    return [c for c in COMMANDS.values() if c.audience is Audience.EVERYONE or _allowed(c, actor)]


def _allowed(entry: Command, actor: Actor) -> bool:
    permission = entry.staff_permission
    return actor.may_administer and (permission is None or actor.may(permission))


def render_reply(
    renderer: Renderer,
    channel: str,
    template: str,
    context: Mapping[str, Any],
    buttons: list[list[Button]] | None = None,
    document: Document | None = None,
    alert: bool = False,
    language: str = ENGLISH,
) -> ChatReply:
    rendered = renderer.render(template, channel, context, language)
    return ChatReply(rendered.text, rendered.markup, buttons or [], document, alert=alert, language=language)
