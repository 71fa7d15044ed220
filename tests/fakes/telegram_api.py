"""A local fake of the Telegram Bot API: an aiohttp server on loopback.

It speaks the documented JSON (``{"ok": true, "result": …}`` or ``{"ok": false,
"error_code": …, "description": …, "parameters": {"retry_after": …}}``) for the methods
gomflow uses, records every call, and keeps each chat's messages as a person would see
them (edits replace text and buttons in place).

Tests drive it as users: ``send_text``, ``tap``, ``send_photo``, ``send_document``,
``send_sticker``… queue updates that the bot fetches with getUpdates, or that are POSTed to
the webhook once one is set. Files a user sends are served as Telegram does: ``getFile``
gives a ``file_path``, downloaded from ``/file/bot<token>/<file_path>``. Payments follow
Telegram's order: ``checkout`` sends a ``pre_checkout_query`` for an invoice the bot sent
(``sendInvoice``), waits for ``answerPreCheckoutQuery``, and only on ok sends the message
with ``successful_payment``::

    fake = FakeTelegram()
    base_url = await fake.start()          # http://127.0.0.1:PORT/bot (the token is appended)
    fake.enforce_limits = True             # optional: 429 past Telegram's limits
    fake.blocked.add(42)                   # optional: 403 for chat 42
    ...                                    # point the bot or a transport at base_url
    fake.calls, fake.chat(42), fake.violations
    await fake.stop()

Asked to, it enforces Telegram's published limits (about 30 messages a second overall,
one a second per private chat, 20 a minute per group), answering 429 with
``parameters.retry_after`` and counting each violation; and it answers 403 for blocked
chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

SENDING = {"sendMessage", "sendDocument", "sendPhoto", "sendInvoice"}
PRE_CHECKOUT_LIMIT = 10.0  # seconds Telegram waits for answerPreCheckoutQuery
GLOBAL_PER_SECOND = 30
PRIVATE_PER_SECOND = 1
GROUP_PER_MINUTE = 20


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    status: int
    at: float


@dataclass
class Message:
    """A message the bot sent, as it stands now (edits applied)."""

    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: tuple[str, bytes] | None = None
    photo: bytes | None = None
    invoice: dict[str, Any] | None = None  # sendInvoice's parameters
    edits: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def shown(self) -> str:
        """The text as a person reads it: HTML tags gone, entities decoded."""
        if self.parse_mode != "HTML":
            return self.text
        return html.unescape(re.sub(r"<[^>]+>", "", self.text))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def button(self, label_part: str) -> dict[str, Any]:
        for button in self.buttons:
            if label_part in button["text"]:
                return button
        raise AssertionError(f"no button with {label_part!r} in {[b['text'] for b in self.buttons]}")


class FakeTelegram:
    def __init__(
        self,
        token: str = "123456:TEST-token",
        username: str = "gomflow_bot",
        *,
        global_per_second: int = GLOBAL_PER_SECOND,
    ) -> None:
        self.token = token
        self.global_per_second = global_per_second  # Telegram's is about 30; tests may raise it
        self.bot = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "gomflow",
            "username": username,
        }
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[int, int], Message] = {}
        self._by_chat: dict[int, list[Message]] = defaultdict(list)
        self.blocked: set[int] = set()
        self.enforce_limits = False
        self.violations = 0
        self.failures: dict[str, deque[tuple[int, str, int | None]]] = defaultdict(deque)
        self.files: dict[str, bytes] = {}  # file_id → content
        self.file_paths: dict[str, str] = {}  # file_id → file_path, as getFile answers
        self.downloads: list[str] = []  # file paths fetched
        self.pre_checkout_answers: dict[str, dict[str, Any]] = {}  # query id → the bot's answer
        self.webhook: dict[str, Any] | None = None
        self.webhook_statuses: list[int] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.taps: dict[str, int] = {}  # callback query id → the chat it was tapped in
        # Group chats and channels getChatMember knows, by id or @username: user id → status
        # ("creator", "administrator", "member", "left"); anyone unlisted has "left".
        self.chat_members: dict[str, dict[int, str]] = {}
        self.chat_usernames: dict[str, int] = {}  # "@name" → chat id, for getChat
        self._updates: list[dict[str, Any]] = []
        # awaited with each getUpdates offset before it is answered: the offset acknowledges
        # every update below it, so a test can check what the bot had made durable by then
        self.on_offset: Callable[[int], Awaitable[None]] | None = None
        self.pushed: list[int] = []  # the id of every update sent to the bot, repeats included
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._callback_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._sent_global: deque[float] = deque()
        self._sent_chat: dict[int, deque[float]] = defaultdict(deque)
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self.port = 0

    # ---------------------------------------------------------------- server

    async def start(self) -> str:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        handler = getattr(self, f"_m_{method}", None)
        failure = self.failures[method].popleft() if self.failures[method] else None
        if handler is None:
            response = _error(404, "Not Found")
        elif failure is not None:
            response = _error(failure[0], failure[1], failure[2])
        else:
            response = await self._limited(method, params) or await handler(params)
        self.calls.append(ApiCall(method, params, response.status, time.monotonic()))
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _limited(self, method: str, params: dict[str, Any]) -> web.Response | None:
        chat_id = _int(params.get("chat_id"))
        if chat_id in self.blocked:
            kind = "bot was blocked by the user" if chat_id > 0 else "bot was kicked from the group chat"
            return _error(403, f"Forbidden: {kind}")
        if not self.enforce_limits or method not in SENDING:
            return None
        now = time.monotonic()
        window, allowed = (1.0, PRIVATE_PER_SECOND) if chat_id > 0 else (60.0, GROUP_PER_MINUTE)
        chat_sent = self._sent_chat[chat_id]
        for sent, span in ((self._sent_global, 1.0), (chat_sent, window)):
            while sent and now - sent[0] >= span:
                sent.popleft()
        waits = []
        if len(self._sent_global) >= self.global_per_second:
            waits.append(1.0 - (now - self._sent_global[0]))
        if len(chat_sent) >= allowed:
            waits.append(window - (now - chat_sent[0]))
        if waits:
            self.violations += 1
            retry = max(1, math.ceil(max(waits)))
            return _error(429, f"Too Many Requests: retry after {retry}", retry)
        self._sent_global.append(now)
        chat_sent.append(now)
        return None

    # ---------------------------------------------------------------- methods

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:
        return _ok({**self.bot, "can_join_groups": True, "can_read_all_group_messages": False})

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        offset = _int(params.get("offset", 0))
        if self.on_offset is not None and "offset" in params:
            await self.on_offset(offset)
        limit = _int(params.get("limit", 100)) or 100
        timeout = float(params.get("timeout", 0) or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + min(timeout, 0.5)
        while not self._updates and time.monotonic() < deadline:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
        return _ok(self._updates[:limit])

    async def _m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = params
        return _ok(True)

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = None
        return _ok(True)

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> web.Response:
        url = (self.webhook or {}).get("url", "")
        return _ok({"url": url, "has_custom_certificate": False, "pending_update_count": 0})

    async def _m_setMyCommands(self, params: dict[str, Any]) -> web.Response:
        self.commands[_menu_key(params)] = params["commands"]
        return _ok(True)

    async def _m_deleteMyCommands(self, params: dict[str, Any]) -> web.Response:
        self.commands.pop(_menu_key(params), None)
        return _ok(True)

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        if not str(params.get("text", "")).strip():
            return _error(400, "Bad Request: message text is empty")
        if len(str(params["text"])) > 4096:
            return _error(400, "Bad Request: message is too long")
        return _ok(self._store(params, text=str(params["text"])).raw)

    async def _m_sendDocument(self, params: dict[str, Any]) -> web.Response:
        document = params.get("document")
        if not isinstance(document, tuple):
            return _error(400, "Bad Request: there is no document in the request")
        caption = str(params.get("caption", ""))
        name, data = document
        sent = {"file_id": f"sent-doc-{len(data)}", "file_unique_id": "sd", "file_name": name}
        message = self._store(params, text=caption, content={"document": sent, "caption": caption})
        message.document = document
        return _ok(message.raw)

    async def _m_sendPhoto(self, params: dict[str, Any]) -> web.Response:
        photo = params.get("photo")
        caption = str(params.get("caption", ""))
        sizes = [{"file_id": "sent-photo", "file_unique_id": "sp", "width": 320, "height": 320}]
        message = self._store(params, text=caption, content={"photo": sizes, "caption": caption})
        message.photo = photo[1] if isinstance(photo, tuple) else str(photo).encode()
        return _ok(message.raw)

    async def _m_editMessageText(self, params: dict[str, Any]) -> web.Response:
        message = self.messages.get((_int(params.get("chat_id")), _int(params.get("message_id"))))
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        if "text" not in message.raw:
            return _error(400, "Bad Request: there is no text in the message to edit")
        markup = params.get("reply_markup")
        if message.text == params.get("text") and message.reply_markup == markup:
            return _error(400, "Bad Request: message is not modified")
        message.text, message.parse_mode, message.reply_markup = (
            str(params["text"]),
            params.get("parse_mode"),
            markup,
        )
        message.edits += 1
        message.raw = {**message.raw, "text": message.text, "edit_date": int(time.time())}
        return _ok(message.raw)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> web.Response:
        message = self.messages.get((_int(params.get("chat_id")), _int(params.get("message_id"))))
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        message.reply_markup = params.get("reply_markup")
        message.edits += 1
        message.raw = {k: v for k, v in message.raw.items() if k != "reply_markup"}
        if isinstance(message.reply_markup, dict):
            message.raw["reply_markup"] = message.reply_markup
        return _ok(message.raw)

    async def _m_getChat(self, params: dict[str, Any]) -> web.Response:
        """A ChatFullInfo for a group or channel the test set up, found by id or @username."""
        chat_id = str(params.get("chat_id"))
        chat_id = str(self.chat_usernames.get(chat_id, chat_id))
        if chat_id not in self.chat_members:
            return _error(400, "Bad Request: chat not found")
        username = next((name for name, i in self.chat_usernames.items() if str(i) == chat_id), None)
        chat: dict[str, Any] = {
            "id": int(chat_id),
            "type": "channel" if username else "supergroup",
            "title": f"chat {chat_id}",
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if username:
            chat["username"] = username.lstrip("@")
        return _ok(chat)

    async def _m_getChatMember(self, params: dict[str, Any]) -> web.Response:
        """A ChatMember object as documented: its fields depend on ``status``."""
        members = self.chat_members.get(str(params.get("chat_id")))
        if members is None:
            return _error(400, "Bad Request: chat not found")
        user_id = _int(params.get("user_id"))
        is_bot = user_id == self.bot["id"]
        user = {"id": user_id, "is_bot": is_bot, "first_name": "gomflow" if is_bot else "member"}
        status = members.get(user_id, "left")
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                dict.fromkeys(
                    (
                        "can_be_edited",
                        "is_anonymous",
                        "can_restrict_members",
                        "can_promote_members",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                    ),
                    False,
                )
            )
            member.update(
                dict.fromkeys(
                    (
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_change_info",
                        "can_invite_users",
                        "can_post_messages",
                    ),
                    True,
                )
            )
        return _ok(member)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:
        return _ok(True)

    async def _m_getFile(self, params: dict[str, Any]) -> web.Response:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        size = len(self.files[file_id])
        if size > 20 * 1024 * 1024:  # bots may download files of up to 20 MB
            return _error(400, "Bad Request: file is too big")
        path = self.file_paths[file_id]
        return _ok({"file_id": file_id, "file_unique_id": file_id, "file_size": size, "file_path": path})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        self.downloads.append(path)
        file_id = next((f for f, p in self.file_paths.items() if p == path), None)
        return web.Response(status=404) if file_id is None else web.Response(body=self.files[file_id])

    async def _m_sendInvoice(self, params: dict[str, Any]) -> web.Response:
        prices = params.get("prices")
        checks = [
            (1 <= len(str(params.get("title", ""))) <= 32, "INVOICE_TITLE_INVALID"),
            (1 <= len(str(params.get("description", ""))) <= 255, "INVOICE_DESCRIPTION_INVALID"),
            (1 <= len(str(params.get("payload", "")).encode()) <= 128, "INVOICE_PAYLOAD_INVALID"),
            (bool(params.get("provider_token")), "PAYMENT_PROVIDER_INVALID"),
            (re.fullmatch(r"[A-Z]{3}", str(params.get("currency", ""))) is not None, "CURRENCY_INVALID"),
            (
                isinstance(prices, list)
                and bool(prices)
                and all(isinstance(p.get("amount"), int) and p.get("label") for p in prices),
                "PRICES_INVALID",
            ),
        ]
        for ok, error in checks:
            if not ok:
                return _error(400, f"Bad Request: {error}")
        total = sum(int(p["amount"]) for p in prices or [])
        invoice = {
            "title": params["title"],
            "description": params["description"],
            "start_parameter": params.get("start_parameter", ""),
            "currency": params["currency"],
            "total_amount": total,
        }
        message = self._store(params, text=str(params["title"]), content={"invoice": invoice})
        message.invoice = {**params, "total_amount": total}
        return _ok(message.raw)

    async def _m_answerPreCheckoutQuery(self, params: dict[str, Any]) -> web.Response:
        query_id = str(params.get("pre_checkout_query_id", ""))
        ok = params.get("ok") in (True, "true", "True")
        if not query_id:
            return _error(400, "Bad Request: QUERY_ID_INVALID")
        if not ok and not params.get("error_message"):
            return _error(400, "Bad Request: error_message is required when ok is false")
        self.pre_checkout_answers[query_id] = {"ok": ok, "error_message": params.get("error_message")}
        return _ok(True)

    def _store(self, params: dict[str, Any], *, text: str, content: dict[str, Any] | None = None) -> Message:
        """Keep a message the bot sent; ``content`` replaces ``text`` in the raw message
        (a photo and its caption, a document, an invoice)."""
        chat_id = _int(params["chat_id"])
        message_id = next(self._message_ids[chat_id])
        raw = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": self.bot,
            **(content if content is not None else {"text": text}),
        }
        if isinstance(params.get("reply_markup"), dict):
            raw["reply_markup"] = params["reply_markup"]
        message = Message(chat_id, message_id, text, params.get("parse_mode"), params.get("reply_markup"))
        message.raw = raw
        self.messages[(chat_id, message_id)] = message
        self._by_chat[chat_id].append(message)
        return message

    # ---------------------------------------------------------------- acting as users

    @staticmethod
    def user(user_id: int, first_name: str, username: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            found["username"] = username
        return found

    def send_text(self, user: dict[str, Any], text: str, chat_id: int | None = None) -> int:
        message = self._incoming(user, chat_id, text=text)
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self.push({"message": message})

    def send_sticker(self, user: dict[str, Any], chat_id: int | None = None) -> int:
        sticker = {
            "file_id": "sticker-1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.push({"message": self._incoming(user, chat_id, sticker=sticker)})

    def send_photo(
        self,
        user: dict[str, Any],
        content: bytes,
        chat_id: int | None = None,
        *,
        caption: str | None = None,
        file_size: int | None = None,
    ) -> int:
        """A photo as Telegram delivers it: several sizes, largest last, each its own file.
        ``file_size`` overrides the size the update reports for the largest."""
        thumb = self._add_file(content[:64], "photos", "jpg")
        full = self._add_file(content, "photos", "jpg")
        photo = [
            {"file_id": thumb, "file_unique_id": f"u{thumb}", "width": 90, "height": 90, "file_size": 64},
            {
                "file_id": full,
                "file_unique_id": f"u{full}",
                "width": 1280,
                "height": 1280,
                "file_size": len(content) if file_size is None else file_size,
            },
        ]
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        return self.push({"message": self._incoming(user, chat_id, photo=photo, **extra)})

    def send_document(
        self,
        user: dict[str, Any],
        content: bytes,
        file_name: str,
        mime_type: str,
        chat_id: int | None = None,
        *,
        caption: str | None = None,
        file_size: int | None = None,
    ) -> int:
        """A file sent as a document (uncompressed); ``file_size`` overrides the reported size."""
        file_id = self._add_file(content, "documents", file_name.rsplit(".", 1)[-1])
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content) if file_size is None else file_size,
        }
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        return self.push({"message": self._incoming(user, chat_id, document=document, **extra)})

    def _add_file(self, content: bytes, folder: str, extension: str) -> str:
        number = len(self.files) + 1
        file_id = f"AgAC-file-{number}"
        self.files[file_id] = content
        self.file_paths[file_id] = f"{folder}/file_{number}.{extension}"
        return file_id

    async def checkout(
        self,
        user: dict[str, Any],
        invoice: Message,
        *,
        charge_id: str = "tg-charge-1",
        amount: int | None = None,
    ) -> dict[str, Any]:
        """The buyer taps Pay on ``invoice`` and confirms: a ``pre_checkout_query``, then, only if
        the bot answered ok within Telegram's 10 seconds, the ``successful_payment`` message.
        Returns the bot's answer to the pre-checkout query."""
        assert invoice.invoice is not None, "that message is not an invoice"
        query_id = f"pcq-{next(self._callback_ids)}"
        total = invoice.invoice["total_amount"] if amount is None else amount
        self.push(
            {
                "pre_checkout_query": {
                    "id": query_id,
                    "from": user,
                    "currency": invoice.invoice["currency"],
                    "total_amount": total,
                    "invoice_payload": invoice.invoice["payload"],
                }
            }
        )
        await self.wait_until(lambda: query_id in self.pre_checkout_answers, timeout=PRE_CHECKOUT_LIMIT)
        answer = self.pre_checkout_answers[query_id]
        if answer["ok"]:
            self.successful_payment(user, invoice, charge_id=charge_id, amount=total)
        return answer

    def successful_payment(
        self, user: dict[str, Any], invoice: Message, *, charge_id: str, amount: int | None = None
    ) -> int:
        """The service message Telegram sends once the money is taken (also to repeat it)."""
        assert invoice.invoice is not None, "that message is not an invoice"
        paid = {
            "currency": invoice.invoice["currency"],
            "total_amount": invoice.invoice["total_amount"] if amount is None else amount,
            "invoice_payload": invoice.invoice["payload"],
            "telegram_payment_charge_id": charge_id,
            "provider_payment_charge_id": f"provider-{charge_id}",
        }
        return self.push({"message": self._incoming(user, invoice.chat_id, successful_payment=paid)})

    def edit_text(self, user: dict[str, Any], text: str, chat_id: int | None = None) -> int:
        message = self._incoming(user, chat_id, text=text, edit_date=int(time.time()))
        return self.push({"edited_message": message})

    def tap(self, user: dict[str, Any], message: Message, button_label: str) -> int:
        button = message.button(button_label)
        assert "callback_data" in button, f"{button_label!r} opens {button.get('url')}"
        return self.tap_data(user, message, button["callback_data"])

    def tap_data(self, user: dict[str, Any], message: Message, data: str) -> int:
        query_id = str(next(self._callback_ids))
        self.taps[query_id] = message.chat_id
        query = {
            "id": query_id,
            "from": user,
            "chat_instance": f"ci-{message.chat_id}",
            "data": data,
            "message": message.raw,
        }
        return self.push({"callback_query": query})

    def channel_post(self, chat_id: int, title: str, text: str) -> int:
        post = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "channel", "title": title},
            "sender_chat": {"id": chat_id, "type": "channel", "title": title},
            "text": text,
        }
        if text.startswith("/"):
            post["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self.push({"channel_post": post})

    def message_update(self, user: dict[str, Any], **content: Any) -> dict[str, Any]:
        """A private-chat message update from ``user`` with a fresh update id, not yet sent:
        for a test that POSTs updates to the bot's webhook itself, as Telegram would."""
        text = content.get("text")
        if isinstance(text, str) and text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self._update_ids), "message": self._incoming(user, None, **content)}

    def push(self, update: dict[str, Any], update_id: int | None = None) -> int:
        """Queue an update (or POST it to the webhook, once one is set); returns its id."""
        update = {"update_id": update_id if update_id is not None else next(self._update_ids), **update}
        self.pushed.append(int(update["update_id"]))
        if self.webhook is None:
            self._updates.append(update)
            task = asyncio.get_running_loop().create_task(self._notify())
        else:
            task = asyncio.get_running_loop().create_task(self._post_webhook(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return int(update["update_id"])

    def _incoming(self, user: dict[str, Any], chat_id: int | None, **content: Any) -> dict[str, Any]:
        chat = (
            _chat(chat_id) if chat_id is not None else {**_chat(user["id"]), "first_name": user["first_name"]}
        )
        return {
            "message_id": next(self._message_ids[chat["id"]]),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            **content,
        }

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _post_webhook(self, update: dict[str, Any], secret: str | None = None) -> None:
        assert self.webhook is not None
        if self._client is None:
            self._client = ClientSession()
        token = secret if secret is not None else self.webhook.get("secret_token", "")
        async with self._client.post(
            self.webhook["url"], json=update, headers={"X-Telegram-Bot-Api-Secret-Token": token}
        ) as response:
            self.webhook_statuses.append(response.status)
        await self._notify()

    # ---------------------------------------------------------------- looking

    def chat(self, chat_id: int) -> list[Message]:
        """The bot's messages in one chat, oldest first."""
        return list(self._by_chat.get(chat_id, []))

    def last(self, chat_id: int) -> Message:
        messages = self.chat(chat_id)
        assert messages, f"the bot has not written to {chat_id}"
        return messages[-1]

    def show(self, chat_id: int, text: str) -> Message:
        """A message the bot sent earlier (say a GO card), to tap buttons of."""
        return self._store({"chat_id": chat_id}, text=text)

    def answers_to(self, chat_id: int) -> list[dict[str, Any]]:
        """answerCallbackQuery calls for taps in ``chat_id``, in order."""
        return [
            c.params
            for c in self.calls_to("answerCallbackQuery")
            if self.taps.get(str(c.params.get("callback_query_id"))) == chat_id
        ]

    def calls_to(self, method: str, chat_id: int | None = None) -> list[ApiCall]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or _int(c.params.get("chat_id")) == chat_id)
        ]

    def fail(self, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        """Answer the next call of ``method`` with this error."""
        self.failures[method].append((status, description, retry_after))

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait for ``condition`` itself, re-checked after every call the bot makes.

        The timeout is generous: on a busy machine the bot may be slow, never wrong.
        """
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for the bot")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(left, 0.2))


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private"}
    return {"id": chat_id, "type": "supergroup", "title": f"group {chat_id}"}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)


async def _params(request: web.Request) -> dict[str, Any]:
    """Parameters as the Bot API takes them: query string, JSON, urlencoded or multipart."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
        return params
    if request.body_exists:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = (value.filename, value.file.read())
            else:
                params[key] = _maybe_json(key, str(value))
    # multipart attachments named attach://x
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in params:
            params[key] = params[value[9:]]
    return params


def _maybe_json(key: str, value: str) -> Any:
    if key in {
        "reply_markup",
        "commands",
        "scope",
        "allowed_updates",
        "entities",
        "link_preview_options",
        "prices",
        "suggested_tip_amounts",
    }:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _menu_key(params: dict[str, Any]) -> str:
    """A menu's scope (``chat:42``, ``all_private_chats``), and ``@th`` for its language
    where it has one (``all_private_chats@th``)."""
    scope = params.get("scope") or {"type": "default"}
    key = str(scope["type"]) + (f":{scope['chat_id']}" if "chat_id" in scope else "")
    language = params.get("language_code")
    return key + (f"@{language}" if language else "")
