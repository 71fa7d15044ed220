"""An email as gomflow reads it: who sent it, the command in it, an image, and whether it
must never be answered (an auto-reply, a bounce, mailing-list traffic).

Pure functions over the message's bytes, so the listener and the catch-up after a restart
read a stored message exactly the same way.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field, replace
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from enum import StrEnum

from bots.chat import Attachment
from bots.commands import COMMANDS
from core.render import N_, html_to_plain
from core.services.payments import MAX_PROOF_BYTES

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp"}
TOO_BIG = N_("That image is larger than 5 MB; please attach a smaller screenshot.")
MAX_SUBJECT = 200
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_QUOTE_HEADER = re.compile(r"^(on .+ wrote:|-----\s*original message\s*-----|from:\s)", re.IGNORECASE)
_BLOCK_END = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.IGNORECASE)
_HIDDEN = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


class Kind(StrEnum):
    PERSON = "person"  # written by someone: answer it
    AUTO = "auto"  # an auto-reply or other machine mail: never answered
    LIST = "list"  # mailing-list or bulk traffic: never answered
    BOUNCE = "bounce"  # a delivery failure report: never answered, marks addresses unreachable


@dataclass(frozen=True)
class Mail:
    message_id: str
    sender: str  # the From address, lower case
    sender_name: str
    subject: str  # without "Re:" and the like
    text: str  # what to run: a command, a number from a menu, or the first thing written
    references: tuple[str, ...]  # the thread, oldest first, ending with this message
    kind: Kind = Kind.PERSON
    attachment: Attachment | None = None
    refusal: str | None = None  # what to answer instead of running anything (an image too large)
    verified: bool = False  # the From address passed DMARC, DKIM or SPF at a trusted server
    bounced: tuple[str, ...] = field(default_factory=tuple)  # recipients a bounce reports as failed


def message_id(raw: bytes) -> str:
    """The Message-ID, or a digest of the bytes for a message without one (so a repeat of the
    same bytes is still recognised)."""
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    found = str(parsed.get("Message-ID", "")).strip()
    return found or "sha256:" + hashlib.sha256(raw).hexdigest()


def parse(raw: bytes, *, envelope_sender: str | None = None, authserv_id: str = "") -> Mail:
    """Read one message. ``envelope_sender`` is the SMTP ``MAIL FROM`` ("" for a bounce)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    name, address = parseaddr(str(message.get("From", "")))
    sender = address.strip().lower()
    written = _header(message, "Subject")
    subject = _REPLY_PREFIX.sub("", written)[:MAX_SUBJECT].strip()
    own_id = message_id(raw)
    thread = tuple(re.findall(r"<[^<>\s]+>", _header(message, "References")))
    if not thread and (parent := _header(message, "In-Reply-To").strip()):
        thread = (parent,)
    references = (*thread[-20:], own_id) if own_id.startswith("<") else thread[-20:]
    kind = _kind(message, envelope_sender)
    mail = Mail(
        message_id=own_id,
        sender=sender,
        sender_name=name.strip() or sender.partition("@")[0],
        subject=subject,
        text="",
        references=references,
        kind=kind,
        verified=bool(authserv_id) and _verified(message, sender, authserv_id),
    )
    if kind is Kind.BOUNCE:
        return replace(mail, bounced=_failed_recipients(message))
    if kind is not Kind.PERSON:
        return mail
    attachment, refusal = _image(message)
    # a reply keeps the subject it answers, so only a new message's subject is a command
    is_reply = bool(thread) or subject != written.strip()
    text = command_text("" if is_reply else subject, _body(message))
    if not text and subject.lower() == "unsubscribe":  # the mailto: of List-Unsubscribe (RFC 2369)
        text = "/mute"
    return replace(mail, text=text, attachment=attachment, refusal=refusal)


def _header(message: Message, name: str) -> str:
    return " ".join(str(message.get(name, "")).split())


# --- what must never be answered (RFC 3834, RFC 3464, RFC 2369) ----------------------------


def _kind(message: EmailMessage, envelope_sender: str | None) -> Kind:
    content_type = message.get_content_type()
    report = str(message.get_param("report-type", "", header="content-type")).lower()
    if content_type == "multipart/report" and report == "delivery-status":
        return Kind.BOUNCE
    return_path = _header(message, "Return-Path")
    if envelope_sender in {"", "<>"} or return_path == "<>":
        return Kind.BOUNCE if _failed_recipients(message) else Kind.AUTO
    auto = _header(message, "Auto-Submitted").lower()
    if (auto and auto != "no") or message.get("X-Autoreply") or message.get("X-Autorespond"):
        return Kind.AUTO
    if "all" in _header(message, "X-Auto-Response-Suppress").lower().split(","):
        return Kind.AUTO
    if _header(message, "Precedence").lower() in {"bulk", "junk", "list", "auto_reply"}:
        return Kind.LIST
    if message.get("List-Id") or message.get("List-Post"):
        return Kind.LIST
    return Kind.PERSON


def _failed_recipients(message: EmailMessage) -> tuple[str, ...]:
    """The addresses a delivery status report says failed for good (Action: failed)."""
    failed: list[str] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        groups = [g for g in payload if isinstance(g, Message)] if isinstance(payload, list) else []
        for group in groups:
            if str(group.get("Action", "")).strip().lower() != "failed":
                continue
            recipient = str(group.get("Final-Recipient") or group.get("Original-Recipient") or "")
            address = recipient.partition(";")[2].strip().strip("<>").lower()
            if "@" in address and address not in failed:
                failed.append(address)
    return tuple(failed)


# --- who sent it ------------------------------------------------------------------------


def _verified(message: EmailMessage, sender: str, authserv_id: str) -> bool:
    """Whether a receiving server we trust (by its authserv-id, RFC 8601) vouches for the From
    address: dmarc=pass, or dkim=pass / spf=pass for the From address's own domain."""
    domain = sender.rpartition("@")[2]
    if not domain:
        return False
    for value in message.get_all("Authentication-Results") or []:
        text = " ".join(str(value).split()).lower()
        server, _, results = text.partition(";")
        if server.split()[0:1] != [authserv_id.lower()]:
            continue
        for result in results.split(";"):
            words = result.split()
            if not words:
                continue
            method = words[0]
            props = dict(w.split("=", 1) for w in words[1:] if "=" in w)
            if method == "dmarc=pass" and props.get("header.from", domain) == domain:
                return True
            if method == "dkim=pass" and props.get("header.d") == domain:
                return True
            if method == "spf=pass" and props.get("smtp.mailfrom", "").rpartition("@")[2] == domain:
                return True
    return False


def addresses(value: str) -> list[str]:
    return [address.lower() for _, address in getaddresses([value]) if address]


# --- what it says -------------------------------------------------------------------------


def _body(message: EmailMessage) -> str:
    """The plain text of the message; an HTML-only message is read as its text."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        return ""
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = html_to_plain(_BLOCK_END.sub("\n", _HIDDEN.sub("", content)))
    return content


def command_text(subject: str, body: str) -> str:
    """What the person asked: a command or a menu number on the body's first line wins; else
    a command in the subject (pass "" for a reply, whose subject is the one it answers); else
    the body's first line as written (a reference to go with an image, or words to explain)."""
    first = _first_line(body)
    if _is_command(first) or first.isdigit():
        return as_command(first)
    if _is_command(subject):
        return as_command(subject)
    return first


def _first_line(body: str) -> str:
    for line in body.splitlines():
        stripped = line.strip()
        if _QUOTE_HEADER.match(stripped) or stripped == "--":
            break  # the quoted message or the signature starts here
        if stripped and not stripped.startswith(">"):
            return stripped
    return ""


def _is_command(text: str) -> bool:
    word = text.split(maxsplit=1)[0] if text.strip() else ""
    return word.startswith("/") or word.lower() in COMMANDS


def as_command(text: str) -> str:
    """``ORDER SVT-FML ALB 2`` as the command ``/order SVT-FML ALB 2``."""
    text = text.strip()
    if text.isdigit() or text.startswith("/"):
        return text
    word, _, rest = text.partition(" ")
    return f"/{word.lower()} {rest}".strip()


def _image(message: EmailMessage) -> tuple[Attachment | None, str | None]:
    """The first image attached (a proof of payment), or why it is refused."""
    for part in message.iter_attachments():
        if part.get_content_type() not in IMAGE_TYPES:
            continue
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            continue
        if len(content) > MAX_PROOF_BYTES:
            return None, TOO_BIG
        filename = part.get_filename() or "proof." + part.get_content_subtype()
        return Attachment(filename, content, part.get_content_type()), None
    return None, None
