"""Telegram for the outbox and the adapter: one python-telegram-bot ``Bot`` on aiohttp.

The composition root hands this channel's ``bot`` and ``delivery_error`` to the Telegram
adapter too, so replies and outbox messages go through one client and one connection
pool, and Telegram's errors are translated once, here: flood control (``RetryAfter``)
becomes ``DeliveryError`` with Telegram's ``retry_after``; network trouble, timeouts and
5xx answers (``NetworkError``, ``TimedOut``) ``DeliveryError`` to be retried with backoff;
a refusal of the message itself (``BadRequest``) ``MessageRefused``; a person who blocked
the bot (``Forbidden``) or a chat that is gone ``RecipientUnreachable``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import aiohttp
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from channels.base import DeliveryError, MessageRefused, RecipientUnreachable
from core.config import TelegramSettings
from core.render import Rendered, split_message

MAX_MESSAGE = 4096
LEFT_OVER = "⋯"  # what a part of an edited message no longer needed reads
TIMEOUT = 20.0  # seconds for one request
LONG_POLL_TIMEOUT = 60.0  # seconds for one getUpdates, which may wait for news on purpose


def retry_after_seconds(exc: RetryAfter) -> float:
    """Telegram's wait in seconds, whether the library hands it out as int or timedelta."""
    with warnings.catch_warnings():  # the int/timedelta transition warns on access
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(exc: TelegramError) -> DeliveryError | RecipientUnreachable:
    """The outbox's view of a python-telegram-bot error: retry later, or give up on the chat."""
    if isinstance(exc, RetryAfter):
        return DeliveryError(str(exc), retry_after=retry_after_seconds(exc))
    if isinstance(exc, Forbidden):
        return RecipientUnreachable(str(exc))
    if isinstance(exc, BadRequest):  # a subclass of NetworkError, so it is asked first
        if "chat not found" in str(exc).lower():
            return RecipientUnreachable(str(exc))
        return MessageRefused(str(exc))
    if isinstance(exc, NetworkError):  # TimedOut too: no answer, a broken connection, a 5xx
        return DeliveryError(f"Telegram unreachable: {exc}")
    return DeliveryError(str(exc))


class AiohttpRequest(BaseRequest):
    """python-telegram-bot's networking on one reused aiohttp session.

    ``Bot`` builds each request and turns each answer into its own errors (``RetryAfter``,
    ``Forbidden``, ``BadRequest``…) whatever carries the bytes; this carrier only moves
    them. Measured on the outbox's many small concurrent sends through the loopback Bot
    API, aiohttp moves them about ten times faster than the default httpx pool.
    """

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """One HTTP request; raises ``TimedOut`` or ``NetworkError`` when no answer came."""
        await self.initialize()
        assert self._session is not None
        body: aiohttp.FormData | None = None
        if request_data is not None:
            body = aiohttp.FormData(request_data.json_parameters)
            for name, upload in (request_data.multipart_data or {}).items():
                filename, content, mimetype = upload
                body.add_field(name, content, filename=filename, content_type=mimetype)
        try:
            async with self._session.request(method, url, data=body) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut(f"no answer within {self._timeout:g} s") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}") from exc


class TelegramChannel:
    name = "telegram"

    def __init__(self, settings: TelegramSettings) -> None:
        assert settings.bot_token, "the Telegram transport needs TELEGRAM_BOT_TOKEN"
        # Opt in to python-telegram-bot's coming timedelta periods (RetryAfter.retry_after),
        # which otherwise warns on every flood-control answer.
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        self._requests = (AiohttpRequest(), AiohttpRequest(LONG_POLL_TIMEOUT))
        self._bot = Bot(
            settings.bot_token,
            base_url=settings.api_base_url,
            base_file_url=settings.file_base_url,
            request=self._requests[0],
            get_updates_request=self._requests[1],
        )

    @property
    def bot(self) -> Bot:
        """The client, shared with the adapter (see the module doc)."""
        return self._bot

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        """Return only when Telegram accepted every part of the message.

        The Bot API has no idempotency key for sendMessage, so ``key`` is unused.

        Raises DeliveryError to be retried later, RecipientUnreachable to give up on the
        recipient. A long message goes in parts, split at line breaks.
        """
        for part in split_message(message, MAX_MESSAGE):
            parse_mode = ParseMode.HTML if part.markup == "html" else None
            try:
                await self._bot.send_message(address, part.text, parse_mode=parse_mode)
            except TelegramError as exc:
                raise delivery_error(exc) from exc

    async def post(self, address: str, message: Rendered, *, key: str = "") -> list[str]:
        """Send ``message`` in parts and return their message ids (channels.base.EditingChannel)."""
        return [await self._send_part(address, part) for part in split_message(message, MAX_MESSAGE)]

    async def edit(
        self, address: str, message_ids: Sequence[str], message: Rendered, *, key: str = ""
    ) -> list[str]:
        """Edit the messages in place with editMessageText (channels.base.EditingChannel).

        Telegram refuses an edit that changes nothing ("message is not modified"): that part
        already reads right. A message that cannot be found or edited any more is sent anew.
        """
        parts = split_message(message, MAX_MESSAGE)
        shown: list[str] = []
        for n, part in enumerate(parts):
            if n < len(message_ids):
                edited = await self._edit_part(address, message_ids[n], part)
                shown.append(edited if edited is not None else await self._send_part(address, part))
            else:
                shown.append(await self._send_part(address, part))
        for left in message_ids[len(parts) :]:
            if await self._edit_part(address, left, Rendered(LEFT_OVER)) is not None:
                shown.append(left)
        return shown

    async def _send_part(self, address: str, part: Rendered) -> str:
        parse_mode = ParseMode.HTML if part.markup == "html" else None
        try:
            sent = await self._bot.send_message(address, part.text, parse_mode=parse_mode)
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return str(sent.message_id)

    async def _edit_part(self, address: str, message_id: str, part: Rendered) -> str | None:
        """The id of the message now reading ``part``, or None when it is gone."""
        parse_mode = ParseMode.HTML if part.markup == "html" else None
        try:
            await self._bot.edit_message_text(
                part.text, chat_id=address, message_id=int(message_id), parse_mode=parse_mode
            )
        except BadRequest as exc:
            said = str(exc).lower()
            if "not modified" in said:
                return message_id
            if ("not found" in said and "chat" not in said) or "can't be edited" in said:
                return None
            raise delivery_error(exc) from exc
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return message_id

    async def close(self) -> None:
        # sending needs no getMe, so the bot may never have been initialized: close the
        # sessions themselves
        for request in self._requests:
            await request.shutdown()
