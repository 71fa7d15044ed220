"""The Discord transport: discord.py's HTTP client, a bot token, one session.

An address is a user id (a direct message: the DM channel is opened once and
remembered) or ``channel:<id>`` for a server channel linked to a group order.

Requests go through discord.py's ``HTTPClient`` and its ``Route``s, so its per-route
buckets pace them: when Discord's headers say a bucket is spent, the request waits for it
to refill (up to ``BUCKET_WAIT``) instead of running into a 429. What discord.py would
otherwise retry inside its request loop (sleeping out a 429, up to five tries on a 5xx)
is the outbox dispatcher's to retry (DESIGN rule 6): each request is handed aiohttp's
per-request ``raise_for_status`` check, which reads a 429 or 5xx answer before discord.py
sees it and raises DeliveryError with Discord's ``retry_after`` and scope, so nothing
sleeps here and every request is tried once.

While the Discord bot runs, the transport sends through the bot's own logged-in client
(``sharing``): one session for both ways. Otherwise it logs in a client of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import aiohttp
import discord
from discord.http import HTTPClient, Route

from channels.base import DeliveryError, RecipientUnreachable
from core.render import Rendered, split_message

MAX_CONTENT = 2000
MAX_NONCE = 25
# Discord error codes that mean this recipient will never get the message.
UNREACHABLE_CODES = {10003, 10013, 50007, 50001, 50013}
# The longest a request waits for a spent bucket; longer is raised as a rate limit
# (discord.py takes no less than 30 s here).
BUCKET_WAIT = 30.0
UNKNOWN_MESSAGE = 10008
LEFT_OVER = "⋯"  # what a part of an edited message no longer needed reads


class _MessageGone(DeliveryError):
    """The message to edit was deleted: it is sent anew (retried as any DeliveryError if not caught)."""


class DiscordChannel:
    name = "discord"

    def __init__(
        self, token: str, api_base: str = "https://discord.com/api/v10", timeout: float = 15.0
    ) -> None:
        self._token = token
        self._base = api_base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._shared: HTTPClient | None = None
        self._own: HTTPClient | None = None
        self._login = asyncio.Lock()
        self._dm_channels: dict[str, str] = {}

    @property
    def http(self) -> HTTPClient | None:
        """The discord.py client the next message goes through (None before the first)."""
        return self._shared or self._own

    @asynccontextmanager
    async def sharing(self, http: HTTPClient) -> AsyncIterator[None]:
        """Send through ``http`` (the running bot's logged-in client) until the block ends.
        A client of our own opened before is closed: one session while both run."""
        self._shared = http
        try:
            await self._close_own()
            yield
        finally:
            self._shared = None

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
        await self._post("/channels/{channel_id}/messages", body, channel_id=channel_id)

    async def post(self, address: str, message: Rendered, *, key: str = "") -> list[str]:
        """Send ``message`` in parts of at most 2,000 characters; their ids
        (channels.base.EditingChannel). Each part has a nonce of its own, derived from ``key``."""
        channel_id = await self._channel_of(address)
        parts = split_message(message, MAX_CONTENT)
        return [await self._create(channel_id, part, _nonce(key, n)) for n, part in enumerate(parts)]

    async def edit(
        self, address: str, message_ids: Sequence[str], message: Rendered, *, key: str = ""
    ) -> list[str]:
        """Edit the messages in place (``PATCH /channels/{id}/messages/{id}``); see
        channels.base.EditingChannel. A deleted message (Unknown Message) is sent anew."""
        channel_id = await self._channel_of(address)
        parts = split_message(message, MAX_CONTENT)
        shown: list[str] = []
        for n, part in enumerate(parts):
            if n < len(message_ids):
                try:
                    shown.append(await self._patch(channel_id, message_ids[n], part.text))
                    continue
                except _MessageGone:
                    pass
            shown.append(await self._create(channel_id, part, _nonce(key, n)))
        for left in message_ids[len(parts) :]:
            with suppress(_MessageGone):
                shown.append(await self._patch(channel_id, left, LEFT_OVER))
        return shown

    async def _channel_of(self, address: str) -> str:
        if address.startswith("channel:"):
            return address.removeprefix("channel:")
        return await self._dm_channel(address)

    async def _create(self, channel_id: str, part: Rendered, nonce: str) -> str:
        body: dict[str, Any] = {"content": part.text[:MAX_CONTENT], "allowed_mentions": {"parse": []}}
        if nonce:
            body |= {"nonce": nonce, "enforce_nonce": True}
        made = await self._post("/channels/{channel_id}/messages", body, channel_id=channel_id)
        return str(made["id"])

    async def _patch(self, channel_id: str, message_id: str, text: str) -> str:
        body = {"content": text[:MAX_CONTENT], "allowed_mentions": {"parse": []}}
        path = "/channels/{channel_id}/messages/{message_id}"
        await self._request("PATCH", path, body, channel_id=channel_id, message_id=message_id)
        return message_id

    def requests_for(self, address: str) -> int:
        """API requests the next message to ``address`` takes: a first DM opens the DM channel."""
        return 1 if address.startswith("channel:") or address in self._dm_channels else 2

    async def close(self) -> None:
        await self._close_own()

    async def _close_own(self) -> None:
        own, self._own = self._own, None
        if own is not None:
            await own.close()

    async def _dm_channel(self, user_id: str) -> str:
        if user_id not in self._dm_channels:
            channel = await self._post("/users/@me/channels", {"recipient_id": user_id})
            self._dm_channels[user_id] = str(channel["id"])
        return self._dm_channels[user_id]

    async def _client(self) -> HTTPClient:
        """The bot's client while it runs, else ours, logged in on first use."""
        async with self._login:
            if self._shared is not None:
                return self._shared
            if self._own is None:
                own = HTTPClient(asyncio.get_running_loop(), max_ratelimit_timeout=BUCKET_WAIT)
                try:
                    await own.static_login(self._token)
                except BaseException:
                    await own.close()
                    raise
                self._own = own
            return self._own

    async def _post(self, path: str, body: dict[str, Any], **parameters: str) -> dict[str, Any]:
        """POST to a route; its major parameters (``channel_id``) pick its rate-limit bucket."""
        return await self._request("POST", path, body, **parameters)

    async def _request(
        self, method: str, path: str, body: dict[str, Any], **parameters: str
    ) -> dict[str, Any]:
        Route.BASE = self._base  # discord.py's REST base is one class attribute, its login's too
        route = Route(method, path, **parameters)
        try:
            http = await self._client()
            payload = await http.request(
                route, json=body, raise_for_status=_retry_is_ours, timeout=self._timeout
            )
        except discord.RateLimited as exc:  # a spent bucket longer than BUCKET_WAIT
            raise DeliveryError(
                f"discord: rate limited for {exc.retry_after}s", exc.retry_after, scope="chat"
            ) from exc
        except discord.HTTPException as exc:
            text = f"discord: {exc.status} {exc.text} (code {exc.code})"
            if exc.status == 404 and exc.code == UNKNOWN_MESSAGE:
                raise _MessageGone(text) from exc
            if exc.status in (403, 404) and exc.code in UNREACHABLE_CODES:
                raise RecipientUnreachable(text) from exc
            raise DeliveryError(text) from exc
        except discord.LoginFailure as exc:  # our own client's login: a token Discord refuses
            raise DeliveryError(f"discord: 401 the bot token was refused ({exc})") from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"discord: {type(exc).__name__}: {exc}") from exc
        return payload if isinstance(payload, dict) else {}


def _nonce(key: str, part: int) -> str:
    """The nonce of one part of a message: the first part's is the key itself."""
    return "" if not key else (key if part == 0 else f"{key}.{part}")[:MAX_NONCE]


async def _retry_is_ours(response: aiohttp.ClientResponse) -> None:
    """aiohttp's per-request status check: a 429 or a 5xx is raised here, before
    discord.py's request loop would sleep on it and try again."""
    status = response.status
    if status == 429:
        payload = await _json(response)
        headers = response.headers
        retry_after = float(payload.get("retry_after") or headers.get("Retry-After") or 1.0)
        is_global = bool(payload.get("global")) or headers.get("X-RateLimit-Global") == "true"
        scope = "channel" if is_global or headers.get("X-RateLimit-Scope") != "user" else "chat"
        raise DeliveryError(f"discord: rate limited for {retry_after}s", retry_after, scope=scope)
    if status >= 500:
        payload = await _json(response)
        raise DeliveryError(f"discord: {status} {payload.get('message', '')} (code {payload.get('code')})")


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        payload = await response.json(content_type=None)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
