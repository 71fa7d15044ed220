"""Email over SMTP with aiosmtplib: plain text and HTML alternatives, one-click unsubscribe."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib

from channels.base import DeliveryError, RecipientUnreachable
from core.render import Rendered


class EmailChannel:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str = "",
        password: str = "",
        start_tls: bool = True,
        unsubscribe_url: str = "",
        timeout: float = 30.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username or None
        self._password = password or None
        self._start_tls = start_tls
        self._unsubscribe_url = unsubscribe_url
        self._timeout = timeout

    def build(self, address: str, message: Rendered, key: str = "") -> EmailMessage:
        """The email; with a ``key``, its Message-ID is the same on every attempt, so a
        repeat after a crash carries the Message-ID receivers already hold."""
        email = EmailMessage()
        first_line = message.text.strip().splitlines()[0] if message.text.strip() else "gomflow"
        email["Subject"] = first_line[:120]
        email["From"] = formataddr(("gomflow", self._sender))
        email["To"] = address
        domain = self._sender.rpartition("@")[2] or "gomflow.invalid"
        email["Message-ID"] = f"<{key}.outbox@{domain}>" if key else make_msgid(domain=domain)
        # Every gomflow email can be muted in one click (RFC 2369 / RFC 8058).
        targets = [f"<mailto:{self._sender}?subject=unsubscribe>"]
        if unsubscribe_url := message.unsubscribe_url or self._unsubscribe_url:
            targets.insert(0, f"<{unsubscribe_url}>")
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email["List-Unsubscribe"] = ", ".join(targets)
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        """Return only when the SMTP server accepted the message; see channels.base.Channel."""
        await self.deliver(self.build(address, message, key))

    async def deliver(self, email: EmailMessage) -> None:
        """Hand one built message to the SMTP server; the errors as ``send`` raises them."""
        try:
            await aiosmtplib.send(
                email,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._start_tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            text = f"smtp: recipient refused {codes}"
            if codes and all(500 <= c < 600 for c in codes):
                raise RecipientUnreachable(text) from exc
            raise DeliveryError(text) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"smtp: {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        return None
