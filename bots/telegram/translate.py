"""From a Telegram update to what gomflow understands."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Chat, Message, Update, User

from bots.chat import Attachment, ChatRequest

CHANNEL = "telegram"


@dataclass(frozen=True)
class Incoming:
    """One update worth answering: the request, plus where and how to answer it."""

    request: ChatRequest
    chat_id: int
    private: bool
    command: str | None  # the command's name without / or @bot, if the text is one
    args: list[str]


def sender(user: User | None, chat: Chat) -> tuple[str, str, str | None]:
    """(id, display name, handle) of whoever is speaking; a channel speaks as itself."""
    if user is not None:
        return str(user.id), user.full_name, user.username
    return str(chat.id), chat.title or chat.effective_name or "channel", chat.username


def command_of(text: str, bot_username: str) -> tuple[str | None, list[str], bool]:
    """(name, words after it, addressed to us) for ``/go@gomflow_bot CODE``-style text."""
    if not text.startswith("/"):
        return None, [], True
    words = text[1:].split()
    if not words:
        return "", [], True
    head, *rest = words
    name, _, mention = head.partition("@")
    ours = not mention or mention.lower() == bot_username.lower()
    return name.lower(), rest, ours


def from_message(
    message: Message,
    user: User | None,
    bot_username: str,
    *,
    attachment: Attachment | None = None,
    in_chat_payments: bool = False,
) -> Incoming | None:
    """A text message (or a photo and its caption) as a ``ChatRequest``; None when it is a
    command for another bot."""
    chat = message.chat
    user_id, name, handle = sender(user, chat)
    text = message.text or message.caption or ""
    name_, args, ours = command_of(text, bot_username)
    if not ours:
        return None
    if name_ is not None and "@" in text.split()[0]:
        text = "/" + name_ + text[len(text.split()[0]) :]
    request = ChatRequest(
        channel=CHANNEL,
        user_id=user_id,
        name=name,
        text=text,
        handle=handle,
        chat_id=str(chat.id),
        in_group=chat.type != Chat.PRIVATE,
        attachment=attachment,
        in_chat_payments=in_chat_payments and chat.type == Chat.PRIVATE,
        language=user.language_code if user is not None else None,
    )
    return Incoming(request, chat.id, chat.type == Chat.PRIVATE, name_, args)


def from_tap(update: Update, text: str, *, in_chat_payments: bool = False) -> Incoming | None:
    """A button tap that stands for typed ``text``."""
    query = update.callback_query
    if query is None or query.message is None:
        return None
    chat = query.message.chat
    user_id, name, handle = sender(query.from_user, chat)
    request = ChatRequest(
        channel=CHANNEL,
        user_id=user_id,
        name=name,
        text=text,
        handle=handle,
        chat_id=str(chat.id),
        in_group=chat.type != Chat.PRIVATE,
        in_chat_payments=in_chat_payments and chat.type == Chat.PRIVATE,
        language=query.from_user.language_code,
    )
    words = text[1:].split() if text.startswith("/") else []
    command = words[0].split("@")[0].lower() if words else None
    return Incoming(request, chat.id, chat.type == Chat.PRIVATE, command, words[1:])
