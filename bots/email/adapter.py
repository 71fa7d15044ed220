"""The email adapter: gomflow's own SMTP listener (aiosmtpd), or a mailbox read over IMAP
(``bots.email.imap``), in front of the command table.

A message is recorded by its Message-ID (``core.inbound.record``) before the SMTP server
answers 250, so once the sender's server has let go of it, it is durable; the same
Message-ID delivered twice is recorded once and handled once (DESIGN rule 5). A message
the database could not take is refused with a temporary 451, so the sender's server keeps
it and tries again. On start, messages recorded but never handled are handled first.

Each message is handled inside ``inbound.handling``: the commit of its effect marks it
handled. Auto-replies, bounces and list traffic are never answered (no mail loops); a
bounce marks the failed addresses unreachable. Everything else is answered in the same
thread, as plain text with an HTML alternative; a reply's options become "Reply 1 for …"
lines (``bots.numbered``). Commands that manage a group order are only taken from a sender
whose address a trusted receiving server verified (see docs/email.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP

from bots.chat import ChatReply, ChatRequest
from bots.commands import BotContext
from bots.email.imap import ImapReader, Mailbox
from bots.email.parse import Kind, Mail, message_id, parse
from bots.email.reply import threaded_reply
from bots.numbered import MENU_FLOW, handle_numbered
from core import inbound
from core.config import Settings
from core.languages import ENGLISH
from core.services.accounts import identify, mark_unreachable
from core.services.conversations import load_conversation

log = logging.getLogger(__name__)

CHANNEL = "email"


class Unreachable(Exception):
    """The address refused the answer for good (a 5xx for the recipient)."""


# Hands one message to the outgoing SMTP server; returns once it is accepted, raises
# ``Unreachable`` when the address refuses it for good, anything else when it failed.
Send = Callable[[EmailMessage], Awaitable[None]]
WORKERS = 16  # messages handled at once; the rest wait their turn (they are recorded)
NOT_STORED = "451 4.3.0 gomflow could not store the message just now; please try again later"


class EmailBot:
    """The SMTP listener and what answers the messages it takes."""

    def __init__(self, bot: BotContext, settings: Settings, send: Send) -> None:
        self.bot = bot
        self.settings = settings
        self._send = send
        self.own_address = settings.smtp_from.strip().lower()
        self.port = settings.email_listen_port  # the port bound, once running (0 picks one)
        self._tasks: set[asyncio.Task[None]] = set()
        self._taken: set[str] = set()  # Message-IDs queued or being handled in this process
        self._working = asyncio.Semaphore(WORKERS)  # messages handled at once
        self.reader: ImapReader | None = None

    leader_only = True  # one listener port and one mailbox reader: with several workers, the leader's

    def mount(self, web_app: web.Application) -> None:
        """The listener is its own server: no route."""

    @asynccontextmanager
    async def running(self) -> AsyncIterator[EmailBot]:
        """Handle what was left unhandled, then take mail (the SMTP listener, the IMAP
        mailbox, or both, as configured) until the block ends."""
        try:
            async with AsyncExitStack() as stack:
                await self._catch_up()
                if self.settings.email_listen_host:
                    await stack.enter_async_context(self._listening())
                if self.settings.imap_host:
                    self.reader = ImapReader(_mailbox(self.settings), self.receive)
                    await stack.enter_async_context(self.reader.running())
                yield self
        finally:  # no more mail comes in; what is being handled stops (it stays recorded)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @asynccontextmanager
    async def _listening(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        hostname = self.own_address.rpartition("@")[2] or "gomflow"
        server = await loop.create_server(
            lambda: SMTP(
                self,
                data_size_limit=self.settings.email_max_bytes,
                enable_SMTPUTF8=True,
                hostname=hostname,
                loop=loop,
            ),
            self.settings.email_listen_host,
            self.settings.email_listen_port,
        )
        self.port = int(server.sockets[0].getsockname()[1])
        try:
            log.info("email: listening for SMTP on %s:%d", self.settings.email_listen_host, self.port)
            yield
        finally:
            server.close()
            await server.wait_closed()

    # ------------------------------------------------------------------ receiving

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        """aiosmtpd's hook: take mail only for gomflow's own domain, so mail for anyone else
        is refused in the SMTP exchange rather than accepted and answered (no backscatter)."""
        domain = address.rpartition("@")[2].strip().lower()
        if domain != self.own_address.rpartition("@")[2]:
            return "550 5.1.1 Not a gomflow address"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: answer 250 only once the message is recorded."""
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "replace")
        try:
            await self.receive(raw, envelope.mail_from)
        except Exception:  # the outermost boundary of a delivery: the sender's server retries
            log.exception("could not record an incoming email")
            return NOT_STORED
        return "250 2.0.0 Message accepted"

    async def receive(self, raw: bytes, mail_from: str | None) -> None:
        """Record one message (then it may be acknowledged) and queue it if it is new."""
        external_id = message_id(raw)
        payload = json.dumps({"mail_from": mail_from, "raw": base64.b64encode(raw).decode("ascii")})
        (fresh,) = await inbound.record(
            self.bot.core.desk,
            CHANNEL,
            [(external_id, payload)],
            limit=self.bot.core.inbound_limit,
            senders=[mail_from.lower() if mail_from else None],
        )
        if fresh:
            self._queue(external_id, raw, mail_from)

    def _queue(self, external_id: str, raw: bytes, mail_from: str | None) -> None:
        if external_id in self._taken:
            return
        self._taken.add(external_id)
        task = asyncio.create_task(self._handle(external_id, raw, mail_from), name="email")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _catch_up(self) -> None:
        waiting = await inbound.unhandled(self.bot.core.reader(), CHANNEL)
        if waiting:
            log.info("handling %d emails received before the last stop", len(waiting))
        for external_id, payload in waiting:
            try:
                stored = json.loads(payload)
                raw = base64.b64decode(stored["raw"], validate=True)
            except (ValueError, KeyError, TypeError, binascii.Error):
                log.exception("stored email %s is unreadable; left unhandled", external_id)
                continue
            self._queue(external_id, raw, stored.get("mail_from"))

    async def _handle(self, external_id: str, raw: bytes, mail_from: str | None) -> None:
        try:
            async with self._working:
                await self._handle_one(external_id, raw, mail_from)
        finally:
            self._taken.discard(external_id)

    async def _handle_one(self, external_id: str, raw: bytes, mail_from: str | None) -> None:
        with inbound.handling(CHANNEL, external_id) as state:
            try:
                mail = parse(raw, envelope_sender=mail_from, authserv_id=self.settings.email_authserv_id)
                await self._answer(mail)
            except Exception:  # the outermost boundary of a message: never handle it again
                log.exception("email %s failed", external_id)
            await inbound.finish(self.bot.core.desk, state)

    # ------------------------------------------------------------------ answering

    async def _answer(self, mail: Mail) -> None:
        if mail.kind is Kind.BOUNCE:
            for address in mail.bounced:
                await mark_unreachable(self.bot.core.uow(), CHANNEL, address)
            log.info("email: bounce %s for %s; not answered", mail.message_id, ", ".join(mail.bounced) or "?")
            return
        if mail.kind is not Kind.PERSON:
            log.info("email: %s message %s from %s; not answered", mail.kind, mail.message_id, mail.sender)
            return
        if "@" not in mail.sender or mail.sender == self.own_address:
            log.info("email: message %s has no sender to answer", mail.message_id)
            return
        if mail.refusal is not None:  # in their language, as they are known
            actor = await identify(self.bot.core.uow(), CHANNEL, mail.sender, mail.sender_name)
            await self._reply(mail, self._error(mail.refusal, actor.language or ENGLISH))
            return
        request = ChatRequest(
            CHANNEL,
            mail.sender,
            mail.sender_name,
            mail.text,
            chat_id=mail.sender,
            attachment=mail.attachment,
            sender_verified=mail.verified,
        )
        await self._reply(mail, await handle_numbered(self.bot, request), await self._menu(mail))

    def _error(self, message: str, language: str) -> ChatReply:
        said = self.bot.renderer.translate(message, language)
        rendered = self.bot.renderer.render("error", CHANNEL, {"message": said}, language)
        return ChatReply(rendered.text, rendered.markup, alert=True)

    async def _menu(self, mail: Mail) -> list[str]:
        """The commands of the menu the answer ends with ("Reply 1 for …"), to link them."""
        actor = await identify(self.bot.core.uow(), CHANNEL, mail.sender, mail.sender_name)
        state = await load_conversation(self.bot.core.reader(), actor.identity_id)
        if state is None or state.flow != MENU_FLOW:
            return []
        return [str(command) for command in state.data.get("commands", [])]

    async def _reply(self, mail: Mail, reply: ChatReply, options: list[str] | None = None) -> None:
        """Send the answer in the message's thread; a failure is logged (the effect stands)."""
        message = threaded_reply(
            self.own_address,
            mail.sender,
            reply,
            subject=mail.subject,
            references=mail.references,
            options=options or [],
        )
        try:
            await self._send(message)
        except Unreachable:
            await mark_unreachable(self.bot.core.uow(), CHANNEL, mail.sender)
            log.warning("email: %s refused the answer to %s", mail.sender, mail.message_id)
        except Exception as exc:  # the answer is lost, the command's effect stands: log it
            log.warning("email: the answer to %s was not sent: %s", mail.message_id, exc)


def _mailbox(settings: Settings) -> Mailbox:
    return Mailbox(
        host=settings.imap_host,
        port=settings.imap_port,
        username=settings.imap_username,
        password=settings.imap_password,
        name=settings.imap_mailbox,
        use_ssl=settings.imap_ssl,
        poll_seconds=settings.imap_poll_seconds,
    )
