"""What every adapter hands the command table, and what it gets back to show."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.render import Markup

MAX_TEXT = 4_000


@dataclass(frozen=True)
class Attachment:
    """A file a person sent: a photo of a bank transfer, a screenshot."""

    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class ChatRequest:
    """One message from a person, translated from whatever the platform sent."""

    channel: str  # telegram, discord, whatsapp, sms, email, console
    user_id: str  # the platform's id for the sender
    name: str
    text: str
    handle: str | None = None
    chat_id: str | None = None
    in_group: bool = False
    attachment: Attachment | None = None
    in_chat_payments: bool = False  # the platform can take a payment inside this chat (an invoice)


@dataclass(frozen=True)
class Button:
    """An option under a reply: either runs a command or opens a link."""

    label: str
    command: str | None = None
    url: str | None = None


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
