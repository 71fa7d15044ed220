"""The SMS and WhatsApp adapter: Twilio's signed webhooks in front of the command table.

One adapter per Twilio sender (``sms`` or ``whatsapp``). A message Twilio posts is read
(``incoming.read``), refused at once when it cannot be acted on (nothing is recorded
then), or recorded with its MessageSid (``core.inbound``, source ``twilio-sms`` /
``twilio-whatsapp``) before the webhook answers, so a retried webhook is handled once and
a crash after the answer loses nothing (DESIGN rule 5). It is then handled in the
background, in arrival order per sender. It reopens the sender's customer-service window
(messages that waited for them go out again); an opt-out keyword (``STOP``, ``START``…) goes to
the opt-out service, anything else becomes a ``ChatRequest`` through the numbered-menu
layer (``bots.numbered``); commands may be plain words (``ORDER SVT-FML ALB 2``). The
reply goes out through Twilio's Messages API only after the message is durable. On start,
messages recorded but never handled (the process died) are handled first.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Protocol

from bots.chat import Attachment, ChatRequest
from bots.commands import BotContext
from bots.dispatch import OOPS
from bots.numbered import MENU_FLOW, handle_numbered
from bots.twilio.incoming import Refused, TextMessage, as_command, language_of, read
from bots.twilio.media import MediaFetcher, MediaRefused
from core import inbound
from core.languages import ENGLISH
from core.services.accounts import identify, mark_unreachable
from core.services.conversations import load_conversation
from core.services.optout import sms_keyword
from core.services.service_window import note_inbound

log = logging.getLogger(__name__)


class Replier(Protocol):
    """How answers go back: Twilio's Messages API from this adapter's sender."""

    name: str

    async def reply(self, address: str, text: str) -> bool:
        """Send ``text`` (split as the platform needs) to ``address``; False when the
        recipient is unreachable. Other failures are logged, not raised."""
        ...

    async def close(self) -> None: ...


class TwilioBot:
    def __init__(
        self,
        bot: BotContext,
        channel: Replier,
        media: MediaFetcher,
        served: frozenset[str],
    ) -> None:
        self.bot = bot
        self.name = channel.name
        self.source = f"twilio-{channel.name}"
        self._channel = channel
        self._media = media
        self._served = served
        self._tasks: set[asyncio.Task[None]] = set()
        self._taken: set[str] = set()  # MessageSids queued or being handled in this process
        # one sender's messages, one at a time: their lock, and how many messages hold or await it
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}

    async def receive(self, params: Mapping[str, str]) -> str | None:
        """A webhook's form: returns a refusal to answer at once (nothing was recorded), or
        None once the message is recorded (then the webhook may answer 200). Raises
        ValueError when the form is not an inbound message."""
        message = read(self.name, params, self._served)
        if message is None:
            raise ValueError("not a Twilio message")
        if isinstance(message, Refused):  # said in the language of the number's country, where it has one
            return self._said(message.message, message.language, **message.values)
        payload = json.dumps(dict(params), ensure_ascii=False, sort_keys=True)
        (fresh,) = await inbound.record(
            self.bot.core.desk,
            self.source,
            [(message.sid, payload)],
            limit=self.bot.core.inbound_limit,
            senders=[message.number],
        )
        if fresh:
            self._queue(message)
        return None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TwilioBot]:
        """Handle what was left unhandled, then take webhooks until the block ends."""
        try:
            await self._catch_up()
            log.info("Twilio %s adapter started (webhook)", self.name)
            yield self
        finally:
            for task in list(self._tasks):
                task.cancel()  # not marked: handled again at the next start
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._channel.close()
            await self._media.close()

    async def idle(self) -> None:
        """Return once every queued message is handled (for tests and a clean stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _catch_up(self) -> None:
        waiting = await inbound.unhandled(self.bot.core.reader(), self.source)
        if waiting:
            log.info("handling %d %s messages received before the last stop", len(waiting), self.name)
        for sid, payload in waiting:
            message = read(self.name, json.loads(payload), self._served)
            if isinstance(message, TextMessage):
                self._queue(message)
                continue
            # refused by today's settings (say TWILIO_COUNTRIES changed): nothing to do but say so
            log.error("stored %s message %s can no longer be handled; marked handled", self.name, sid)
            with inbound.handling(self.source, sid) as state:
                await inbound.finish(self.bot.core.desk, state)

    def _queue(self, message: TextMessage) -> None:
        if message.sid in self._taken:
            return
        self._taken.add(message.sid)
        task = asyncio.create_task(self._handle(message), name=f"{self.source}:{message.sid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: TextMessage) -> None:
        """Answer one recorded message; its effect's commit marks it handled."""
        turn, users = self._turns.get(message.number, (asyncio.Lock(), 0))
        self._turns[message.number] = (turn, users + 1)
        try:
            async with turn:
                with inbound.handling(self.source, message.sid) as state:
                    try:
                        reply = await self._answer(message)
                    except Exception:  # the outermost boundary of a message
                        log.exception("%s message %s failed", self.name, message.sid)
                        reply = self._said(OOPS, language_of(message.number))
                    await inbound.finish(self.bot.core.desk, state)
                if reply:
                    await self._send(message.number, reply)
        finally:
            self._taken.discard(message.sid)
            turn, users = self._turns[message.number]
            if users == 1:
                del self._turns[message.number]
            else:
                self._turns[message.number] = (turn, users - 1)

    async def _answer(self, message: TextMessage) -> str | None:
        core = self.bot.core
        language = language_of(message.number)
        actor = await identify(core.uow(), self.name, message.number, message.name, language=language)
        await note_inbound(core.uow(), self.name, message.number)  # WhatsApp's window opens again
        muted = await sms_keyword(core.uow(), self.name, message.number, message.body)
        if muted is not None:
            if muted and self.name == "sms":
                return None  # Twilio answers STOP itself and lets nothing more through
            return self.bot.renderer.render(
                "muted", self.name, {"muted": muted}, actor.language or ENGLISH
            ).text
        attachment: Attachment | None = None
        if message.media is not None:
            try:
                attachment = await self._media.fetch(message.media, message.sid)
            except MediaRefused as refusal:
                return self._said(refusal.message, actor.language)
        text = message.body
        state = await load_conversation(core.reader(), actor.identity_id)
        if state is None or state.flow == MENU_FLOW:  # a step of a flow takes the words as typed
            text = as_command(text)
        request = ChatRequest(
            channel=self.name,
            user_id=message.number,
            name=message.name,
            text=text,
            chat_id=message.number,
            attachment=attachment,
            language=language,
        )
        reply = await handle_numbered(self.bot, request)
        return reply.text

    def _said(self, message: str, language: str | None, **values: object) -> str:
        """A message of the adapter's own in ``language`` (else English), filled in."""
        return self.bot.renderer.said(message, language or ENGLISH, values)

    async def _send(self, number: str, text: str) -> None:
        """A reply, sent directly (DESIGN rule 6 lets replies skip the outbox)."""
        if not await self._channel.reply(number, text):
            await mark_unreachable(self.bot.core.uow(), self.name, number)
