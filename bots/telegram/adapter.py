"""The Telegram adapter: python-telegram-bot in front of the shared command table.

Started inside the running loop (``async with application`` + ``start()`` + polling or a
webhook), never with ``run_polling()``; updates are handled concurrently.

Nothing is acknowledged before it is durable (DESIGN rule 5): a webhook update is recorded
(``core.inbound.record``) before the 200, and long polling asks for the next offset (which
tells Telegram to forget the updates before it) only once the fetched updates are recorded;
python-telegram-bot's own Updater advances the offset as soon as it has queued them, so
polling is a small loop here. A repeated update id is recorded once and handled once. Each
update is handled inside ``inbound.handling``, so the commit of its effect marks it handled;
on start, updates recorded but never handled (the process died) are handled first, in the
order they arrived.

A photo (or an image file) in a private chat becomes the request's attachment, a proof of
payment (see ``files``). Where the server has a payment provider token, a reply may carry
an invoice (sendInvoice); ``pre_checkout_query`` is answered from the core within Telegram's
10 seconds, and only ``successful_payment`` marks an order paid.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    CallbackQuery,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
    SuccessfulPayment,
    Update,
    User,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bots.chat import Attachment, ChatReply
from bots.commands import COMMANDS, Audience, BotContext
from bots.dispatch import SLOW_DOWN, handle
from bots.telegram import codec, files
from bots.telegram.render import MAX_CAPTION, Outgoing, render
from bots.telegram.tap_order import card_rows, handle_tap
from bots.telegram.translate import CHANNEL, Incoming, from_message, from_tap
from core import inbound
from core.config import TelegramSettings
from core.languages import ENGLISH, LANGUAGES, from_hint
from core.render import N_
from core.sending import DeliveryError, MessageRefused, RecipientUnreachable
from core.services import telegram_payments
from core.services.accounts import Actor, identify, mark_unreachable

log = logging.getLogger(__name__)

T = TypeVar("T")
ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "pre_checkout_query",
]
ATTEMPTS = 4
# Telegram names a menu's language with ISO 639-1 codes: Filipino has none, Tagalog's is tl
TELEGRAM_LANGUAGE_CODES = {"fil": "tl"}
QUIET_REFUSALS = ("not modified", "query is too old")  # an edit that changes nothing, a late answer
MAX_WAIT = 60.0  # seconds: the longest single flood-control wait
FLOOD_BUDGET = 180.0  # seconds: the most one reply waits for flood control in all
NOT_TEXT = N_("I can only read text and photos here. Try /help to see what I can do.")
EDITED = N_("I only act on new messages, not edited ones. Please send it again as a new message.")
EXPIRED = N_("This button has expired. Send /go CODE to see the group order again.")
OOPS = N_("Sorry, something went wrong on our side. Nothing was changed; please try again.")
POLL_TIMEOUT = timedelta(seconds=10)  # how long one getUpdates may wait for news
POLL_BACKOFF = 30.0  # seconds: the longest wait before asking again after a failure
PRE_CHECKOUT_BUDGET = 7.0  # seconds: Telegram wants the answer within 10
CHECKOUT_OOPS = N_("Sorry, something went wrong on our side and nothing was charged. Please try again.")
PAID_HELD = N_(
    "Thank you: your payment for %(number)s arrived, but it does not match what the order owes now, "
    "so the GOM will check it and sort it out with you."
)
PAID_UNKNOWN = N_(
    "Your payment arrived, but I could not match it to an order. Please send the GOM this "
    "Telegram payment id: %(charge)s"
)
PAID_UNRECORDED = N_(
    "Your payment arrived, but I could not record it just now. It is kept and will be recorded; "
    "if the GOM asks, this is its Telegram payment id: %(charge)s"
)
INVOICE_FAILED = N_("Telegram could not create the invoice (%(reason)s). Please pay another way (see /pay).")

PTBApplication = Application[Any, Any, Any, Any, Any, Any]


class TelegramBot:
    def __init__(
        self,
        bot: BotContext,
        settings: TelegramSettings,
        *,
        client: Bot,
        errors: Callable[[TelegramError], DeliveryError | RecipientUnreachable],
        retry_base: float = 0.5,
    ) -> None:
        """``client`` and ``errors`` are the Telegram channel's: replies and outbox messages
        go through one client, and Telegram's errors are translated once, there."""
        assert settings.bot_token, "the Telegram adapter needs TELEGRAM_BOT_TOKEN"
        self.bot = bot
        self.settings = settings
        self._errors = errors
        self._retry_base = retry_base
        self._menus: dict[int, bool] = {}  # private chat → whether it has the GOM menu
        # no Updater: it acknowledges updates before they are durable (see the module doc)
        builder = ApplicationBuilder().bot(client).updater(None)
        self.application: PTBApplication = builder.concurrent_updates(settings.concurrent_updates).build()
        self._taken: set[int] = set()  # update ids queued or being handled in this process
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    @property
    def username(self) -> str:
        return str(self.application.bot.username)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TelegramBot]:
        """Connect (getMe), set the command menus, handle what was left unhandled, and
        take updates until the block ends."""
        poller: asyncio.Task[None] | None = None
        async with self.application:
            await self._set_menus()
            await self.application.start()
            try:
                await self._catch_up()
                if self.settings.webhook_url:
                    await self.application.bot.set_webhook(
                        self.settings.webhook_url,
                        secret_token=self.settings.secret(),
                        allowed_updates=ALLOWED_UPDATES,
                    )
                    log.info("Telegram adapter started as @%s (webhook)", self.username)
                else:
                    await self.application.bot.delete_webhook()
                    poller = asyncio.create_task(self._poll(), name="telegram-polling")
                    log.info("Telegram adapter started as @%s (long polling)", self.username)
                yield self
            finally:
                if poller is not None:
                    poller.cancel()
                    await asyncio.gather(poller, return_exceptions=True)
                await self.application.stop()

    async def feed(self, data: dict[str, Any]) -> None:
        """An update that arrived by webhook: returns once it is recorded (then the webhook
        may answer 200); raises ValueError when it is not an update."""
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as exc:
            raise ValueError("not a Telegram update") from exc
        await self._receive([(update, data)])

    async def _receive(self, updates: list[tuple[Update, dict[str, Any]]]) -> None:
        """Record updates (one transaction for the lot), then queue the new ones."""
        fresh = await inbound.record(
            self.bot.core.desk,
            CHANNEL,
            [(str(update.update_id), json.dumps(data, ensure_ascii=False)) for update, data in updates],
            limit=self.bot.core.inbound_limit,
            senders=[_sender(update) for update, _ in updates],
        )
        for (update, _), new in zip(updates, fresh, strict=True):
            if new:
                self._queue(update)

    def _queue(self, update: Update) -> None:
        if update.update_id not in self._taken:  # already queued (caught up and fed at once)
            self._taken.add(update.update_id)
            self.application.update_queue.put_nowait(update)

    async def _catch_up(self) -> None:
        """Queue every update recorded but not handled, in the order it arrived."""
        waiting = await inbound.unhandled(self.bot.core.reader(), CHANNEL)
        if waiting:
            log.info("handling %d Telegram updates received before the last stop", len(waiting))
        for external_id, payload in waiting:
            try:
                update = Update.de_json(json.loads(payload), self.application.bot)
            except Exception:  # one unreadable row must not keep the bot from starting
                log.exception("stored Telegram update %s is unreadable; left unhandled", external_id)
                continue
            self._queue(update)

    async def _poll(self) -> None:
        """Long polling: the next offset acknowledges the updates before it, so it is only
        asked for once they are recorded; a failure is retried with backoff."""
        bot = self.application.bot
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
                )
                if updates:
                    await self._receive([(update, update.to_dict()) for update in updates])
                    offset = updates[-1].update_id + 1
                failures = 0
            except TelegramError as exc:
                failures += 1
                problem = self._errors(exc)
                wait = getattr(problem, "retry_after", None)
                if wait is None:
                    log.warning("Telegram long polling failed (%s); asking again", exc)
                    wait = min(POLL_BACKOFF, self._retry_base * 2 ** min(failures, 10))
                await asyncio.sleep(min(MAX_WAIT, wait))
            except Exception as exc:  # the outermost boundary of polling: log, wait, ask again
                failures += 1
                log.warning("Telegram long polling failed (%s); asking again", exc)
                await asyncio.sleep(min(POLL_BACKOFF, self._retry_base * 2 ** min(failures, 10)))

    # ------------------------------------------------------------------ updates

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one recorded update; what it writes marks it handled in the same commit,
        and an update that writes nothing is marked once answered."""
        try:
            with inbound.handling(CHANNEL, str(update.update_id)) as state:
                try:
                    if self.bot.core.inbound_limit.slowed(CHANNEL, state.external_id):
                        await self._slow_down(update)
                    else:
                        await self._dispatch(update)
                except Exception:  # the outermost boundary of an update: never handle it again
                    log.exception("Telegram update %s failed", update.update_id)
                await inbound.finish(self.bot.core.desk, state)
        finally:
            self._taken.discard(update.update_id)

    async def _slow_down(self, update: Update) -> None:
        """The first update over its sender's inbound limit: say so, once (the rest are dropped)."""
        said = self._said(SLOW_DOWN, _language(update.effective_user))
        if update.callback_query is not None:
            await self._answer(update.callback_query, said, alert=True)
        elif update.effective_chat is not None and update.effective_chat.type == "private":
            await self._send(update.effective_chat.id, _plain(said))

    async def _dispatch(self, update: Update) -> None:
        if update.pre_checkout_query is not None:
            await self._on_pre_checkout(update.pre_checkout_query)
        elif update.callback_query is not None:
            await self._on_tap(update, update.callback_query)
        elif (edited := update.edited_message or update.edited_channel_post) is not None:
            await self._on_edited(edited)
        elif (message := update.message or update.channel_post) is not None:
            try:
                await self._on_message(message)
            except Exception:  # the outermost boundary of a message
                log.exception("message %s from chat %s failed", update.update_id, message.chat.id)
                if message.chat.type == "private":
                    await self._send(message.chat.id, _plain(self._said(OOPS, _language(message.from_user))))

    @property
    def in_chat_payments(self) -> bool:
        return bool(self.settings.payment_provider_token)

    async def _on_message(self, message: Message) -> None:
        private = message.chat.type == "private"
        if message.successful_payment is not None:
            await self._on_paid(message, message.successful_payment)
            return
        attachment = None
        if message.text is None:
            if not private:
                return
            try:
                wanted = files.wanted_file(message)
                if wanted is not None:
                    attachment = await files.download(self.application.bot, wanted)
            except files.FileRefused as refusal:
                await self._send(
                    message.chat.id, _plain(self._said(refusal.message, _language(message.from_user)))
                )
                return
            if attachment is None:
                await self._send(message.chat.id, _plain(self._said(NOT_TEXT, _language(message.from_user))))
                return
        await self._on_request(message, attachment)

    async def _on_request(self, message: Message, attachment: Attachment | None) -> None:
        private = message.chat.type == "private"
        incoming = from_message(
            message,
            message.from_user,
            self.username,
            attachment=attachment,
            in_chat_payments=self.in_chat_payments,
        )
        if incoming is None or (not private and incoming.command is None):
            return  # another bot's command, or group chatter
        actor = await self._identify(incoming)  # once per update: the menu, the command, the card
        await self._ensure_menu(incoming, actor)
        reply = await handle(self.bot, incoming.request, actor)
        if not reply.unanswered:
            await self._send(incoming.chat_id, await self._render(incoming, reply))

    async def _on_pre_checkout(self, query: PreCheckoutQuery) -> None:
        """Yes only while the order may still be paid exactly so; always answered in time."""
        try:
            problem = await asyncio.wait_for(
                telegram_payments.pre_checkout(
                    self.bot.core.reader(), query.invoice_payload, query.currency, query.total_amount
                ),
                PRE_CHECKOUT_BUDGET,
            )
        except Exception:  # the outermost boundary of a checkout: refuse rather than stay silent
            log.exception("pre-checkout %s failed", query.id)
            problem = self._said(CHECKOUT_OOPS, _language(query.from_user))
        await self._call(query.from_user.id, lambda: query.answer(ok=problem is None, error_message=problem))

    async def _on_paid(self, message: Message, paid: SuccessfulPayment) -> None:
        """Telegram took the money: only this marks the order paid (once per charge id)."""
        language = _language(message.from_user)
        try:
            outcome = await telegram_payments.successful_payment(
                self.bot.core.uow,
                payload=paid.invoice_payload,
                currency=paid.currency,
                total_amount=paid.total_amount,
                telegram_charge_id=paid.telegram_payment_charge_id,
                provider_charge_id=paid.provider_payment_charge_id,
            )
        except Exception:  # money was taken: say so, keep the update to record it later, and log it
            inbound.leave_waiting()
            log.exception(
                "could not record Telegram payment %s (%s %s, payload %r)",
                paid.telegram_payment_charge_id,
                paid.total_amount,
                paid.currency,
                paid.invoice_payload,
            )
            text = self._said(PAID_UNRECORDED, language, charge=paid.telegram_payment_charge_id)
            await self._send(message.chat.id, _plain(text))
            return
        log.info("Telegram payment %s: %s", paid.telegram_payment_charge_id, outcome.result)
        if outcome.result == "held":
            text = self._said(PAID_HELD, language, number=outcome.order_number)
            await self._send(message.chat.id, _plain(text))
        elif outcome.result == "unknown":
            log.error(
                "Telegram payment %s (%s %s, payload %r) matches no order",
                paid.telegram_payment_charge_id,
                paid.total_amount,
                paid.currency,
                paid.invoice_payload,
            )
            text = self._said(PAID_UNKNOWN, language, charge=paid.telegram_payment_charge_id)
            await self._send(message.chat.id, _plain(text))

    async def _on_edited(self, message: Message) -> None:
        if message.chat.type == "private" or (message.text or "").startswith("/"):
            await self._send(message.chat.id, _plain(self._said(EDITED, _language(message.from_user))))

    async def _on_tap(self, update: Update, query: CallbackQuery) -> None:
        language = _language(query.from_user)
        try:
            payload = await codec.decode(self.bot.core, query.data or "")
            if payload is None:
                await self._answer(query, self._said(EXPIRED, language), alert=True)
            elif payload.startswith(codec.ORDER) and (incoming := from_tap(update, "")) is not None:
                tap = await handle_tap(self.bot, incoming, payload, self.username)
                # one call at a time: an update has one connection (more only queue in the pool)
                await self._answer(query, tap.alert or tap.toast, alert=tap.alert is not None)
                if tap.reply is not None:
                    out = await render(
                        self.bot.core,
                        tap.reply,
                        private=incoming.private,
                        bot_username=self.username,
                        rows=tap.rows,
                        language=tap.reply.language,
                        translate=self.bot.renderer.translate,
                    )
                    await self._edit(query, out)
            elif (
                payload.startswith(codec.COMMAND)
                and (incoming := from_tap(update, payload[2:], in_chat_payments=self.in_chat_payments))
                is not None
            ):
                actor = await self._identify(incoming)
                reply = await handle(self.bot, incoming.request, actor)
                if reply.unanswered:
                    return
                if reply.alert:
                    alert = (await self._render(incoming, reply)).alert_text
                    await self._answer(query, alert, alert=True)
                    return
                await self._answer(query, None)
                await self._edit(query, await self._render(incoming, reply))
            else:
                await self._answer(query, self._said(EXPIRED, language), alert=True)
        except Exception:  # the outermost boundary of a tap
            log.exception("tap failed: %r", query.data)
            await self._answer(query, self._said(OOPS, language), alert=True)

    async def _identify(self, incoming: Incoming) -> Actor:
        """The sender of this update; looked up once and handed to everything that needs it."""
        request = incoming.request
        return await identify(
            self.bot.core.uow(), CHANNEL, request.user_id, request.name, request.handle, request.language
        )

    def _said(self, message: str, language: str | None, **values: object) -> str:
        """A message of the adapter's own in ``language`` (else English), filled in."""
        return self.bot.renderer.said(message, language or ENGLISH, values)

    async def _render(self, incoming: Incoming, reply: ChatReply) -> Outgoing:
        rows = None
        language = reply.language  # the reader's, as the reply was written for them
        if reply.choices is not None and not reply.alert:  # a GO card: tap-to-order in place of its buttons
            rows = await card_rows(
                self.bot,
                reply.choices,
                private=incoming.private,
                bot_username=self.username,
                language=language,
            )
        return await render(
            self.bot.core,
            reply,
            private=incoming.private,
            bot_username=self.username,
            rows=rows,
            language=language,
            translate=self.bot.renderer.translate,
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
            captioned = len(out.parts) == 1 and len(out.parts[0]) <= MAX_CAPTION
            await self._call(
                chat_id,
                lambda: bot.send_photo(
                    chat_id,
                    photo=image,
                    caption=out.parts[0] if captioned else None,
                    parse_mode=out.parse_mode if captioned else None,
                    reply_markup=markup if captioned else None,
                ),
            )
            if captioned:  # else the text follows the photo
                await self._send_invoice(chat_id, out)
                return
        for index, part in enumerate(out.parts):
            last = index == len(out.parts) - 1
            await self._call(
                chat_id,
                lambda part=part, last=last: bot.send_message(  # type: ignore[misc]
                    chat_id, part, parse_mode=out.parse_mode, reply_markup=markup if last else None
                ),
            )
        await self._send_invoice(chat_id, out)

    async def _send_invoice(self, chat_id: int, out: Outgoing) -> None:
        """The reply's invoice (sendInvoice), after its text; a refusal is explained."""
        invoice, token = out.invoice, self.settings.payment_provider_token
        if invoice is None or not token:
            return
        bot = self.application.bot

        async def send() -> str | None:
            try:
                await bot.send_invoice(
                    chat_id,
                    title=invoice.title,
                    description=invoice.description,
                    payload=invoice.payload,
                    provider_token=token,
                    currency=invoice.currency,
                    prices=[LabeledPrice(invoice.label, invoice.amount_minor)],
                    protect_content=True,  # not forwarded for someone else to pay
                )
            except BadRequest as exc:
                return str(exc)
            return None

        refused = await self._call(chat_id, send)
        if refused:
            log.warning("sendInvoice refused for chat %s: %s", chat_id, refused)
            await self._send(chat_id, _plain(self._said(INVOICE_FAILED, out.language, reason=refused[:100])))

    async def _edit(self, query: CallbackQuery, out: Outgoing) -> None:
        """Show ``out`` in place of the tapped message; a file or a long text goes in new messages."""
        message = query.message
        if message is None:
            return
        if not isinstance(message, Message) or message.text is None:  # a photo: answer below it
            if isinstance(message, Message) and message.reply_markup is not None:
                await self._call(
                    message.chat.id,
                    lambda: self.application.bot.edit_message_reply_markup(
                        chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
                    ),
                )
            await self._send(message.chat.id, out)
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
        await self._send_invoice(message.chat.id, out)

    async def _answer(self, query: CallbackQuery, text: str | None, *, alert: bool = False) -> None:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        await self._call(chat_id, lambda: query.answer(text[:200] if text else None, show_alert=alert))

    async def _call(self, chat_id: int, request: Callable[[], Awaitable[T]]) -> T | None:
        """One Bot API call, with Telegram's errors as the channel translates them: wait out
        flood control within a budget, retry network trouble with backoff, mark a person
        who blocked the bot unreachable, log a refusal (an answer too late, an edit that
        changes nothing are expected and quiet)."""
        attempt, waited = 0, 0.0
        while True:
            try:
                return await request()
            except TelegramError as exc:
                problem = self._errors(exc)
            if isinstance(problem, RecipientUnreachable):
                log.info("chat %s blocked the bot or is gone; marking it unreachable", chat_id)
                await mark_unreachable(self.bot.core.uow(), CHANNEL, str(chat_id))
                return None
            if isinstance(problem, MessageRefused):
                if not any(quiet in str(problem).lower() for quiet in QUIET_REFUSALS):
                    log.warning("Telegram refused a call for chat %s: %s", chat_id, problem)
                return None
            if problem.retry_after is not None:  # flood control: wait as told, within a budget
                delay = min(MAX_WAIT, problem.retry_after)
                if waited + delay > FLOOD_BUDGET:
                    log.warning("flood control for chat %s outlasted %.0f s; giving up", chat_id, waited)
                    return None
                waited += delay
                await asyncio.sleep(delay)
                continue
            attempt += 1
            if attempt == ATTEMPTS:
                log.warning("giving up on a call for chat %s: %s", chat_id, problem)
                return None
            await asyncio.sleep(self._retry_base * 2 ** (attempt - 1))

    # ------------------------------------------------------------------ command menu

    def _menu(self, commands: list[Any], language: str) -> list[BotCommand]:
        return [BotCommand(c.name, self.bot.renderer.translate(c.summary, language)[:256]) for c in commands]

    async def _set_menus(self) -> None:
        """Buyers see the buyer commands; groups the group ones; GOMs get theirs per chat.
        Each menu is described in every language gomflow speaks (Telegram shows a user the
        one of their app's language, and the English one otherwise)."""
        bot = self.application.bot
        buyer = [c for c in COMMANDS.values() if c.audience is Audience.EVERYONE]
        group = [c for c in buyer if c.in_groups]
        for language in LANGUAGES:
            code = None if language == ENGLISH else TELEGRAM_LANGUAGE_CODES.get(language, language)
            private, groups = self._menu(buyer, language), self._menu(group, language)
            private_chats, group_chats = BotCommandScopeAllPrivateChats(), BotCommandScopeAllGroupChats()
            await self._call(0, partial(bot.set_my_commands, private, private_chats, language_code=code))
            await self._call(0, partial(bot.set_my_commands, groups, group_chats, language_code=code))

    async def _ensure_menu(self, incoming: Incoming, actor: Actor) -> None:
        """A GOM's (or helper's) chat gets the GOM commands; someone who stops being one
        gets the buyers' menu back. Checked on each private message, since helpers come
        and go while the bot runs."""
        if not incoming.private:
            return
        had = self._menus.get(incoming.chat_id, False)
        if had == actor.may_administer:
            return
        self._menus[incoming.chat_id] = actor.may_administer
        scope = BotCommandScopeChat(incoming.chat_id)
        bot = self.application.bot
        if actor.may_administer:  # in their own language: the menu is this chat's alone
            everything = self._menu(list(COMMANDS.values()), actor.language or ENGLISH)
            await self._call(incoming.chat_id, lambda: bot.set_my_commands(everything, scope=scope))
        else:
            await self._call(incoming.chat_id, lambda: bot.delete_my_commands(scope=scope))


def _sender(update: Update) -> str | None:
    """Whose inbound limit an update counts against; None for what is never limited: a
    payment (Telegram took the money, and asks before it does), or an update with no sender."""
    if update.pre_checkout_query is not None:
        return None
    if update.message is not None and update.message.successful_payment is not None:
        return None
    user = update.effective_user
    return None if user is None else str(user.id)


def _language(user: User | None) -> str | None:
    """What a Telegram user's app says they read, where gomflow speaks it (for what is said
    before, or without, looking them up)."""
    return from_hint(user.language_code) if user is not None else None


def _plain(text: str) -> Outgoing:
    return Outgoing(parts=[text], parse_mode=None, keyboard=None)
