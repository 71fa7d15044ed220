"""One message Twilio posted to a webhook, read and checked before anything is recorded.

Twilio sends a form: ``MessageSid``, ``From`` (``+6591234567``, or
``whatsapp:+6591234567``), ``Body``, ``NumMedia`` with ``MediaUrl0``/``MediaContentType0``,
and on WhatsApp ``ProfileName``. The sender's number is read with ``phonenumbers`` and kept
in E.164; a number that is not one, or one from a country gomflow does not serve, is
refused with a clear answer, as are an empty message, an over-long one and media that is
not an image. A refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import phonenumbers

from bots.commands import COMMANDS
from core.languages import from_country
from core.render import N_

MAX_BODY = 1600  # the most Twilio delivers in one inbound message
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
EMPTY = N_("Your message was empty. Send HELP to see what you can do.")
TOO_LONG = N_(
    "That message is too long (%(length)s characters; the limit is %(limit)s). Please send it shorter."
)
NOT_A_NUMBER = N_("Sorry, I can only answer a phone number, and I could not read yours.")
NOT_SERVED = N_("Sorry, gomflow does not serve numbers from %(country)s yet (only %(served)s).")
NOT_IMAGE = N_("Please send the proof of payment as a PNG, JPEG or WebP image.")


@dataclass(frozen=True)
class Media:
    url: str
    content_type: str


@dataclass(frozen=True)
class TextMessage:
    """A message worth recording: its MessageSid, the sender in E.164, what they wrote."""

    sid: str
    number: str
    name: str
    body: str
    media: Media | None = None


@dataclass(frozen=True)
class Refused:
    """Why a message is not taken: ``message`` with its ``values`` apart, to be said in
    ``language`` (the sender's number's, where it says one)."""

    message: str
    values: Mapping[str, object] = field(default_factory=dict)
    language: str | None = None


def read(channel: str, params: Mapping[str, str], served: frozenset[str]) -> TextMessage | Refused | None:
    """The message in a webhook's form, a refusal to answer at once, or None when the form
    is not an inbound message at all (no MessageSid)."""
    sid = params.get("MessageSid", "").strip()
    if not sid:
        return None
    number = e164(params.get("From", "").removeprefix("whatsapp:"), served)
    if isinstance(number, Refused):
        return number
    body = params.get("Body", "")
    media = _media(params)
    if isinstance(media, Refused):
        return Refused(media.message, media.values, language_of(number))
    if not body.strip() and media is None:
        return Refused(EMPTY, language=language_of(number))
    if len(body) > MAX_BODY:
        length, limit = format(len(body), ","), format(MAX_BODY, ",")
        return Refused(TOO_LONG, {"length": length, "limit": limit}, language_of(number))
    name = params.get("ProfileName", "").strip() or f"…{number[-4:]}"
    return TextMessage(sid, number, name, body, media)


def e164(raw: str, served: frozenset[str]) -> str | Refused:
    """``raw`` as an E.164 number of a served country, or why not."""
    try:
        parsed = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException:
        return Refused(NOT_A_NUMBER)
    if not phonenumbers.is_valid_number(parsed):
        return Refused(NOT_A_NUMBER)
    region = phonenumbers.region_code_for_number(parsed) or "?"
    if served and region not in served:
        values = {"country": region, "served": ", ".join(sorted(served))}
        return Refused(NOT_SERVED, values, from_country(region))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def language_of(number: str) -> str | None:
    """The language of an E.164 number's country, where it has one clear one."""
    return from_country(phonenumbers.region_code_for_number(phonenumbers.parse(number, None)))


def _media(params: Mapping[str, str]) -> Media | Refused | None:
    try:
        count = int(params.get("NumMedia", "0") or 0)
    except ValueError:
        count = 0
    if count < 1:
        return None
    content_type = params.get("MediaContentType0", "").split(";")[0].strip().lower()
    url = params.get("MediaUrl0", "")
    if content_type not in IMAGE_TYPES or not url:
        return Refused(NOT_IMAGE)
    return Media(url, content_type)


# words buyers text that mean another command when they come alone: STATUS or ORDERS is
# "where are my orders" (with arguments they are the GOM's /status and /orders)
WORDS = {"status": "myorders", "orders": "myorders", "menu": "help"}


def as_command(text: str) -> str:
    """A command written as plain words (``ORDER SVT-FML ALB 2``, any case, with or
    without a slash) as the command table reads it (``/order SVT-FML ALB 2``); other text
    is left as it is."""
    stripped = text.strip()
    head, _, rest = stripped.lstrip("/").partition(" ")
    name = head.lower()
    if name in WORDS and (name not in COMMANDS or not rest.strip()):
        name = WORDS[name]
    if name not in COMMANDS:
        return stripped
    return f"/{name} {rest.strip()}".rstrip()
