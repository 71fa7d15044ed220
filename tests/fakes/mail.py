"""A local SMTP relay (aiosmtpd) standing in for the operator's mail server, and mail as a
person's mail program writes it."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from aiosmtpd.controller import Controller

GOMFLOW = "orders@gomflow.test"
TRUSTED = "mx.gomflow.test"  # the authserv-id of the receiving server gomflow trusts


class Relay:
    """An aiosmtpd handler keeping every message it accepts (what gomflow sent)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if str(m["To"]) == address]


@contextmanager
def relay(port: int, handler: Relay | None = None) -> Iterator[Relay]:
    handler = handler or Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def mail(
    sender: str,
    subject: str,
    body: str = "",
    *,
    to: str = GOMFLOW,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    image: bytes | None = None,
    replying_to: EmailMessage | None = None,
    verified: bool = False,
) -> EmailMessage:
    """A message as a mail program writes it; ``replying_to`` threads it under that message."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "example.test")
    if replying_to is not None:
        message["In-Reply-To"] = str(replying_to["Message-ID"])
        message["References"] = f"{replying_to.get('References', '')} {replying_to['Message-ID']}".strip()
    if verified:
        domain = sender.rpartition("@")[2].rstrip(">")
        message["Authentication-Results"] = f"{TRUSTED}; dkim=pass header.d={domain}; spf=pass"
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None and not body:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    if image is not None:
        message.add_attachment(image, maintype="image", subtype="png", filename="transfer.png")
    return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no plain-text part"
    content = part.get_content()
    assert isinstance(content, str)
    return content
