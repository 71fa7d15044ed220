"""The Discord adapter: discord.py's gateway client in front of the shared command table.

Started inside the running loop (``async with client`` + ``client.start()``), never with
``run()``. Every interaction — a slash command, a click, a select — is stored in the
same transaction as its effect (DESIGN rule 5; the gateway acknowledges events by the
heartbeat's sequence, not by our answer, see ``_acting``) and handled once. A direct
message is recorded before it is acted on: it has no deadline, and is answered after a
restart. Autocomplete only reads, so it is answered at once.

Discord wants an answer within 3 seconds: an answer not ready within ``defer_after`` is
deferred (Discord shows "thinking…") and sent as an edit of the deferred response when it
is. Personal answers are ephemeral; only a command meant for a group (``in_groups``) typed
in a server channel answers in the channel, and then with mentions disabled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import replace
from typing import Any, Protocol

import discord
import orjson
import yarl
from discord.gateway import DiscordWebSocket

from bots.chat import Attachment, ChatRequest
from bots.commands import COMMANDS, BotContext
from bots.discord import order
from bots.discord.autocomplete import suggest
from bots.discord.render import COMMAND, ORDER, Outgoing, decode, plain, render
from bots.discord.slash import ATTACHMENT, OptionError, command_line
from bots.dispatch import OOPS, handle
from core import inbound
from core.errors import GomflowError
from core.heap import settled_heap
from core.languages import ENGLISH, from_hint
from core.render import N_
from core.services.accounts import Actor, identify
from core.services.payments import MAX_PROOF_BYTES

log = logging.getLogger(__name__)
CHANNEL = "discord"
ANSWER_WITHIN = 3.0  # seconds: Discord's deadline for the first answer to an interaction
DEFER_AFTER = 1.5  # seconds: past this an answer is deferred
CONNECT_TIMEOUT = 60.0
STALE_AFTER = 60.0  # seconds: a stored interaction this old is no longer being handled anywhere
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")  # what a proof may be (core checks again)
EXPIRED = N_("That button has expired. Send /go CODE to see the group order again.")
NO_FILE = N_("I could not see the attached file. Please attach it again.")
NOT_IMAGE = N_("Please attach the payment screenshot as an image (PNG, JPEG or WebP).")
TOO_LARGE = N_("That image is too large; the limit is %(limit)s MB.")
# The longest a request waits for a spent rate-limit bucket before it is raised as a rate
# limit (discord.py takes no less); the outbox's requests share this client.
BUCKET_WAIT = 30.0


class SessionSharer(Protocol):
    """The outbound transport, which sends through the bot's client while the bot runs."""

    def sharing(self, http: discord.http.HTTPClient) -> AbstractAsyncContextManager[None]: ...


class DiscordBot:
    def __init__(
        self,
        bot: BotContext,
        token: str,
        api_base: str = "https://discord.com/api/v10",
        *,
        defer_after: float = DEFER_AFTER,
        guild_ready_timeout: float = 2.0,
        channel: SessionSharer | None = None,
    ) -> None:
        assert token, "the Discord adapter needs DISCORD_BOT_TOKEN"
        self.bot = bot
        self._token = token
        self._api_base = api_base.rstrip("/")
        self.defer_after = defer_after
        intents = discord.Intents.none()
        intents.guilds = True
        intents.dm_messages = True  # a DM's content needs no privileged intent
        self.client = discord.Client(
            intents=intents, guild_ready_timeout=guild_ready_timeout, max_ratelimit_timeout=BUCKET_WAIT
        )
        self._channel = channel
        self.client.setup_hook = lambda: find_gateway(self.client)  # type: ignore[method-assign]
        self._connected = asyncio.Event()
        self.client.on_connect = self._on_connect  # type: ignore[attr-defined]
        self.client.on_interaction = self._on_interaction  # type: ignore[attr-defined]
        self.client.on_message = self._on_message  # type: ignore[attr-defined]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[DiscordBot]:
        """Log in, connect to the gateway and take interactions until the block ends."""
        point_at(self._api_base)
        await self._expire_waiting()
        async with self.client:
            started = asyncio.create_task(self.client.start(self._token), name="discord-gateway")
            connected = asyncio.create_task(self._connected.wait())
            try:
                await asyncio.wait(
                    {started, connected}, timeout=CONNECT_TIMEOUT, return_when="FIRST_COMPLETED"
                )
                if started.done():
                    started.result()  # raises why it stopped
                    raise ConnectionError("the Discord gateway closed while connecting")
                if not connected.done():
                    raise TimeoutError("the Discord gateway did not answer")
                log.info("Discord adapter started as %s (gateway)", self.client.user)
                replaying = asyncio.create_task(self._replay_dms(), name="discord-replay")
                shared = nullcontext() if self._channel is None else self._channel.sharing(self.client.http)
                try:
                    # discord.py's state made while connecting is frozen with the rest
                    with settled_heap():
                        async with shared:  # one discord.py session for the bot and the outbox
                            yield self
                finally:
                    replaying.cancel()
                    await asyncio.gather(replaying, return_exceptions=True)
            finally:
                connected.cancel()
                await self.client.close()
                await asyncio.gather(started, connected, return_exceptions=True)

    async def _on_connect(self) -> None:
        self._connected.set()

    async def _expire_waiting(self) -> None:
        """Interactions stored but never handled (the process stopped) are long past
        Discord's deadline: the person already saw it fail. Close them, and say so. Only
        those older than ``STALE_AFTER`` (their snowflake id says when Discord made them):
        a younger one may be in the hands of another gomflow process right now. A direct
        message waits for ``_replay_dms``: it has no deadline, and it may be a proof."""
        stale = [i for i, payload in await self._stale() if _stored_dm(payload) is None]
        for external_id in stale:
            await inbound.finish(self.bot.core.desk, inbound.Handling(CHANNEL, external_id))
        if stale:
            log.warning("%d Discord interactions from before the last stop expired unanswered", len(stale))

    async def _replay_dms(self) -> None:
        """Answer the direct messages stored but never handled, in the order they came; one
        stored less than ``STALE_AFTER`` ago (another process may hold it) once it is older."""
        while True:
            for external_id, payload in await self._stale():
                if (stored := _stored_dm(payload)) is not None:
                    await self._replay_dm(external_id, stored)
            young = [
                snowflake_age(int(i))
                for i, p in await inbound.unhandled(self.bot.core.reader(), CHANNEL)
                if i.isdigit() and _stored_dm(p) is not None
            ]
            if not young:
                return
            await asyncio.sleep(max(0.0, STALE_AFTER - max(young)) + 1.0)

    async def _replay_dm(self, external_id: str, stored: dict[str, Any]) -> None:
        fetched: Attachment | str | None = None
        if stored.get("attachment"):
            try:
                fetched = await self._download(stored["attachment"])
            except Exception as exc:  # the screenshot can no longer be fetched: the words are answered
                log.warning("stored Discord message %s: its file is gone (%s)", external_id, exc)
        request = self._dm_request(stored, fetched if isinstance(fetched, Attachment) else None)
        try:
            channel = self.client.get_partial_messageable(int(stored["channel"]))
            await self._answer_dm(external_id, request, channel, await self._identify(request))
        except Exception:  # answered as far as it can be: never tried again
            log.exception("stored Discord message %s could not be answered", external_id)
            await inbound.finish(self.bot.core.desk, inbound.Handling(CHANNEL, external_id))

    async def _stale(self) -> list[tuple[str, str]]:
        waiting = await inbound.unhandled(self.bot.core.reader(), CHANNEL)
        return [(i, p) for i, p in waiting if not i.isdigit() or snowflake_age(int(i)) > STALE_AFTER]

    # ------------------------------------------------------------------ interactions

    async def _on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        try:
            if interaction.type is discord.InteractionType.autocomplete:
                await self._on_autocomplete(interaction)
            elif _age(interaction) > ANSWER_WITHIN:
                await self._too_late(interaction)
            elif interaction.type is discord.InteractionType.application_command:
                await self._on_command(interaction)
            elif interaction.type is discord.InteractionType.component:
                await self._on_component(interaction)
        except discord.NotFound:
            log.warning("Discord interaction %s expired before it was answered", interaction.id)
        except Exception:  # the outermost boundary of an interaction: log, answer politely
            log.exception("Discord interaction %s failed", interaction.id)
            if not interaction.response.is_done():
                oops = self._said(OOPS, from_hint(interaction.locale.value))
                await _quietly(interaction.response.send_message(oops, ephemeral=True))

    async def _acting(
        self,
        interaction: discord.Interaction[Any],
        request: ChatRequest,
        act: Callable[[], Awaitable[Outgoing]],
    ) -> Outgoing | None:
        """Act on the interaction once (None for a repeat, or one over the sender's limit).

        It is stored with its effect, not before it (``inbound.handling`` with its
        payload): the first commit of its handling stores it handled, and a /order's
        commit is its order's, so the interaction costs one trip to the order desk. The
        gateway acknowledges events by its heartbeat whatever we do, and an interaction
        nobody answered is past Discord's deadline by the time anything could replay it,
        so storing it first would only add a transaction."""
        record = orjson.dumps(
            {"type": interaction.type.value, "user": interaction.user.id, "data": interaction.data}
        ).decode()
        external_id = str(interaction.id)
        desk, limit = self.bot.core.desk, self.bot.core.inbound_limit
        if not await inbound.admit(desk, CHANNEL, external_id, record, limit=limit, sender=request.user_id):
            return None
        with inbound.handling(CHANNEL, external_id, payload=record) as state:
            out = await act()
            await inbound.finish(desk, state)
        return None if state.repeated else out

    async def _too_late(self, interaction: discord.Interaction[Any]) -> None:
        """Past Discord's deadline no answer is taken and the person already saw it fail:
        acting now would be an effect nobody was told about. Stored, closed, not acted on."""
        log.warning(
            "Discord interaction %s arrived %.1f s late; not acted on", interaction.id, _age(interaction)
        )
        record = json.dumps({"type": interaction.type.value, "user": interaction.user.id, "late": True})
        (fresh,) = await inbound.record(self.bot.core.desk, CHANNEL, [(str(interaction.id), record)])
        if fresh:
            await inbound.finish(self.bot.core.desk, inbound.Handling(CHANNEL, str(interaction.id)))

    async def _on_message(self, message: discord.Message) -> None:
        """A direct message: a payment screenshot sent as is, or the next answer of a
        conversation (a new GO's steps). Server messages are not read (slash commands are)."""
        if message.guild is not None or message.author.bot:
            return
        try:
            attachment = await self._dm_attachment(message.attachments)
            stored: dict[str, Any] = {
                "type": "dm",
                "user": message.author.id,
                "name": message.author.display_name,
                "handle": message.author.name,
                "channel": message.channel.id,
                "content": message.content[:4000],
                "attachment": _attachment_of(message.attachments),
            }
            if isinstance(attachment, str):  # nothing recorded: said in their language, looked up
                refused = await self._identify(self._dm_request(stored, None))
                await message.channel.send(self._said(attachment, refused.language))
                return
            request = self._dm_request(stored, attachment)
            (fresh,), actor = await asyncio.gather(
                inbound.record(
                    self.bot.core.desk,
                    CHANNEL,
                    [(str(message.id), json.dumps(stored))],
                    limit=self.bot.core.inbound_limit,
                    senders=[str(message.author.id)],
                ),
                self._identify(request),
            )
            if fresh:
                await self._answer_dm(str(message.id), request, message.channel, actor)
        except discord.Forbidden:
            log.info("Discord user %s does not take DMs from the bot", message.author.id)
        except Exception:  # the outermost boundary of a message: log, answer politely
            log.exception("Discord message %s failed", message.id)
            await _quietly(message.channel.send(OOPS))

    def _dm_request(self, stored: dict[str, Any], attachment: Attachment | None) -> ChatRequest:
        return ChatRequest(
            channel=CHANNEL,
            user_id=str(stored["user"]),
            name=str(stored.get("name") or stored["user"]),
            handle=stored.get("handle"),
            text=str(stored.get("content") or ""),
            chat_id=str(stored["channel"]),
            attachment=attachment,
        )

    async def _answer_dm(
        self, external_id: str, request: ChatRequest, channel: discord.abc.Messageable, actor: Actor
    ) -> None:
        """Handle one recorded direct message and answer it in its channel."""
        with inbound.handling(CHANNEL, external_id) as state:
            out = await render(self.bot.core, await handle(self.bot, request, actor), ephemeral=False)
            await channel.send(**_no_none(out.first()))
            for part in out.parts[1:]:
                await channel.send(part, allowed_mentions=discord.AllowedMentions.none())
            await inbound.finish(self.bot.core.desk, state)

    async def _on_command(self, interaction: discord.Interaction[Any]) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        name = str(data.get("name", ""))
        values = {str(o["name"]): o.get("value") for o in data.get("options") or []}
        in_server = interaction.guild_id is not None
        try:
            text = command_line(name, values, str(interaction.channel_id) if in_server else None)
        except OptionError as refusal:  # nothing to store: it has no effect
            language = from_hint(interaction.locale.value)
            said = self._said(refusal.text, language, **refusal.values)
            await interaction.response.send_message(said, ephemeral=True)
            return
        public = in_server and COMMANDS[name].in_groups
        request = self._request(interaction, text, None)

        async def act() -> Outgoing:
            attachment = await self._attachment(data)
            if isinstance(attachment, str):
                return plain(self._said(attachment, request.language))
            given = request if attachment is None else replace(request, attachment=attachment)
            reply = await handle(self.bot, given)
            code = None if reply.alert else order.card_code(reply)
            if code is not None:
                found = await order.choices(self.bot, await self._identify(request), code)
                return await order.card(
                    self.bot, found, reply.text, ephemeral=not public, language=reply.language
                )
            return await render(self.bot.core, reply, ephemeral=not public)

        await self._answer(
            interaction, self._acting(interaction, request, act), ephemeral=not public, update=False
        )

    async def _on_component(self, interaction: discord.Interaction[Any]) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        payload = await decode(self.bot.core, str(data.get("custom_id", "")))
        if payload is None or not payload.startswith((COMMAND, ORDER)):
            expired = self._said(EXPIRED, from_hint(interaction.locale.value))
            await interaction.response.send_message(expired, ephemeral=True)
            return
        if payload.startswith(COMMAND):
            request = self._request(interaction, payload[len(COMMAND) :], None)

            async def run() -> Outgoing:
                reply = await handle(self.bot, request)
                return await render(self.bot.core, reply, ephemeral=True)

            await self._answer(
                interaction, self._acting(interaction, request, run), ephemeral=True, update=False
            )
            return
        values = [str(v) for v in data.get("values") or []]
        user = str(interaction.user.id)
        panels: list[order.Panel] = []

        clicker = self._request(interaction, "", None)

        async def tap() -> Outgoing:
            actor = await self._identify(clicker)
            panels.append(await order.tap(self.bot, actor, payload, values, user))
            return panels[0].out

        # a pick answers the clicker alone (a new ephemeral message); the panel's steps edit it
        update = not payload.startswith("o:pk")
        acting = self._acting(interaction, clicker, tap)
        await self._answer(interaction, acting, ephemeral=True, update=update, panels=panels)

    async def _on_autocomplete(self, interaction: discord.Interaction[Any]) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        options = {str(o["name"]): o for o in data.get("options") or []}
        focused = next((n for n, o in options.items() if o.get("focused")), None)
        request = self._request(interaction, "", None)
        language = request.language
        try:
            actor = await self._identify(request)
            language = actor.language or language
            choices = await suggest(self.bot, actor, str(data.get("name")), focused, options)
        except GomflowError as refusal:
            said = self.bot.renderer.said(refusal.text, language or ENGLISH, refusal.values)
            choices = [(said[:100], "?")]
        await interaction.response.autocomplete(
            [discord.app_commands.Choice(name=label[:100], value=value[:100]) for label, value in choices]
        )

    # ------------------------------------------------------------------ answering

    async def _answer(
        self,
        interaction: discord.Interaction[Any],
        work: Awaitable[Outgoing | None],
        *,
        ephemeral: bool,
        update: bool,
        panels: list[order.Panel] | None = None,
    ) -> None:
        """Answer within Discord's deadline: at once when ready in time, else defer first.
        The time allowed counts from when Discord made the interaction."""
        deferring: list[asyncio.Task[Any]] = []

        def defer() -> None:  # not ready in time: tell Discord an answer is coming
            deferral = interaction.response.defer(ephemeral=ephemeral, thinking=not update)
            deferring.append(asyncio.ensure_future(deferral))

        # a timer, not a task and asyncio.wait: most interactions are answered long before
        # it fires, and it is cancelled the moment the work is done
        timer = asyncio.get_running_loop().call_later(max(0.0, self.defer_after - _age(interaction)), defer)
        try:
            out = await work
        finally:
            timer.cancel()
            for deferral in deferring:
                await deferral
        deferred = bool(deferring)
        if out is None:  # a repeat of an interaction already answered
            return
        if panels and not panels[0].update:
            update = False  # a refusal is said below the panel, not in its place
        kwargs = out.first()
        if update and not deferred:
            kwargs.pop("allowed_mentions")
            files = kwargs.pop("files", None)
            await interaction.response.edit_message(attachments=files or [], **_no_none(kwargs))
        elif deferred and (update or not out.ephemeral or ephemeral):
            files = kwargs.pop("files", None)
            await interaction.edit_original_response(attachments=files or [], **_no_none(kwargs))
        elif deferred:
            await interaction.followup.send(ephemeral=True, **_no_none(kwargs))
        else:
            await interaction.response.send_message(ephemeral=out.ephemeral, **_no_none(kwargs))
        for part in out.parts[1:]:
            await interaction.followup.send(part, ephemeral=out.ephemeral)

    # ------------------------------------------------------------------ people and files

    def _said(self, message: str, language: str | None, **values: object) -> str:
        """A message of the adapter's own in ``language`` (else English), filled in; a
        file's refusal knows the size limit."""
        values = {"limit": MAX_PROOF_BYTES // (1024 * 1024), **values}
        return self.bot.renderer.said(message, language or ENGLISH, values)

    def _request(
        self, interaction: discord.Interaction[Any], text: str, attachment: Attachment | None
    ) -> ChatRequest:
        user = interaction.user
        return ChatRequest(
            channel=CHANNEL,
            user_id=str(user.id),
            name=user.display_name,
            handle=user.name,
            text=text,
            chat_id=str(interaction.channel_id or user.id),
            attachment=attachment,
            language=interaction.locale.value,
        )

    async def _identify(self, request: ChatRequest) -> Actor:
        return await identify(
            self.bot.core.uow(), CHANNEL, request.user_id, request.name, request.handle, request.language
        )

    async def _dm_attachment(self, attachments: list[discord.Attachment]) -> Attachment | str | None:
        found = _attachment_of(attachments)
        return None if found is None else await self._download(found)

    async def _attachment(self, data: dict[str, Any]) -> Attachment | str | None:
        """The file given to an attachment option (a proof of payment); a refusal as words."""
        ids = [str(o.get("value")) for o in data.get("options") or [] if o.get("type") == ATTACHMENT]
        if not ids:
            return None
        found = ((data.get("resolved") or {}).get("attachments") or {}).get(ids[0])
        if not found:
            return NO_FILE
        return await self._download(found)

    async def _download(self, found: dict[str, Any]) -> Attachment | str:
        """An image within core's limits, downloaded; else why not, in words (in English, with
        the size limit left to fill in: ``_said`` says it in the sender's language)."""
        mime = str(found.get("content_type") or "").split(";")[0]
        if mime not in IMAGE_TYPES:
            return NOT_IMAGE
        if int(found.get("size") or 0) > MAX_PROOF_BYTES:  # not even downloaded
            return TOO_LARGE
        content = await self.client.http.get_from_cdn(str(found["url"]))
        return Attachment(str(found.get("filename") or "proof"), content, mime)


def _attachment_of(attachments: list[discord.Attachment]) -> dict[str, Any] | None:
    """A DM's first file as Discord describes it (kept with the message, to fetch again)."""
    if not attachments:
        return None
    found = attachments[0]
    return {
        "url": found.url,
        "filename": found.filename,
        "content_type": found.content_type,
        "size": found.size,
    }


def _stored_dm(payload: str) -> dict[str, Any] | None:
    """A stored direct message that can be answered again (it names its channel), else None."""
    try:
        stored = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(stored, dict) or stored.get("type") != "dm" or not stored.get("channel"):
        return None
    return stored


async def find_gateway(client: discord.Client) -> None:
    """Where the gateway is, as Discord says (GET /gateway/bot), asked once at login; a
    plain (unsharded) discord.py client otherwise connects to its built-in address."""
    _, url, _ = await client.http.get_bot_gateway()
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


def point_at(api_base: str) -> None:
    """discord.py's REST base is a class attribute: point it at DISCORD_API_BASE."""
    discord.http.Route.BASE = api_base.rstrip("/")


def _age(interaction: discord.Interaction[Any]) -> float:
    """Seconds since Discord made the interaction (its id says when)."""
    return snowflake_age(interaction.id)


def snowflake_age(snowflake: int) -> float:
    """Seconds since Discord made ``snowflake``: its top bits are milliseconds since
    Discord's epoch (in floats: every interaction asks, twice)."""
    return time.time() - ((snowflake >> 22) + discord.utils.DISCORD_EPOCH) / 1000


def _no_none(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


async def _quietly(call: Awaitable[Any]) -> None:
    try:
        await call
    except discord.HTTPException:
        log.warning("could not answer a Discord interaction")
