"""The chat platforms gomflow speaks, each described once.

A ``Platform`` says what turns it on (its settings), how its outbound ``Channel`` is
built, how fast it may send (its rate limits), which template variants render for it,
and, where gomflow also listens on it, its inbound adapter and how a GOM's group on it is
verified. ``gomflow run`` and ``bootstrap()`` loop over ``PLATFORMS``; none is special-
cased. Adding a platform is a folder in ``bots/``, a file in ``channels/``, template
variants and one entry below (see docs/platforms.md).

This module is part of the composition root, beside ``main.py``: it imports bots,
channels and web, and nothing in ``core/`` imports it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from aiohttp import web

from bots.commands import BotContext
from bots.console import ConsoleChat
from bots.discord.adapter import DiscordBot
from bots.email.adapter import EmailBot, Send, Unreachable
from bots.telegram.adapter import TelegramBot
from bots.telegram.verify import TelegramVerifier
from bots.twilio.adapter import TwilioBot
from bots.twilio.media import MediaFetcher
from channels.base import Channel, RecipientUnreachable
from channels.console import ConsoleChannel
from channels.discord import DiscordChannel
from channels.discord_verify import DiscordVerifier
from channels.email import EmailChannel
from channels.limits import ChannelLimits, Rate
from channels.telegram import TelegramChannel, delivery_error
from channels.twilio import TwilioChannel, TwilioWhatsAppChannel, content_sids
from core.config import Settings, TelegramSettings
from core.verification import ChannelVerifier, LinkTarget
from web.telegram import add_telegram_webhook
from web.twilio import STATUS_PATH, add_twilio_status, add_twilio_webhook

log = logging.getLogger("gomflow")


class Inbound(Protocol):
    """A platform's inbound adapter: what gomflow runs to hear from people on it.

    An adapter that pulls its messages (long polling, a gateway, a listening port) sets
    ``leader_only = True``: with several workers only the leader runs it (docs/workers.md);
    one that is pushed to (a webhook) runs in every worker.
    """

    def mount(self, web_app: web.Application) -> None:
        """Add the adapter's routes (a webhook) to the web app; called before it serves."""
        ...

    def running(self) -> AbstractAsyncContextManager[object]:
        """Start taking messages on entry (connect, catch up, poll or listen); stop on exit.

        Raises on entry when the platform cannot be reached; ``gomflow run`` then logs it
        and serves the other platforms.
        """
        ...


@dataclass(frozen=True)
class Wiring:
    """What a platform's factories are built from: the settings and the process's console."""

    settings: Settings
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    write: Callable[[str], None] = print  # where the console's messages are printed
    console_input: bool = False  # whether the terminal is read as a console chat
    console_numbered: bool = False  # whether the console shows buttons as numbered replies


@dataclass(frozen=True)
class Platform:
    name: str
    needs: str  # the settings that turn it on, named in the log when they are missing
    configured: Callable[[Wiring], bool]
    channel: Callable[[Wiring], Channel]  # the outbox's transport
    limits: ChannelLimits  # the platform's published sending limits (GOMFLOW_RATE_LIMITS overrides)
    # render target → template variants, best first (templates/<message>/<variant>.j2)
    templates: Mapping[str, tuple[str, ...]]
    # the inbound adapter, given the platform's own channel (one client for both ways)
    inbound: Callable[[Wiring, BotContext, Channel], Inbound | None] | None = None
    # what a group, channel or list a GOM may link to a GO looks like here (None: none)
    link_target: LinkTarget | None = None
    verifier: Callable[[Wiring], ChannelVerifier] | None = None  # who checks the GOM runs it


class TelegramInbound:
    """The Telegram bot; in webhook mode its route joins the web app."""

    def __init__(self, wiring: Wiring, bot: BotContext, channel: Channel) -> None:
        assert isinstance(channel, TelegramChannel)
        self._settings = wiring.telegram
        self.bot = TelegramBot(bot, wiring.telegram, client=channel.bot, errors=delivery_error)

    @property
    def leader_only(self) -> bool:
        """Long polling runs in one worker; webhooks reach any."""
        return not self._settings.webhook_url

    def mount(self, web_app: web.Application) -> None:
        if self._settings.webhook_url:
            add_telegram_webhook(web_app, self._settings.secret(), self.bot.feed)

    def running(self) -> AbstractAsyncContextManager[object]:
        return self.bot.running()


class DiscordInbound:
    """The Discord bot on the gateway; it has no route (interactions come over the gateway)."""

    leader_only = True  # one gateway session per bot

    def __init__(self, wiring: Wiring, bot: BotContext, channel: Channel) -> None:
        assert isinstance(channel, DiscordChannel)
        settings = wiring.settings
        self.bot = DiscordBot(bot, settings.discord_bot_token, settings.discord_api_base, channel=channel)

    def mount(self, web_app: web.Application) -> None:
        """Interactions arrive over the gateway, not a webhook."""

    def running(self) -> AbstractAsyncContextManager[object]:
        return self.bot.running()


class ConsoleInput:
    """The terminal as a chat: each line typed is a console message."""

    def __init__(self, wiring: Wiring, bot: BotContext, channel: Channel) -> None:
        self._bot = bot
        self._numbered = wiring.console_numbered

    def mount(self, web_app: web.Application) -> None:
        """The console has no route."""

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ConsoleInput]:
        task = asyncio.create_task(self._read(), name="console")
        try:
            yield self
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _read(self) -> None:
        chat = ConsoleChat(
            self._bot, lambda text: print(text, flush=True), numbered=self._numbered, prompt=_prompt
        )
        await chat.run(_stdin_lines())
        log.info("console input ended; still serving HTTP (Ctrl-C to stop)")


def _prompt(text: str) -> None:
    print(text, end="", flush=True)


async def _stdin_lines() -> AsyncIterator[str]:
    """Terminal lines, read on a daemon thread so a blocked read never holds up shutdown."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, "")

    threading.Thread(target=read, name="console-input", daemon=True).start()
    while line := await queue.get():
        yield line


class TwilioInbound:
    """SMS or WhatsApp through Twilio: its signed webhook joins the web app."""

    def __init__(self, wiring: Wiring, bot: BotContext, channel: Channel) -> None:
        assert isinstance(channel, TwilioChannel)
        s = wiring.settings
        self._settings = s
        media = MediaFetcher(s.twilio_account_sid, s.twilio_auth_token, s.twilio_api_base)
        served = frozenset(c.strip().upper() for c in s.twilio_countries.split(",") if c.strip())
        self.bot = TwilioBot(bot, channel, media, served)

    def mount(self, web_app: web.Application) -> None:
        s = self._settings
        add_twilio_webhook(web_app, self.bot.name, s.twilio_auth_token, s.public_base_url, self.bot.receive)
        add_twilio_status(web_app, self.bot.bot.core, s.twilio_auth_token, s.public_base_url)

    def running(self) -> AbstractAsyncContextManager[object]:
        return self.bot.running()


def _twilio(name: str, sender: Callable[[Settings], str]) -> Platform:
    """SMS and WhatsApp: one Twilio account, a sender number each."""

    def configured(w: Wiring) -> bool:
        s = w.settings
        return bool(s.twilio_account_sid and s.twilio_auth_token and sender(s))

    def channel(w: Wiring) -> Channel:
        s = w.settings
        callback = s.public_base_url.rstrip("/") + STATUS_PATH  # delivery reports on outbox messages
        credentials = (s.twilio_account_sid, s.twilio_auth_token, sender(s), s.twilio_api_base)
        if name == "whatsapp":
            templates = content_sids(s.twilio_whatsapp_templates)
            return TwilioWhatsAppChannel(*credentials, status_callback=callback, content_sids=templates)
        return TwilioChannel(name, *credentials, status_callback=callback)

    variants = {"sms": ("sms.txt", "plain.txt"), "whatsapp": ("whatsapp.txt", "sms.txt", "plain.txt")}
    return Platform(
        name=name,
        needs=f"TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_{name.upper()}_FROM",
        configured=configured,
        channel=channel,
        # a long-code number sends 1 SMS segment per second; WhatsApp starts at 80 messages per second
        limits=(
            ChannelLimits(Rate(1, 1), Rate(1, 1), Rate(1, 1))
            if name == "sms"
            else ChannelLimits(Rate(80, 1), Rate(1, 1), Rate(1, 1))
        ),
        templates={name: variants[name]},
        inbound=TwilioInbound,
    )


def _email_channel(w: Wiring) -> EmailChannel:
    s = w.settings
    return EmailChannel(
        s.smtp_host,
        s.smtp_port,
        s.smtp_from,
        username=s.smtp_username,
        password=s.smtp_password,
        start_tls=s.smtp_starttls,
    )


def _email_inbound(w: Wiring, bot: BotContext, channel: Channel) -> Inbound | None:
    """gomflow's own SMTP listener (EMAIL_LISTEN_HOST) and/or a mailbox read over IMAP
    (IMAP_HOST); with neither, email only sends."""
    if not (w.settings.email_listen_host or w.settings.imap_host):
        return None
    assert isinstance(channel, EmailChannel)
    return EmailBot(bot, w.settings, _email_sender(channel))


def _email_sender(channel: EmailChannel) -> Send:
    """The listener's answers go out through the email transport, its refusals translated."""

    async def send(message: EmailMessage) -> None:
        try:
            await channel.deliver(message)
        except RecipientUnreachable as exc:
            raise Unreachable(str(exc)) from exc

    return send


PLATFORMS: tuple[Platform, ...] = (
    Platform(
        name="console",
        needs="nothing",
        configured=lambda w: True,
        channel=lambda w: ConsoleChannel(w.write),
        limits=ChannelLimits(),
        templates={"console": ("console.txt", "plain.txt")},
        inbound=lambda w, bot, channel: ConsoleInput(w, bot, channel) if w.console_input else None,
    ),
    Platform(
        name="telegram",
        needs="TELEGRAM_BOT_TOKEN",
        configured=lambda w: bool(w.telegram.bot_token),
        channel=lambda w: TelegramChannel(w.telegram),
        # Bot API FAQ: about 30 messages per second overall, 1 per second per chat, 20 per minute per group
        limits=ChannelLimits(Rate(30, 1), Rate(1, 1), Rate(20, 60)),
        templates={"telegram": ("telegram.html", "plain.txt")},
        inbound=TelegramInbound,
        link_target=LinkTarget(
            re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$"), "-1001234567890 or @mychannel"
        ),
        verifier=lambda w: TelegramVerifier(w.telegram),
    ),
    Platform(
        name="discord",
        needs="DISCORD_BOT_TOKEN",
        configured=lambda w: bool(w.settings.discord_bot_token),
        channel=lambda w: DiscordChannel(w.settings.discord_bot_token, w.settings.discord_api_base),
        # 50 requests per second globally; message creation is limited to 5 per 5 s per channel
        limits=ChannelLimits(Rate(50, 1), Rate(5, 5), Rate(5, 5)),
        templates={"discord": ("discord.md", "plain.txt")},
        link_target=LinkTarget(re.compile(r"^(?:channel:|#)?(\d{15,21})$"), "a channel id", "channel:{}"),
        inbound=DiscordInbound,
        verifier=lambda w: DiscordVerifier(w.settings.discord_bot_token, w.settings.discord_api_base),
    ),
    _twilio("sms", lambda s: s.twilio_sms_from),
    _twilio("whatsapp", lambda s: s.twilio_whatsapp_from),
    Platform(
        name="email",
        needs="SMTP_HOST and SMTP_FROM",
        configured=lambda w: bool(w.settings.smtp_host and w.settings.smtp_from),
        channel=_email_channel,
        # SMTP relays vary; a cautious default that common providers accept
        limits=ChannelLimits(Rate(10, 1), Rate(1, 1), Rate(1, 1)),
        templates={"email": ("email.txt", "plain.txt"), "email_html": ("email.html",)},
        link_target=LinkTarget(
            re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$"), "list@example.com", by_mail=True
        ),
        inbound=_email_inbound,
    ),
)


def configured(wiring: Wiring, platforms: tuple[Platform, ...] = PLATFORMS) -> list[Platform]:
    """The platforms whose settings are present; each one left out says why in the log."""
    chosen = []
    for platform in platforms:
        if platform.configured(wiring):
            chosen.append(platform)
        else:
            log.info("%s: not started (%s not set)", platform.name, platform.needs)
    return chosen


def rate_limits(platforms: tuple[Platform, ...] = PLATFORMS) -> dict[str, ChannelLimits]:
    return {p.name: p.limits for p in platforms}


def template_variants(platforms: tuple[Platform, ...] = PLATFORMS) -> dict[str, tuple[str, ...]]:
    return {target: variants for p in platforms for target, variants in p.templates.items()}
