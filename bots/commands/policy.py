"""A GO's policy (``/policy``), a buyer's "I agree" (``/agree``) and a GOM's bans."""

from __future__ import annotations

from dataclasses import replace

from bots.chat import Button, ChatReply
from bots.commands.args import need
from bots.commands.buyer import order
from bots.commands.table import Audience, BotContext, Call, command, render_reply
from core.errors import PolicyNotAgreed
from core.languages import ENGLISH
from core.quantities import LineRequest
from core.render import N_
from core.services import bans, go_policy

I_AGREE = N_("I agree")


def _standard_minutes(bot: BotContext) -> int:
    return round(bot.core.settings.payment_reminder_hours * 60)


@command(
    "policy",
    "CODE|default [key=value …]",
    "A group order's rules in plain words; its GOM sets them with key=value (/policy CODE help)",
    verified_only=True,
)
async def policy(call: Call) -> ChatReply:
    need(call.args, 1, go_policy.USAGE)
    target, words = call.args[0], call.args[1:]
    standard = _standard_minutes(call.bot)
    if words and words[0].lower() == "help":
        return call.reply("policy_keys", keys=go_policy.KEYS)
    if not words:
        view = await go_policy.show_policy(call.reader(), call.actor, target, standard)
        return call.reply("policy", view=view, ask=False, saved=False)
    view = await go_policy.set_policy(
        call.uow(), call.actor, target, words, standard, call.bot.core.settings.default_currency
    )
    return call.reply("policy", view=view, ask=False, saved=True)


@command("agree", "CODE [ITEM QTY …]", "Agree to a group order's rules (then place the order, if given)")
async def agree(call: Call) -> ChatReply:
    need(call.args, 1, "/agree CODE [ITEM QTY …]")
    version = await go_policy.agree(call.uow(), call.actor, call.args[0])
    if len(call.args) >= 3:  # the order the buyer asked for before agreeing goes ahead now
        return await order(call)
    return call.reply("policy_agreed", code=call.args[0].strip().upper(), version=version)


async def ask_to_agree(
    bot: BotContext, channel: str, ask: PolicyNotAgreed, language: str = ENGLISH
) -> ChatReply:
    """A buyer's first order in a GO with rules: the rules, and "I agree" that places it
    (a button running ``agree_command(ask)``, or a numbered reply where there are none),
    in the buyer's ``language``."""
    view = await go_policy.policy_for_buyer(bot.core.reader(), ask.go_code, _standard_minutes(bot))
    buttons = [[Button(bot.renderer.translate(I_AGREE, language), command=agree_command(ask))]]
    context = {"view": view, "ask": True, "saved": False}
    reply = render_reply(bot.renderer, channel, "policy", context, buttons, language=language)
    return replace(reply, refusal=ask.code)


def agree_command(ask: PolicyNotAgreed) -> str:
    """``/agree CODE ITEM QTY …``: agree, then place the order that was asked for."""
    lines = " ".join(_token(line) for line in ask.requests if isinstance(line, LineRequest))
    return f"/agree {ask.go_code} {lines}".strip()


def _token(line: LineRequest) -> str:
    item = f"{line.item_code}:{line.variant_code}" if line.variant_code else line.item_code
    return f"{item} {line.quantity}"


@command(
    "ban",
    "@BUYER REASON…",
    "Stop a buyer ordering in your group orders (the reason stays with your team)",
    audience=Audience.GOM,
)
async def ban(call: Call) -> ChatReply:
    need(call.args, 2, bans.USAGE)
    view = await bans.ban(call.uow(), call.actor, call.args[0], call.raw_args.split(None, 1)[1])
    return call.reply("ban_changed", ban=view, banned=True)


@command("unban", "@BUYER", "Let a banned buyer order again", audience=Audience.GOM)
async def unban(call: Call) -> ChatReply:
    need(call.args, 1, "/unban @BUYER")
    view = await bans.unban(call.uow(), call.actor, call.args[0])
    return call.reply("ban_changed", ban=view, banned=False)


@command("bans", "", "The buyers you have banned, and why", audience=Audience.GOM)
async def bans_(call: Call) -> ChatReply:
    return call.reply("bans", bans=await bans.list_bans(call.reader(), call.actor))
