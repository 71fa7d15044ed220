"""From a ``ChatRequest`` to a ``ChatReply``: the one path every adapter takes.

This is the outermost boundary of a chat message, so it is where an unexpected error is
logged and turned into a polite answer; refusals from the core become their message.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from difflib import get_close_matches

from bots.chat import MAX_TEXT, ChatReply, ChatRequest
from bots.commands import COMMANDS, Audience, BotContext, Call, Command, commands_for
from bots.commands.address_flow import FLOW as ADDRESS_FLOW
from bots.commands.address_flow import continue_address
from bots.commands.args import split_args
from bots.commands.newgo_flow import FLOW as NEWGO_FLOW
from bots.commands.newgo_flow import continue_newgo
from bots.commands.payments import PROOF_FLOW, continue_proof, proof_without_command
from bots.commands.policy import ask_to_agree
from bots.commands.table import render_reply
from core import inbound
from core.db.engine import database_busy
from core.errors import AlreadyHandled, GomflowError, PermissionDenied, PolicyNotAgreed
from core.languages import ENGLISH
from core.permissions import DOES
from core.render import N_
from core.services.accounts import Actor, Caller, identify
from core.services.conversations import end_conversation, load_conversation

log = logging.getLogger(__name__)

UNVERIFIED = N_(
    "/%(name)s manages a group order, its money or your accounts, so I only take it from a sender "
    "your provider has verified (for email: DKIM or SPF), and this message was not verified. "
    "Nothing was changed; send it from the app you usually use, or see the help on email."
)

SLOW_DOWN = N_(
    "You are sending messages faster than I can answer everyone fairly. Please slow down: "
    "what you send in the next few seconds is skipped, then I answer again as usual."
)
NOT_YOUR_ROLE = N_("As a %(role)s you may not %(does)s (/%(name)s). /helpers shows your team and its roles.")
TOO_LONG = N_("That message is too long (%(length)s characters; the limit is %(limit)s).")
OOPS = N_("Sorry, something went wrong on our side. Nothing was changed; please try again.")

FLOWS = {NEWGO_FLOW: continue_newgo, PROOF_FLOW: continue_proof, ADDRESS_FLOW: continue_address}


async def handle(bot: BotContext, request: ChatRequest, actor: Actor | None = None) -> ChatReply:
    """Answer one request. ``actor`` is its sender when the adapter already looked them up
    for this update (each update identifies its sender once); otherwise it is done here,
    when the command needs them: one declared ``for_caller`` (/order) gets the sender as a
    ``Caller``, looked up in its own trip to the order desk."""

    sender = Sender(bot, request, actor)

    def refuse(refusal: GomflowError, code: str | None = None) -> ChatReply:
        language = sender.language
        message = bot.renderer.said(refusal.text, language, refusal.values)
        reply = render_reply(
            bot.renderer, request.channel, "error", {"message": message}, alert=True, language=language
        )
        return replace(reply, refusal=code or refusal.code)

    handling = inbound.current()
    if handling is not None and bot.core.inbound_limit.slowed(handling.source, handling.external_id):
        return refuse(GomflowError(SLOW_DOWN), "slow_down")  # over the sender's limit: said once
    if len(request.text) > MAX_TEXT:
        return refuse(
            GomflowError(TOO_LONG, length=format(len(request.text), ","), limit=format(MAX_TEXT, ","))
        )
    try:
        return await _route(bot, request, sender)
    except PolicyNotAgreed as ask:  # a first order in a GO with rules: show them, "I agree"
        return await ask_to_agree(bot, request.channel, ask, sender.language)
    except AlreadyHandled as repeat:  # its first handling answered: a repeat is ignored
        return ChatReply("", refusal=repeat.code)
    except GomflowError as refusal:
        return refuse(refusal)
    except Exception as exc:
        if (busy := database_busy(exc)) is not None:
            log.warning("database busy: %r from %s:%s", request.text[:80], request.channel, request.user_id)
            return refuse(busy)
        log.exception("command failed: %r from %s:%s", request.text[:80], request.channel, request.user_id)
        return refuse(GomflowError(OOPS))


class Sender:
    """Who sent a request, looked up at most once, and only when something needs them."""

    def __init__(self, bot: BotContext, request: ChatRequest, actor: Actor | None) -> None:
        self._bot, self._request, self._actor = bot, request, actor

    async def actor(self) -> Actor:
        if self._actor is None:
            r = self._request
            self._actor = await identify(
                self._bot.core.uow(), r.channel, r.user_id, r.name, r.handle, r.language
            )
        return self._actor

    @property
    def language(self) -> str:
        """What the sender reads, as far as is known without looking them up."""
        known = self._actor.language if self._actor is not None else None
        return known or self._request.language or ENGLISH

    def caller(self) -> Actor | Caller:
        """The sender if looked up already, else who wrote (for a ``for_caller`` command)."""
        r = self._request
        return self._actor or Caller(r.channel, r.user_id, r.name, r.handle, r.language)


async def _route(bot: BotContext, request: ChatRequest, sender: Sender) -> ChatReply:
    text = request.text.strip()
    if text.startswith("/"):
        head, _, rest = text[1:].partition(" ")
        name = head.split("@", 1)[0].lower()  # /go@gomflow_bot in groups
        args = split_args(rest)
        entry = COMMANDS.get(name)
        if entry is not None and entry.for_caller and not _needs_actor(entry):
            call = Call(bot, request, sender.caller(), args, rest.strip())
            refusal = _refusal(call, entry)
            return refusal if refusal is not None else await entry.handler(call)
        actor = await sender.actor()
        call = Call(bot, request, actor, args, rest.strip())
        if name == "cancel" and not args and await end_conversation(bot.core.uow(), actor.identity_id):
            return call.reply("conversation_ended")
        if entry is None:
            return call.reply(
                "unknown_command", name=name[:30], suggestion=nearest_command(name, actor), alert=True
            )
        if not request.sender_verified and entry.needs_verified_sender(args):  # typed, or picked by number
            return call.reply("error", message=call.said(GomflowError(UNVERIFIED, name=name)), alert=True)
        if entry.audience is Audience.GOM and not actor.may_administer:
            raise PermissionDenied("/%(name)s is for GOMs. /help shows what you can do.", name=name)
        if (permission := entry.staff_permission) is not None:
            if entry.audience is Audience.GOM and not actor.may(permission):
                raise PermissionDenied(NOT_YOUR_ROLE, role=actor.top_role, does=DOES[permission], name=name)
            call.actor = actor.acting_for(permission)  # core checks it against the GO's team
        return _refusal(call, entry) or await entry.handler(call)
    actor = await sender.actor()
    call = Call(bot, request, actor, split_args(text), text)
    state = await load_conversation(bot.core.reader(), actor.identity_id)
    if state is not None and state.flow in FLOWS:
        return await FLOWS[state.flow](call, state, text)
    if request.attachment is not None:
        return await proof_without_command(call)
    first_word = text.split(maxsplit=1)[0] if text else ""
    return call.reply("not_understood", suggestion=nearest_command(first_word, actor))


def _refusal(call: Call, entry: Command) -> ChatReply | None:
    """Why ``entry`` may not run here whoever sent it: unverified, or in a group."""
    request, name = call.request, entry.name
    if not request.sender_verified and entry.needs_verified_sender(call.args):
        return call.reply("error", message=call.said(GomflowError(UNVERIFIED, name=name)), alert=True)
    if request.in_group and not entry.in_groups:
        private = GomflowError("Please use /%(name)s in a private chat with me.", name=name)
        return call.reply("error", message=call.said(private), alert=True)
    return None


def _needs_actor(entry: Command) -> bool:
    """Whether the sender must be looked up before ``entry`` runs: to check their rights."""
    return entry.audience is Audience.GOM or entry.staff_permission is not None or entry.name == "cancel"


def nearest_command(word: str, actor: Actor) -> str | None:
    """The command the sender most likely meant by ``word`` (/ordr, or order without its
    slash): the closest name among those they may run, or None when nothing is close."""
    word = word.lower()[:30]
    if len(word) < 3:
        return None
    found = get_close_matches(word, [c.name for c in commands_for(actor)], n=1, cutoff=0.75)
    return found[0] if found else None
