"""From a ``ChatReply`` to what Telegram shows: text in parts, parse mode, inline keyboard."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode

from bots.chat import Button, ChatReply, Document, Invoice
from bots.telegram import codec
from core.app import Core
from core.languages import ENGLISH
from core.render import N_, Rendered, html_to_plain, split_message

MAX_MESSAGE = 4096  # characters of text in one Telegram message
MAX_CAPTION = 1024
MAX_ALERT = 200  # characters an answerCallbackQuery alert shows
MAX_LABEL = 60
MAX_COPY = 256  # characters a copy_text button may put on the clipboard
DEEP_LINK_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHANGE = N_("✏️ Change")
Translate = Callable[[str, str], str]  # (phrase, language) -> the phrase in that language


def as_written(phrase: str, language: str) -> str:
    return phrase


@dataclass(frozen=True)
class Outgoing:
    parts: list[str]
    parse_mode: str | None
    keyboard: InlineKeyboardMarkup | None
    document: Document | None = None
    image: bytes | None = None
    alert: bool = False
    invoice: Invoice | None = None
    language: str = ENGLISH  # the reader's: what the adapter adds to it is said in it

    @property
    def alert_text(self) -> str:
        """The reply as plain text short enough for an alert."""
        text = " ".join(self.parts)
        if self.parse_mode == ParseMode.HTML:
            text = html_to_plain(text)
        return text if len(text) <= MAX_ALERT else text[: MAX_ALERT - 1] + "…"


def deep_link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


async def render(
    core: Core,
    reply: ChatReply,
    *,
    private: bool,
    bot_username: str,
    rows: list[list[InlineKeyboardButton]] | None = None,
    language: str = ENGLISH,
    translate: Translate = as_written,
) -> Outgoing:
    """``rows`` replaces the reply's own buttons (the tap-to-order keyboards); what the
    adapter adds (a button, a note) is in ``language``, as ``translate`` writes it."""
    if rows is None:
        change = translate(CHANGE, language)
        rows = await keyboard_rows(
            core, reply.buttons, private=private, bot_username=bot_username, change=change
        )
    parts = split_message(Rendered(reply.text, reply.markup), MAX_MESSAGE)
    parse_mode = ParseMode.HTML if parts[0].markup == "html" else None
    return Outgoing(
        parts=[part.text for part in parts],
        parse_mode=parse_mode,
        keyboard=InlineKeyboardMarkup(rows) if rows else None,
        document=reply.document,
        image=reply.image,
        alert=reply.alert,
        invoice=reply.invoice,
        language=language,
    )


async def keyboard_rows(
    core: Core, buttons: list[list[Button]], *, private: bool, bot_username: str, change: str = CHANGE
) -> list[list[InlineKeyboardButton]]:
    """Buttons as Telegram inline buttons.

    In a private chat a command button taps back to the bot. In a group nothing personal may
    happen, so a button that would order or show a GO opens the private chat by a deep link
    instead, and other command buttons are left out. ``change`` is the label of the button
    added beside a cancel button, in the reader's language.
    """
    rows: list[list[InlineKeyboardButton]] = []
    for row in buttons:
        converted: list[InlineKeyboardButton] = []
        for button in row:
            label = button.label[:MAX_LABEL]
            if button.url:
                converted.append(InlineKeyboardButton(label, url=button.url))
            elif button.copy:
                text = button.copy[:MAX_COPY]
                converted.append(InlineKeyboardButton(label, copy_text=CopyTextButton(text)))
            elif button.command and private:
                converted.append(
                    InlineKeyboardButton(label, callback_data=await codec.encode(core, "c:" + button.command))
                )
                converted.extend(await _siblings(core, button.command, change))
            elif button.command and (link := group_link(button.command, bot_username)):
                converted.append(InlineKeyboardButton(label, url=link))
        if converted:
            rows.append(converted)
    return rows


def group_link(command: str, bot_username: str) -> str | None:
    """``/go CODE`` or ``/order CODE …`` → a deep link that opens CODE in a private chat."""
    words = command.split()
    if len(words) >= 2 and words[0] in {"/go", "/order"} and DEEP_LINK_PAYLOAD.match(words[1]):
        return deep_link(bot_username, words[1])
    return None


async def _siblings(core: Core, command: str, change: str) -> list[InlineKeyboardButton]:
    """A cancel button gets a change button beside it: the change is done by taps."""
    words = command.split()
    if len(words) == 2 and words[0] == "/cancel":
        data = await codec.encode(core, f"o:ch {words[1]}")
        return [InlineKeyboardButton(change[:MAX_LABEL], callback_data=data)]
    return []
