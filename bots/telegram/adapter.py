"""The Telegram adapter: python-telegram-bot in front of the shared command table.

Started inside the running loop (``async with application`` + ``start()`` + polling or a
webhook), never with ``run_polling()``; updates are handled concurrently. Every update is
claimed by its ``update_id`` first, so a repeat is acknowledged and ignored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    CallbackQuery,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bots.chat import ChatReply
from bots.commands import COMMANDS, Audience, BotContext
from bots.dispatch import handle
from bots.telegram import codec
from bots.telegram.render import MAX_CAPTION, Outgoing, render
from bots.telegram.tap_order import card_rows, handle_tap
from bots.telegram.translate import CHANNEL, Incoming, from_message, from_tap
from core.config import TelegramSettings
from core.errors import GomflowError
from core.inbound import claim_delivery
from core.services import reports
from core.services.accounts import identify, mark_unreachable

log = logging.getLogger(__name__)

T = TypeVar("T")
ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post", "callback_query"]
ATTEMPTS = 4
MAX_WAIT = 60.0  # seconds: the longest single flood-control wait
FLOOD_BUDGET = 180.0  # seconds: the most one reply waits for flood control in all
NOT_TEXT = "I can only read text here. Try /help to see what I can do."
EDITED = "I only act on new messages, not edited ones. Please send it again as a new message."
EXPIRED = "This button has expired. Send /go CODE to see the group order again."
OOPS = "Sorry, something went wrong on our side. Nothing was changed; please try again."

PTBApplication = Application[Any, Any, Any, Any, Any, Any]


class TelegramBot:
    def __init__(self, bot: BotContext, settings: TelegramSettings, *, retry_base: float = 0.5) -> None:
        assert settings.bot_token, "the Telegram adapter needs TELEGRAM_BOT_TOKEN"
        # Opt in to python-telegram-bot's coming timedelta periods (RetryAfter.retry_after),
        # which otherwise warns on every flood-control answer.
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        self.bot = bot
        self.settings = settings
        self._retry_base = retry_base
        self._menus: set[int] = set()
        builder = (
            ApplicationBuilder()
            .token(settings.bot_token)
            .base_url(settings.api_base_url)
            .base_file_url(settings.file_base_url)
            .concurrent_updates(True)
            .connection_pool_size(64)
        )
        if settings.webhook_url:
            builder = builder.updater(None)
        self.application: PTBApplication = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    @property
    def username(self) -> str:
        return str(self.application.bot.username)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TelegramBot]:
        """Connect (getMe), set the command menus, and take updates until the block ends."""
        async with self.application:
            await self._set_menus()
            await self.application.start()
            try:
                if self.settings.webhook_url:
                    await self.application.bot.set_webhook(
                        self.settings.webhook_url,
                        secret_token=self.settings.secret(),
                        allowed_updates=ALLOWED_UPDATES,
                    )
                    log.info("Telegram adapter started as @%s (webhook)", self.username)
                else:
                    assert self.application.updater is not None
                    await self.application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
                    log.info("Telegram adapter started as @%s (long polling)", self.username)
                yield self
            finally:
                if self.application.updater is not None and self.application.updater.running:
                    await self.application.updater.stop()
                await self.application.stop()

    async def feed(self, data: dict[str, Any]) -> None:
        """An update that arrived by webhook; raises ValueError when it is not one."""
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as exc:
            raise ValueError("not a Telegram update") from exc
        await self.application.update_queue.put(update)

    # ------------------------------------------------------------------ updates

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await claim_delivery(self.bot.core.uow(), CHANNEL, str(update.update_id)):
            return  # a repeat: acknowledged, ignored
        if update.callback_query is not None:
            await self._on_tap(update, update.callback_query)
        elif (edited := update.edited_message or update.edited_channel_post) is not None:
            await self._on_edited(edited)
        elif (message := update.message or update.channel_post) is not None:
            try:
                await self._on_message(message)
            except Exception:  # the outermost boundary of a message
                log.exception("message %s from chat %s failed", update.update_id, message.chat.id)
                if message.chat.type == "private":
                    await self._send(message.chat.id, _plain(OOPS))

    async def _on_message(self, message: Message) -> None:
        private = message.chat.type == "private"
        if message.text is None:
            if private:
                await self._send(message.chat.id, _plain(NOT_TEXT))
            return
        incoming = from_message(message, message.from_user, self.username)
        if incoming is None or (not private and incoming.command is None):
            return  # another bot's command, or group chatter
        await self._ensure_menu(incoming)
        reply = await handle(self.bot, incoming.request)
        await self._send(incoming.chat_id, await self._render(incoming, reply))

    async def _on_edited(self, message: Message) -> None:
        if message.chat.type == "private" or (message.text or "").startswith("/"):
            await self._send(message.chat.id, _plain(EDITED))

    async def _on_tap(self, update: Update, query: CallbackQuery) -> None:
        try:
            payload = await codec.decode(self.bot.core, query.data or "")
            if payload is None:
                await self._answer(query, EXPIRED, alert=True)
            elif payload.startswith(codec.ORDER) and (incoming := from_tap(update, "")) is not None:
                tap = await handle_tap(self.bot, incoming, payload, self.username)
                await self._answer(query, tap.alert or tap.toast, alert=tap.alert is not None)
                if tap.reply is not None:
                    out = await render(
                        self.bot.core,
                        tap.reply,
                        private=incoming.private,
                        bot_username=self.username,
                        rows=tap.rows,
                    )
                    await self._edit(query, out)
            elif (
                payload.startswith(codec.COMMAND) and (incoming := from_tap(update, payload[2:])) is not None
            ):
                reply = await handle(self.bot, incoming.request)
                if reply.alert:
                    await self._answer(query, (await self._render(incoming, reply)).alert_text, alert=True)
                    return
                await self._answer(query, None)
                await self._edit(query, await self._render(incoming, reply))
            else:
                await self._answer(query, EXPIRED, alert=True)
        except Exception:  # the outermost boundary of a tap
            log.exception("tap failed: %r", query.data)
            await self._answer(query, OOPS, alert=True)

    async def _render(self, incoming: Incoming, reply: ChatReply) -> Outgoing:
        rows = None
        if not reply.alert and incoming.args and incoming.command in {"go", "start"}:
            try:
                card = await reports.group_order_card(self.bot.core.reader(), incoming.args[0])
            except GomflowError:
                card = None
            if card is not None:
                rows = await card_rows(self.bot, card, private=incoming.private, bot_username=self.username)
        return await render(
            self.bot.core, reply, private=incoming.private, bot_username=self.username, rows=rows
        )

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("Telegram update failed", exc_info=context.error)

    # ------------------------------------------------------------------ sending

    async def _send(self, chat_id: int, out: Outgoing) -> None:
        bot = self.application.bot
        markup = out.keyboard
        if out.document is not None:
            document = out.document
            await self._call(
                chat_id,
                lambda: bot.send_document(
                    chat_id,
                    document=document.content,
                    filename=document.filename,
                    caption=out.parts[0][:MAX_CAPTION],
                    parse_mode=out.parse_mode,
                ),
            )
            return
        if out.image is not None:
            image = out.image
            await self._call(
                chat_id,
                lambda: bot.send_photo(
                    chat_id, photo=image, caption=out.parts[0][:MAX_CAPTION], parse_mode=out.parse_mode
                ),
            )
            return
        for index, part in enumerate(out.parts):
            last = index == len(out.parts) - 1
            await self._call(
                chat_id,
                lambda part=part, last=last: bot.send_message(  # type: ignore[misc]
                    chat_id, part, parse_mode=out.parse_mode, reply_markup=markup if last else None
                ),
            )

    async def _edit(self, query: CallbackQuery, out: Outgoing) -> None:
        """Show ``out`` in place of the tapped message; a file or a long text goes in new messages."""
        message = query.message
        if message is None:
            return
        if out.document is not None or out.image is not None or len(out.parts) > 1:
            await self._send(message.chat.id, out)
            return
        await self._call(
            message.chat.id,
            lambda: self.application.bot.edit_message_text(
                out.parts[0],
                chat_id=message.chat.id,
                message_id=message.message_id,
                parse_mode=out.parse_mode,
                reply_markup=out.keyboard,
            ),
        )

    async def _answer(self, query: CallbackQuery, text: str | None, *, alert: bool = False) -> None:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        await self._call(chat_id, lambda: query.answer(text[:200] if text else None, show_alert=alert))

    async def _call(self, chat_id: int, request: Callable[[], Awaitable[T]]) -> T | None:
        """One Bot API call with Telegram's rules: honour 429's retry_after, retry network
        errors and 5xx with backoff, mark a person who blocked the bot unreachable."""
        attempt, waited = 0, 0.0
        while attempt < ATTEMPTS:
            try:
                return await request()
            except RetryAfter as exc:  # flood control: wait as told, within a budget
                delay = min(MAX_WAIT, retry_after_seconds(exc))
                if waited + delay > FLOOD_BUDGET:
                    log.warning("flood control for chat %s outlasted %.0f s; giving up", chat_id, waited)
                    return None
                waited += delay
                await asyncio.sleep(delay)
            except Forbidden:
                log.info("chat %s blocked the bot; marking it unreachable", chat_id)
                await mark_unreachable(self.bot.core.uow(), CHANNEL, str(chat_id))
                return None
            except BadRequest as exc:
                reason = str(exc).lower()
                if "not modified" in reason or "query is too old" in reason:
                    return None
                if "chat not found" in reason:
                    await mark_unreachable(self.bot.core.uow(), CHANNEL, str(chat_id))
                    return None
                log.warning("Telegram refused a call for chat %s: %s", chat_id, exc)
                return None
            except NetworkError as exc:  # network trouble and 5xx answers
                attempt += 1
                if attempt == ATTEMPTS:
                    log.warning("giving up on a call for chat %s: %s", chat_id, exc)
                    return None
                await asyncio.sleep(self._retry_base * 2 ** (attempt - 1))
        return None

    # ------------------------------------------------------------------ command menu

    async def _set_menus(self) -> None:
        """Buyers see the buyer commands; groups the group ones; GOMs get theirs per chat."""
        bot = self.application.bot
        buyer = [c for c in COMMANDS.values() if c.audience is Audience.EVERYONE]
        group = [c for c in buyer if c.in_groups]
        await self._call(0, lambda: bot.set_my_commands(_menu(buyer), scope=BotCommandScopeAllPrivateChats()))
        await self._call(0, lambda: bot.set_my_commands(_menu(group), scope=BotCommandScopeAllGroupChats()))

    async def _ensure_menu(self, incoming: Incoming) -> None:
        if not incoming.private or incoming.chat_id in self._menus:
            return
        self._menus.add(incoming.chat_id)
        request = incoming.request
        actor = await identify(self.bot.core.uow(), CHANNEL, request.user_id, request.name, request.handle)
        if actor.may_administer:
            everything = _menu(list(COMMANDS.values()))
            scope = BotCommandScopeChat(incoming.chat_id)
            await self._call(
                incoming.chat_id, lambda: self.application.bot.set_my_commands(everything, scope=scope)
            )


def _menu(commands: list[Any]) -> list[BotCommand]:
    return [BotCommand(c.name, c.summary[:256]) for c in commands]


def _plain(text: str) -> Outgoing:
    return Outgoing(parts=[text], parse_mode=None, keyboard=None)


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # the int/timedelta transition warns on access
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
