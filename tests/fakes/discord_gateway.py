"""Discord's gateway and interactions, for the loopback fake (``FakeDiscordAPI``).

The gateway is a websocket at ``/gateway`` (its address is what ``GET /gateway/bot``
returns): it sends HELLO, answers IDENTIFY with READY and a GUILD_CREATE per server, acks
heartbeats, and sends INTERACTION_CREATE dispatches that a test makes with ``slash``,
``component`` and ``autocomplete`` — Discord's documented JSON, text frames. The REST
side takes what a bot does with an interaction: the callback
(``POST /interactions/{id}/{token}/callback``, once, within ``deadline`` seconds, else
10062 "Unknown interaction"), follow-ups and edits of the original response
(``/webhooks/{application}/{token}``), and command syncs
(``PUT /applications/{application}[/guilds/{guild}]/commands``). ``answer(id)`` waits for an
interaction's first response; ``responses`` keeps them all, with the seconds each took.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TOKEN = "test-token"  # the bot token the fake takes
APPLICATION_ID = "900000000000000001"
BOT_ID = "900000000000000002"
HEARTBEAT_MS = 41_250
EPHEMERAL = 1 << 6
TEXT_CHANNEL = "500000000000000005"  # where an interaction comes from unless a test says
DISCORD_EPOCH_MS = 1_420_070_400_000
DM_CHANNELS = 10**15  # a DM's channel id: this plus the user's id
ADMINISTRATOR = 1 << 3


@dataclass
class Response:
    """One thing the bot answered to an interaction: a callback, a follow-up or an edit."""

    kind: str  # "callback", "followup", "edit"
    type: int  # the callback's type (4 message, 5 deferred, 6 deferred update, 7 update, 8 choices)
    data: dict[str, Any]
    seconds: float  # since the interaction was sent

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.data.get("flags") or 0) & EPHEMERAL)

    @property
    def content(self) -> str:
        return str(self.data.get("content") or "")

    @property
    def text(self) -> str:
        """The content and the embeds' titles, descriptions and fields, as one text."""
        parts = [self.content]
        for embed in self.data.get("embeds") or []:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            parts += [f"{f.get('name')} {f.get('value')}" for f in embed.get("fields") or []]
        return "\n".join(p for p in parts if p)

    def custom_ids(self) -> list[str]:
        """Every component's custom id, in order (select menus and buttons)."""
        ids = []
        for row in self.data.get("components") or []:
            for component in row.get("components") or []:
                if component.get("custom_id"):
                    ids.append(str(component["custom_id"]))
        return ids

    def options(self) -> list[dict[str, Any]]:
        """A select menu's options, or the autocomplete choices."""
        if "choices" in self.data:
            return list(self.data["choices"])
        for row in self.data.get("components") or []:
            for component in row.get("components") or []:
                if component.get("type") == 3:
                    return list(component.get("options") or [])
        return []


@dataclass
class Sent:
    id: str
    token: str
    at: float
    responses: list[Response] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)  # a response, or refused as late
    message_id: str = ""
    late: bool = False  # the first answer came after the deadline and was refused


class Gateway:
    """The gateway websocket and interaction routes of the fake."""

    def __init__(self, *, deadline: float = 3.0, followup_seconds: float = 900.0) -> None:
        self.deadline = deadline
        self.followup_seconds = followup_seconds
        self.guilds: list[dict[str, Any]] = []  # GUILD_CREATE payloads
        self.sockets: list[web.WebSocketResponse] = []
        self.identified = asyncio.Event()
        self.sent: dict[str, Sent] = {}
        self.by_token: dict[str, Sent] = {}
        self.synced: dict[str, list[dict[str, Any]]] = {}  # "global" or guild id → commands
        self.sync_requests = 0
        self.late = 0  # callbacks refused because they came after the deadline
        self.logins = 0  # GET /users/@me: one per discord.py session opened
        self.base_url = ""  # the server's root, http://127.0.0.1:PORT
        self.files: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)

    async def close(self) -> None:
        for ws in list(self.sockets):
            await ws.close()

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/gateway", self._socket)
        app.router.add_get("/api/v10/gateway/bot", self._gateway_bot)
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._application)
        app.router.add_put("/api/v10/applications/{app}/commands", self._sync)
        app.router.add_put("/api/v10/applications/{app}/guilds/{guild}/commands", self._sync)
        app.router.add_post("/api/v10/interactions/{id}/{token}/callback", self._callback)
        app.router.add_post("/api/v10/webhooks/{app}/{token}", self._followup)
        app.router.add_patch("/api/v10/webhooks/{app}/{token}/messages/@original", self._edit)
        app.router.add_get("/attachments/{name}", self._attachment)

    def next_id(self, age: float = 0.0) -> str:
        """A snowflake: milliseconds since Discord's epoch (``age`` seconds ago) and a counter."""
        ms = int((time.time() - age) * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (next(self._ids) & 0x3FFFFF))

    def add_guild(self, guild_id: str, owner_id: str, channel_ids: list[str]) -> None:
        self.guilds.append(
            {
                "id": guild_id,
                "name": f"server {guild_id}",
                "owner_id": owner_id,
                "unavailable": False,
                "member_count": 2,
                "roles": [{"id": guild_id, "name": "@everyone", "permissions": "0", "position": 0}],
                "channels": [
                    {"id": c, "type": 0, "name": f"channel-{c}", "position": i, "permission_overwrites": []}
                    for i, c in enumerate(channel_ids)
                ],
                "members": [],
                "threads": [],
                "emojis": [],
                "stickers": [],
                "features": [],
                "voice_states": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "large": False,
                "joined_at": "2026-01-01T00:00:00+00:00",
            }
        )

    # ------------------------------------------------------------------ interactions

    def slash(
        self,
        user: str,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        guild: str | None = None,
        channel: str = TEXT_CHANNEL,
        permissions: int = 0,
        attachment: tuple[str, bytes, str] | None = None,
        attachment_option: str = "screenshot",
        age: float = 0.0,
    ) -> dict[str, Any]:
        """An application command as typed, options by name (str, int or bool); a file
        goes in the command's attachment option (``/paid``'s screenshot by default)."""
        typed = {str: 3, int: 4, bool: 5}
        opts = [{"name": k, "type": typed[type(v)], "value": v} for k, v in (options or {}).items()]
        data: dict[str, Any] = {"id": self.next_id(), "name": name, "type": 1, "options": opts}
        if attachment is not None:
            filename, content, mime = attachment
            attachment_id = self.next_id()
            self.files[filename] = content
            opts.append({"name": attachment_option, "type": 11, "value": attachment_id})
            data["resolved"] = {
                "attachments": {
                    attachment_id: {
                        "id": attachment_id,
                        "filename": filename,
                        "size": len(content),
                        "url": f"{self.base_url}/attachments/{filename}",
                        "proxy_url": f"{self.base_url}/attachments/{filename}",
                        "content_type": mime,
                    }
                }
            }
        return self._interaction(2, user, data, guild, channel, permissions, age)

    def autocomplete(
        self, user: str, name: str, options: dict[str, Any], focused: str, *, guild: str | None = None
    ) -> dict[str, Any]:
        opts = [
            {"name": k, "type": 3, "value": v, **({"focused": True} if k == focused else {})}
            for k, v in options.items()
        ]
        data = {"id": self.next_id(), "name": name, "type": 1, "options": opts}
        return self._interaction(4, user, data, guild, TEXT_CHANNEL, 0)

    def component(
        self,
        user: str,
        custom_id: str,
        *,
        values: list[str] | None = None,
        message_id: str = "1",
        guild: str | None = None,
        channel: str = TEXT_CHANNEL,
    ) -> dict[str, Any]:
        """A click on a button (or a choice in a select menu, with ``values``)."""
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2 if values is None else 3}
        if values is not None:
            data["values"] = values
        payload = self._interaction(3, user, data, guild, channel, 0)
        payload["message"] = message_json(message_id, channel, "", BOT_ID, flags=0)
        return payload

    def _interaction(
        self,
        kind: int,
        user: str,
        data: dict[str, Any],
        guild: str | None,
        channel: str,
        permissions: int,
        age: float = 0.0,
    ) -> dict[str, Any]:
        """``age``: how long ago Discord made it (an interaction that reached the bot late)."""
        person = {**_user(user), "global_name": f"User {user}"}
        payload: dict[str, Any] = {
            "id": self.next_id(age),
            "application_id": APPLICATION_ID,
            "type": kind,
            "data": data,
            "token": f"tok{self.next_id()}",
            "version": 1,
            "locale": "en-US",
            "app_permissions": "2048",
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild} if guild else {"1": user},
            "context": 0 if guild else 1,
            "attachment_size_limit": 10_485_760,
        }
        if guild is not None:
            payload |= {
                "guild_id": guild,
                "guild_locale": "en-US",
                "channel_id": channel,
                "channel": {
                    "id": channel,
                    "type": 0,
                    "guild_id": guild,
                    "name": f"channel-{channel}",
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                    "permissions": str(permissions | 2048),
                },
                "member": {
                    "user": person,
                    "roles": [],
                    "joined_at": "2026-01-01T00:00:00+00:00",
                    "permissions": str(permissions),
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                },
            }
        else:
            dm = str(DM_CHANNELS + int(user))
            payload |= {"channel_id": dm, "channel": {"id": dm, "type": 1}, "user": person}
        return payload

    async def direct_message(
        self, user: str, content: str, attachment: tuple[str, bytes, str] | None = None
    ) -> str:
        """A person writes to the bot in a DM (MESSAGE_CREATE); returns the DM channel's id,
        where the bot's answer is posted."""
        channel = str(DM_CHANNELS + int(user))
        message = message_json(self.next_id(), channel, content, user, 0)
        message["author"] = {**_user(user), "global_name": f"User {user}"}
        if attachment is not None:
            filename, data, mime = attachment
            self.files[filename] = data
            url = f"{self.base_url}/attachments/{filename}"
            message["attachments"] = [
                {
                    "id": self.next_id(),
                    "filename": filename,
                    "size": len(data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": mime,
                }
            ]
        await self._dispatch("MESSAGE_CREATE", message)
        return channel

    async def send(self, payload: dict[str, Any]) -> Sent:
        """Dispatch an interaction (INTERACTION_CREATE) to every connected bot."""
        made = ((int(payload["id"]) >> 22) + DISCORD_EPOCH_MS) / 1000
        sent = Sent(payload["id"], payload["token"], time.monotonic() - (time.time() - made))
        self.sent[sent.id] = self.by_token[sent.token] = sent
        await self._dispatch("INTERACTION_CREATE", payload)
        return sent

    async def interact(self, payload: dict[str, Any], timeout: float = 20.0) -> Response:
        """Send an interaction and wait for its answer: the response, or, when a busy
        machine made gomflow defer it, what followed the deferral."""
        sent = await self.send(payload)
        await asyncio.wait_for(sent.answered.wait(), timeout)
        if sent.responses[0].type in DEFERRALS:
            await self.last(sent.id, 2, timeout)
        return _final(sent) or sent.responses[0]

    async def last(self, sent_id: str, count: int, timeout: float = 30.0) -> list[Response]:
        """Wait until an interaction has ``count`` responses (callback, follow-ups, edits);
        fewer when its first answer came too late."""
        sent = self.sent[sent_id]
        deadline = time.monotonic() + timeout
        while len(sent.responses) < count and not sent.late:
            assert time.monotonic() < deadline, f"only {len(sent.responses)} responses"
            await asyncio.sleep(0.01)
        return sent.responses

    async def settled(self, sent: list[Sent], *, idle: float = 30.0) -> list[Response]:
        """Wait until each interaction has its final answer (its response, or the edit or
        follow-up after a deferral), or was refused as late; the final answers, in order.

        Bounded by progress, not by the clock: it fails only when none of those still
        waiting got anything for ``idle`` seconds, so a busy machine that answers slowly
        passes and a bot that stopped answering fails."""
        seen, quiet_since = -1, time.monotonic()
        while True:
            waiting = [s for s in sent if not s.late and not _final(s)]
            if not waiting:
                return [r for s in sent if (r := _final(s)) is not None]
            progress = sum(len(s.responses) for s in waiting)
            if progress != seen:
                seen, quiet_since = progress, time.monotonic()
            assert time.monotonic() - quiet_since < idle, (
                f"{len(waiting)} interactions still unanswered, none answered for {idle:.0f} s"
            )
            await asyncio.sleep(0.02)

    # ------------------------------------------------------------------ websocket

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(
            json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}, "s": None, "t": None})
        )
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            if frame.get("op") == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif frame.get("op") == 2:
                self.sockets.append(ws)
                await self._ready(ws)
        if ws in self.sockets:
            self.sockets.remove(ws)
        return ws

    async def _ready(self, ws: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": _user(BOT_ID, bot=True),
            "guilds": [],
            "session_id": "fake-session",
            "resume_gateway_url": f"{self._ws_url()}",
            "application": {"id": APPLICATION_ID, "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        await ws.send_str(self._frame("READY", ready))
        for guild in self.guilds:
            await ws.send_str(self._frame("GUILD_CREATE", guild))
        self.identified.set()

    def _frame(self, event: str, data: dict[str, Any]) -> str:
        return json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data})

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        frame = self._frame(event, data)
        for ws in list(self.sockets):
            await ws.send_str(frame)

    def _ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/gateway"

    # ------------------------------------------------------------------ REST

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return json_response({"url": self._ws_url(), "shards": 1, "session_start_limit": limit})

    async def _me(self, request: web.Request) -> web.Response:
        self.logins += 1  # discord.py asks who it is once per session it opens
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return json_response(_user(BOT_ID, bot=True))

    async def _application(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": APPLICATION_ID,
                "name": "gomflow",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": _user("1"),
                "verify_key": "00",
                "flags": 0,
                "summary": "",
                "team": None,
            }
        )

    async def _sync(self, request: web.Request) -> web.Response:
        self.sync_requests += 1
        commands = await request.json()
        where = request.match_info.get("guild", "global")
        made = [
            {**c, "id": self.next_id(), "application_id": APPLICATION_ID, "version": "1"} for c in commands
        ]
        if where != "global":
            made = [{**c, "guild_id": where} for c in made]
        self.synced[where] = made
        return json_response(made)

    async def _callback(self, request: web.Request) -> web.Response:
        sent = self.sent.get(request.match_info["id"])
        if sent is None or sent.token != request.match_info["token"]:
            return _error(404, 10062, "Unknown interaction")
        elapsed = time.monotonic() - sent.at
        if any(r.kind == "callback" for r in sent.responses):
            return _error(400, 40060, "Interaction has already been acknowledged.")
        if elapsed > self.deadline:
            self.late += 1
            sent.late = True
            sent.answered.set()
            return _error(404, 10062, "Unknown interaction")
        body = await read_body(request)
        kind, data = int(body["type"]), dict(body.get("data") or {})
        self._respond(sent, Response("callback", kind, data, elapsed))
        sent.message_id = self.next_id()
        interaction = {
            "id": sent.id,
            "type": 2,
            "response_message_id": sent.message_id,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL),
        }
        answer: dict[str, Any] = {"interaction": interaction}
        if kind in (4, 7):
            message = message_json(
                sent.message_id, TEXT_CHANNEL, data.get("content") or "", BOT_ID, data.get("flags")
            )
            answer["resource"] = {"type": kind, "message": message}
        return json_response(answer)

    async def _followup(self, request: web.Request) -> web.Response:
        return await self._later(request, "followup")

    async def _edit(self, request: web.Request) -> web.Response:
        return await self._later(request, "edit")

    async def _later(self, request: web.Request, kind: str) -> web.Response:
        sent = self.by_token.get(request.match_info["token"])
        if sent is None or time.monotonic() - sent.at > self.followup_seconds:
            return _error(404, 10015, "Unknown Webhook")
        data = await read_body(request)
        if kind == "edit" and sent.responses and "flags" not in data:
            # the original keeps its flags when edited (ephemeral stays ephemeral)
            data["flags"] = sent.responses[0].data.get("flags")
        self._respond(sent, Response(kind, 0, data, time.monotonic() - sent.at))
        message_id = sent.message_id if kind == "edit" else self.next_id()
        return json_response(
            message_json(message_id, TEXT_CHANNEL, data.get("content") or "", BOT_ID, data.get("flags"))
        )

    def _respond(self, sent: Sent, response: Response) -> None:
        sent.responses.append(response)
        sent.answered.set()

    async def _attachment(self, request: web.Request) -> web.Response:
        content = self.files.get(request.match_info["name"])
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content, content_type="image/png")


DEFERRALS = (5, 6)  # "thinking…", and a component's deferred update


def _final(sent: Sent) -> Response | None:
    """An interaction's final answer: its response, or what followed a deferral."""
    if not sent.responses:
        return None
    first = sent.responses[0]
    if first.type not in DEFERRALS:
        return first
    return sent.responses[1] if len(sent.responses) > 1 else None


async def read_body(request: web.Request) -> dict[str, Any]:
    """A JSON body, or a multipart one's ``payload_json`` (when files are attached); the
    names of attached files go in ``_files`` beside the message they belong to."""
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        payload: dict[str, Any] = json.loads(str(form["payload_json"]))
        files = [k for k in form if k.startswith("files[")]
        target = payload.setdefault("data", {}) if "type" in payload else payload
        target["_files"] = files
        return payload
    if not request.can_read_body:
        return {}
    return dict(await request.json())


def _user(user_id: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": "gomflow" if bot else f"user{user_id}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": bot,
        "flags": 0,
        "mfa_enabled": False,
        "verified": True,
    }


def message_json(message_id: str, channel_id: str, content: str, author: str, flags: Any) -> dict[str, Any]:
    return {
        "id": message_id,
        "channel_id": channel_id,
        "author": _user(author, bot=author == BOT_ID),
        "content": content,
        "timestamp": "2026-12-02T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": int(flags or 0),
        "components": [],
    }


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with Discord's exact content type (discord.py reads JSON only from
    ``application/json``, without a charset)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return json_response({"message": message, "code": code}, status=status)
