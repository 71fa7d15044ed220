"""The Telegram transport for the outbox: sendMessage over the Bot API.

One HTTP session for every message. A 429 raises ``DeliveryError`` with Telegram's
``retry_after``; 5xx and network trouble raise ``DeliveryError`` to be retried with
backoff; a person who blocked the bot (403) or a chat that is gone raises
``RecipientUnreachable``.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from channels.base import DeliveryError, RecipientUnreachable
from core.config import TelegramSettings
from core.render import Rendered, split_message

MAX_MESSAGE = 4096
TIMEOUT = aiohttp.ClientTimeout(total=20)


class TelegramChannel:
    name = "telegram"

    def __init__(self, settings: TelegramSettings) -> None:
        assert settings.bot_token, "the Telegram transport needs TELEGRAM_BOT_TOKEN"
        self._url = settings.method_url("sendMessage")
        self._session: aiohttp.ClientSession | None = None

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        """Return only when Telegram accepted every part of the message.

        The Bot API has no idempotency key for sendMessage, so ``key`` is unused.

        Raises DeliveryError to be retried later, RecipientUnreachable to give up on the
        recipient. A long message goes in parts, split at line breaks.
        """
        for part in split_message(message, MAX_MESSAGE):
            body: dict[str, Any] = {"chat_id": address, "text": part.text}
            if part.markup == "html":
                body["parse_mode"] = "HTML"
            await self._post(body)

    async def _post(self, body: dict[str, Any]) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            async with self._session.post(self._url, json=body) as response:
                status = response.status
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = {}
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryError(f"Telegram unreachable: {exc!r}") from exc
        if status == 200 and answer.get("ok"):
            return
        description = str(answer.get("description") or f"HTTP {status}")
        retry_after = (answer.get("parameters") or {}).get("retry_after")
        if status == 429 or retry_after:
            raise DeliveryError(description, retry_after=float(retry_after or 1))
        if status == 403 or (status == 400 and "chat not found" in description.lower()):
            raise RecipientUnreachable(description)
        raise DeliveryError(description)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
