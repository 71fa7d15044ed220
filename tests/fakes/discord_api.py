"""A local stand-in for Discord's REST API that keeps Discord's rate limits and counts breaches.

The gateway (a websocket) and interactions are in ``discord_gateway`` (``self.gateway``).
It answers ``POST /users/@me/channels`` (open a DM), ``POST /channels/{id}/messages`` and
``PATCH /channels/{id}/messages/{message_id}`` (edit a message the bot sent: its new
``content``, or 404 with code 10008 Unknown Message), and, for permission checks,
``GET /channels/{id}``, ``GET /guilds/{id}`` (with its roles) and
``GET /guilds/{id}/members/{user_id}`` from the servers a test sets up with ``add_guild``,
``add_member`` and ``add_channel`` (Discord's objects, permission bits as strings).
Every request counts against the global limit and every message against its channel's
limit, as sliding windows; a request over a limit is refused with 429 and a JSON body
holding ``retry_after`` (seconds) and ``global``, plus the ``Retry-After``,
``X-RateLimit-Global`` and ``X-RateLimit-Scope`` headers, as Discord documents — and
counted as a violation. A message accepted says how much of its channel's bucket is left,
in Discord's ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset-After`` and ``-Bucket`` headers
(reset: when the window is wholly free again). Faults can be injected: a share of requests answered 5xx or cut
off mid-connection, and users who blocked the bot (403, code 50007).

A message sent with a ``nonce`` and ``enforce_nonce: true`` is created once: a repeat
with the same nonce within ``nonce_seconds`` gets the message already created back, as
Discord does for the same author within a few minutes. ``posted`` keeps every accepted
request, repeats included, so a test can tell what was sent twice from what was shown twice.
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.discord_gateway import BOT_ID, Gateway, json_response, message_json, read_body
from tests.fakes.discord_gateway import TOKEN as TOKEN  # the bot token, for the tests that import it here


@dataclass
class Window:
    count: int
    seconds: float
    times: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        """0 if one more fits now, else seconds until it would."""
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()
        if len(self.times) < self.count:
            return 0.0
        return self.times[0] + self.seconds - now


class FakeDiscordAPI:
    def __init__(
        self,
        *,
        global_limit: tuple[int, float] = (50, 1.0),
        channel_limit: tuple[int, float] = (5, 5.0),
        fault_rate: float = 0.0,
        blocked_users: set[str] | None = None,
        seed: int = 5,
        nonce_seconds: float = 180.0,
        interaction_deadline: float = 3.0,
    ) -> None:
        self.gateway = Gateway(deadline=interaction_deadline)
        self.global_window = Window(*global_limit)
        self.channel_limit = channel_limit
        self.channel_windows: dict[str, Window] = {}
        self.fault_rate = fault_rate
        self.blocked = blocked_users or set()
        self.random = random.Random(seed)
        self.payloads: list[dict[str, Any]] = []  # create-message bodies, as sent
        self.guilds: dict[str, dict[str, Any]] = {}
        self.members: dict[tuple[str, str], dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.delivered: list[tuple[str, str]] = []  # (channel id, content) of messages created
        self.posted: list[tuple[str, str | None]] = []  # (channel id, nonce) of every accepted request
        # every message created, by id, as it reads now (edits applied), and its edit count
        self.messages: dict[str, dict[str, Any]] = {}
        self.edits: Counter[str] = Counter()
        self.nonce_seconds = nonce_seconds
        self._by_nonce: dict[str, tuple[float, dict[str, str]]] = {}
        self.violations = 0
        self.requests = 0
        self.faults = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    @property
    def per_channel(self) -> Counter[str]:
        return Counter(channel for channel, _ in self.delivered)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/v10/users/@me/channels", self._open_dm)
        app.router.add_post("/api/v10/channels/{channel_id}/messages", self._message)
        app.router.add_patch("/api/v10/channels/{channel_id}/messages/{message_id}", self._edit)
        app.router.add_get("/api/v10/channels/{channel_id}", self._channel)
        app.router.add_get("/api/v10/guilds/{guild_id}", self._guild)
        app.router.add_get("/api/v10/guilds/{guild_id}/members/{user_id}", self._member)
        self.gateway.mount(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/api/v10"
        self.gateway.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    def add_guild(self, guild_id: str, owner_id: str, roles: dict[str, int]) -> None:
        """A server; ``roles`` maps role id → permission bits (the server's id is @everyone)."""
        self.guilds[guild_id] = {
            "id": guild_id,
            "name": f"server {guild_id}",
            "owner_id": owner_id,
            "roles": [{"id": r, "name": r, "permissions": str(bits)} for r, bits in roles.items()],
        }

    def add_member(self, guild_id: str, user_id: str, roles: list[str]) -> None:
        self.members[(guild_id, user_id)] = {
            "user": {"id": user_id, "username": f"user{user_id}"},
            "roles": roles,
            "joined_at": "2026-01-01T00:00:00+00:00",
        }

    def add_channel(
        self, channel_id: str, guild_id: str, overwrites: list[tuple[str, int, int, int]]
    ) -> None:
        """A text channel; each overwrite is (role or user id, type 0 role / 1 member, allow, deny)."""
        self.channels[channel_id] = {
            "id": channel_id,
            "type": 0,
            "guild_id": guild_id,
            "permission_overwrites": [
                {"id": i, "type": t, "allow": str(allow), "deny": str(deny)}
                for i, t, allow, deny in overwrites
            ],
        }

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _gate(self, request: web.Request, channel_id: str | None) -> web.Response | None:
        """Auth, fault injection and rate limits shared by every route; None lets it through."""
        self.requests += 1
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        if self.fault_rate and self.random.random() < self.fault_rate:
            self.faults += 1
            if self.random.random() < 0.5 and request.transport is not None:
                request.transport.close()  # a network error: the connection just drops
                return web.Response(status=500)
            return json_response({"message": "upstream hiccup", "code": 0}, status=502)
        now = time.monotonic()
        wait = self.global_window.wait(now)
        if wait > 0:
            return self._too_many(wait, is_global=True)
        if channel_id is not None:
            window = self.channel_windows.setdefault(channel_id, Window(*self.channel_limit))
            wait = window.wait(now)
            if wait > 0:
                return self._too_many(wait, is_global=False)
            window.times.append(now)
        self.global_window.times.append(now)
        return None

    def _bucket(self, channel_id: str) -> dict[str, str]:
        """What Discord tells of a channel's message bucket after a message it accepted."""
        window = self.channel_windows[channel_id]
        now = time.monotonic()
        return {
            "X-RateLimit-Limit": str(window.count),
            "X-RateLimit-Remaining": str(max(0, window.count - len(window.times))),
            "X-RateLimit-Reset-After": f"{max(0.0, window.times[-1] + window.seconds - now):.3f}",
            "X-RateLimit-Bucket": "messages",
        }

    def _too_many(self, wait: float, *, is_global: bool) -> web.Response:
        self.violations += 1
        return json_response(
            {"message": "You are being rate limited.", "retry_after": round(wait, 3), "global": is_global},
            status=429,
            headers={
                "Retry-After": str(max(1, round(wait))),
                "X-RateLimit-Global": "true" if is_global else "false",
                "X-RateLimit-Scope": "global" if is_global else "user",
                "Via": "1.1 google",  # Discord's own 429s come through its proxy (a bare one is Cloudflare's)
            },
        )

    async def _open_dm(self, request: web.Request) -> web.Response:
        refused = self._gate(request, None)
        if refused is not None:
            return refused
        body = await request.json()
        return json_response({"id": f"dm{body['recipient_id']}", "type": 1})

    async def _message(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel_id"]
        refused = self._gate(request, channel_id)
        if refused is not None:
            return refused
        if channel_id.startswith("dm") and channel_id[2:] in self.blocked:
            return json_response({"message": "Cannot send messages to this user", "code": 50007}, status=403)
        body = await read_body(request)
        self.payloads.append(body)
        nonce = body.get("nonce")
        nonce = None if nonce is None else str(nonce)
        self.posted.append((channel_id, nonce))
        now = time.monotonic()
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._by_nonce.get(nonce)
            if seen is not None and now - seen[0] < self.nonce_seconds:
                return json_response(seen[1], headers=self._bucket(channel_id))  # the one it made
        self.delivered.append((channel_id, body.get("content") or ""))
        made = {**message_json(str(len(self.delivered)), channel_id, "", BOT_ID, 0), "nonce": nonce or ""}
        self.messages[made["id"]] = {**made, "content": body.get("content") or ""}
        if nonce is not None:
            self._by_nonce[nonce] = (now, made)
        return json_response(made, headers=self._bucket(channel_id))

    async def _edit(self, request: web.Request) -> web.Response:
        """Edit Message: only the bot's own messages, in the channel they are in."""
        channel_id, message_id = request.match_info["channel_id"], request.match_info["message_id"]
        refused = self._gate(request, channel_id)
        if refused is not None:
            return refused
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != channel_id:
            return json_response({"message": "Unknown Message", "code": 10008}, status=404)
        body = await read_body(request)
        if "content" in body:
            content = str(body["content"] or "")
            if len(content) > 2000:
                return json_response(
                    {"message": "Invalid Form Body", "code": 50035, "errors": {"content": "too long"}},
                    status=400,
                )
            message["content"] = content
        message["edited_timestamp"] = "2026-12-02T00:00:01+00:00"
        self.edits[message_id] += 1
        return json_response(message, headers=self._bucket(channel_id))

    def shown_in(self, channel_id: str) -> list[str]:
        """The bot's messages in a channel as they read now, oldest first."""
        return [m["content"] for m in self.messages.values() if m["channel_id"] == channel_id]

    async def _channel(self, request: web.Request) -> web.Response:
        return self._lookup(request, self.channels.get(request.match_info["channel_id"]), 10003, "Channel")

    async def _guild(self, request: web.Request) -> web.Response:
        return self._lookup(request, self.guilds.get(request.match_info["guild_id"]), 10004, "Guild")

    async def _member(self, request: web.Request) -> web.Response:
        key = (request.match_info["guild_id"], request.match_info["user_id"])
        return self._lookup(request, self.members.get(key), 10007, "Member")

    def _lookup(
        self, request: web.Request, found: dict[str, Any] | None, code: int, what: str
    ) -> web.Response:
        refused = self._gate(request, None)
        if refused is not None:
            return refused
        if found is None:
            return json_response({"message": f"Unknown {what}", "code": code}, status=404)
        return json_response(found)
