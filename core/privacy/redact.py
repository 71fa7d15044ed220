"""Logs never carry secrets or personal data: a filter on every log handler.

Libraries log what they send: httpx and python-telegram-bot put the bot token in every
request URL (``…/bot123:ABC…/getUpdates``), Twilio's client logs its request at INFO, an
exception's text repeats the URL it failed on. Rather than trust each call site, one
filter rewrites every record before it is written: the configured secrets (tokens, keys,
passwords, webhook secrets, the data keys) become ``[secret]``; whatever looks like a bot
token, a phone number or an email address is masked (``…67``, ``a…@example.com``), so a
log still tells two people apart without naming them.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable

SECRET = "[secret]"
MIN_SECRET = 6  # shorter "secrets" would blank ordinary words
BOT_TOKEN = re.compile(r"(?<!\d)\d{5,12}:[A-Za-z0-9_-]{30,}")  # also right after ".../bot"
# a number in E.164, as stored and as Twilio sends it (whatsapp:+65…, %2B65… in a form body)
PHONE = re.compile(r"(?:\+|%2B)\d[\d ]{6,16}(\d{2})\b")
EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# an email address inside a URL or form body: ana%40example.com
EMAIL_ESCAPED = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*%40([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


# Libraries that log whole payloads at DEBUG: the Bot API parameters and answers (chat
# messages, addresses typed in them), a database driver's statements with their values,
# a gateway's request. From these loggers the payload is withheld and the words kept:
# "Calling Bot API endpoint `sendMessage` with parameters […]".
PAYLOAD_LOGGERS = (
    "telegram",
    "aiosqlite",
    "asyncpg",
    "twilio",
    "discord",
    "mail.log",
    "aiosmtplib",
    "aioimaplib",
)
PAYLOAD = re.compile(r"`[^`]{24,}`|\{.*\}|\(.*\)|\[.*\]|b'.*'|b\".*\"", re.DOTALL)
WITHHELD = "[…]"


def withhold_payloads(logger_name: str, text: str) -> str:
    """``text`` without the payloads a library logs, for the loggers that log them."""
    if logger_name.startswith(PAYLOAD_LOGGERS):
        return PAYLOAD.sub(WITHHELD, text)
    return text


class Redactor:
    """Masks the known secrets and anything shaped like a token, phone number or address."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = {s for s in secrets if s and len(s) >= MIN_SECRET}
        self._secrets = sorted(known, key=len, reverse=True)  # a secret inside another goes second

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, SECRET)
        text = BOT_TOKEN.sub(SECRET, text)
        text = PHONE.sub(r"…\1", text)
        text = EMAIL.sub(r"\1…@\2", text)
        return EMAIL_ESCAPED.sub(r"\1…%40\2", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, exception and stack text through a ``Redactor``."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format string: keep what there is
            message = str(record.msg)
        record.msg, record.args = self.redact(withhold_payloads(record.name, message)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def secrets_of(values: Iterable[tuple[str, str]]) -> list[str]:
    """The secrets among named settings values: tokens, keys, passwords, salts, secrets,
    and the forms they travel in (each entry of a keyring, HTTP basic credentials)."""
    found: list[str] = []
    for name, value in values:
        if not value or not any(w in name for w in ("token", "secret", "key", "password", "salt")):
            continue
        found.append(value)
        found.extend(part.strip().partition(":")[2] or part.strip() for part in value.split(","))
    return found


def basic_credentials(user: str, password: str) -> str:
    """What an ``Authorization: Basic`` header carries for these credentials."""
    return base64.b64encode(f"{user}:{password}".encode()).decode() if user and password else ""


def install(secrets: Iterable[str], logger: logging.Logger | None = None) -> RedactingFilter:
    """Put the filter on every handler of ``logger`` (the root logger): a handler's filter
    sees the records of every library that propagates to it, a logger's only its own."""
    target = logger or logging.getLogger()
    redacting = RedactingFilter(Redactor(secrets))
    for handler in target.handlers:
        handler.addFilter(redacting)
    return redacting
