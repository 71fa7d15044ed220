"""What every adapter hands the command table, and what it gets back to show."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.choices import OrderChoices
from core.errors import AlreadyHandled
from core.languages import ENGLISH, from_hint
from core.render import Markup
from core.text import clean_name, clean_text

MAX_TEXT = 4_000
MAX_ID = 320  # the longest platform id we keep (an email address)


@dataclass(frozen=True)
class Attachment:
    """A file a person sent: a photo of a bank transfer, a screenshot."""

    filename: str
    content: bytes
    mime_type: str

    def __post_init__(self) -> None:
        _set(self, "filename", clean_name(self.filename, 200) or "attachment")
        _set(self, "mime_type", clean_name(self.mime_type, 100))


@dataclass(frozen=True)
class ChatRequest:
    """One message from a person, translated from whatever the platform sent.

    Every field a person controls is cleaned here, as the request is made, so no adapter
    can forget it: see ``core.text``. The text keeps its length (the dispatcher refuses
    one that is too long, and says so); names, handles and ids are cut to what is stored.
    """

    channel: str  # telegram, discord, whatsapp, sms, email, console
    user_id: str  # the platform's id for the sender
    name: str
    text: str
    handle: str | None = None
    chat_id: str | None = None
    in_group: bool = False
    attachment: Attachment | None = None
    in_chat_payments: bool = False  # the platform can take a payment inside this chat (an invoice)
    # False where the platform cannot vouch for the sender (an email no trusted server
    # verified): commands that manage a GO, money or accounts are then refused
    sender_verified: bool = True
    # the language the platform says the sender reads (Telegram's ``language_code``,
    # Discord's locale, an IETF tag): kept as gomflow's code for it, or None
    language: str | None = None

    def __post_init__(self) -> None:
        _set(self, "user_id", clean_text(self.user_id, MAX_ID))
        _set(self, "name", clean_name(self.name))
        _set(self, "text", clean_text(self.text))
        if self.handle is not None:
            _set(self, "handle", clean_name(self.handle))
        if self.chat_id is not None:
            _set(self, "chat_id", clean_text(self.chat_id, MAX_ID))
        if self.language is not None:
            object.__setattr__(self, "language", from_hint(self.language))


def _set(frozen: object, name: str, value: str) -> None:
    """Assign to a frozen dataclass while it is being made, only when the value changed."""
    if getattr(frozen, name) != value:
        object.__setattr__(frozen, name, value)


@dataclass(frozen=True)
class Button:
    """An option under a reply: runs a command, opens a link, or copies ``copy`` to the
    clipboard (only where the platform has such a button: Telegram; elsewhere the text is
    in the message itself, and the button is left out)."""

    label: str
    command: str | None = None
    url: str | None = None
    copy: str | None = None


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    mime_type: str = "text/csv"


@dataclass(frozen=True)
class Invoice:
    """A bill to pay inside the chat app; ``payload`` comes back with the payment."""

    payload: str
    title: str
    description: str
    currency: str
    amount_minor: int  # in the currency's smallest units
    label: str


@dataclass(frozen=True)
class ChatReply:
    text: str
    markup: Markup = "plain"
    buttons: list[list[Button]] = field(default_factory=list)
    document: Document | None = None
    image: bytes | None = None
    invoice: Invoice | None = None  # sent after the text where the platform takes payments
    alert: bool = False  # a refusal to show as an alert where the platform has one
    # a GO card's order choices, for a platform that renders its own ordering controls
    # (Telegram's tap-to-order) instead of ``buttons``
    choices: OrderChoices | None = None
    # the ``core.errors`` code of a refusal (``permission_denied``, ``unknown_order`` …):
    # adapters show the text; the authorization matrix (``authz``) reads the code
    refusal: str | None = None
    # the language the text is written in: what an adapter adds to it (a numbered menu's
    # frame, a button of its own) is said in the same
    language: str = ENGLISH

    @property
    def unanswered(self) -> bool:
        """Another handling of the same update took effect, and answered: say nothing (two
        workers on one update, or one catching up at start on an update another has)."""
        return self.refusal == AlreadyHandled.code
