"""The Discord transport: the REST API, a bot token, one HTTP session.

An address is a user id (a direct message: the DM channel is opened once and
remembered) or ``channel:<id>`` for a server channel linked to a group order.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from channels.base import DeliveryError, RecipientUnreachable
from core.render import Rendered

MAX_CONTENT = 2000
MAX_NONCE = 25
# Discord error codes that mean this recipient will never get the message.
UNREACHABLE_CODES = {10003, 10013, 50007, 50001, 50013}


class DiscordChannel:
    name = "discord"

    def __init__(
        self, token: str, api_base: str = "https://discord.com/api/v10", timeout: float = 15.0
    ) -> None:
        self._token = token
        self._base = api_base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._dm_channels: dict[str, str] = {}

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        """Return only when Discord accepted the message; see channels.base.Channel.

        ``key`` goes as the message's nonce with ``enforce_nonce``: Discord returns the
        message already created with that nonce in the last few minutes instead of
        posting it again.
        """
        channel_id = address.removeprefix("channel:") if address.startswith("channel:") else None
        if channel_id is None:
            channel_id = await self._dm_channel(address)
        # No @everyone, role or user pings from text a GOM or buyer wrote.
        body: dict[str, Any] = {"content": message.text[:MAX_CONTENT], "allowed_mentions": {"parse": []}}
        if key:
            body |= {"nonce": key[:MAX_NONCE], "enforce_nonce": True}
        await self._post(f"/channels/{channel_id}/messages", body)

    def requests_for(self, address: str) -> int:
        """API requests the next message to ``address`` takes: a first DM opens the DM channel."""
        return 1 if address.startswith("channel:") or address in self._dm_channels else 2

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _dm_channel(self, user_id: str) -> str:
        if user_id not in self._dm_channels:
            channel = await self._post("/users/@me/channels", {"recipient_id": user_id})
            self._dm_channels[user_id] = str(channel["id"])
        return self._dm_channels[user_id]

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers={"Authorization": f"Bot {self._token}", "User-Agent": "DiscordBot (gomflow, 0.1)"},
            )
        try:
            async with self._session.post(self._base + path, json=body) as response:
                payload = await _json(response)
                status = response.status
                headers = response.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"discord: {type(exc).__name__}: {exc}") from exc
        if status < 300:
            return payload
        if status == 429:
            retry_after = float(payload.get("retry_after") or headers.get("Retry-After") or 1.0)
            is_global = bool(payload.get("global")) or headers.get("X-RateLimit-Global") == "true"
            scope = "channel" if is_global or headers.get("X-RateLimit-Scope") != "user" else "chat"
            raise DeliveryError(f"discord: rate limited for {retry_after}s", retry_after, scope=scope)
        code = payload.get("code")
        text = f"discord: {status} {payload.get('message', '')} (code {code})"
        if status in (403, 404) and code in UNREACHABLE_CODES:
            raise RecipientUnreachable(text)
        raise DeliveryError(text)


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        payload = await response.json(content_type=None)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
