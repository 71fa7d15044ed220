"""SMS and WhatsApp through Twilio's Messages API, with the official ``twilio`` package.

One transport per sending number: ``sms`` sends from a phone number, ``whatsapp`` from a
``whatsapp:+…`` sender. The API base URL is configurable so a local server can stand in.
A text longer than one Twilio message (1,600 characters) goes as several, split on word
boundaries. With ``status_callback`` set, Twilio reports each message's delivery there,
naming the outbox message by its key.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.base import DeliveryError, OutsideWindow, RecipientUnreachable
from channels.sms_segments import MAX_MESSAGE, shape, split_message
from core.render import Rendered

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
MAX_BODY = MAX_MESSAGE
# Invalid 'To' number, not a mobile number, recipient opted out (STOP), unknown handset,
# landline or unreachable carrier (these two come in status callbacks), unreachable WhatsApp user…
UNREACHABLE_CODES = {21211, 21214, 21610, 21612, 21614, 30005, 30006, 63003, 63024}
OUTSIDE_WINDOW = 63016  # WhatsApp: free-form message outside the 24-hour window


class _BaseUrlClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's own async HTTP client, sending to a configured base URL instead of api.twilio.com."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(TWILIO_API):
            url = self._base_url + url[len(TWILIO_API) :]
        if auth is not None:  # the header itself: aiohttp deprecates its BasicAuth helper
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        return await super().request(
            method, url, params, data, headers, None, timeout=timeout, allow_redirects=allow_redirects
        )


class TwilioChannel:
    def __init__(
        self,
        name: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        api_base: str = TWILIO_API,
        timeout: float = 15.0,
        *,
        status_callback: str = "",
    ) -> None:
        self.name = name
        self._status_callback = status_callback
        self._sid = account_sid
        self._token = auth_token
        self._sender = sender
        self._base = api_base
        self._timeout = timeout
        self._client: Client | None = None
        self._http: _BaseUrlClient | None = None

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        """Return only when Twilio accepted the message; see channels.base.Channel.

        Twilio's Messages resource takes no idempotency key; ``key`` names the message in
        its delivery status callback. A long text is sent in parts, in order.
        """
        for part in split_message(message.text, MAX_BODY):
            await self.send_text(address, part, key=key)

    async def reply(self, address: str, text: str) -> bool:
        """An answer to a message just received, sent at once (not through the outbox) in
        parts of at most 1,600 characters; False when the recipient is unreachable. Any other
        failure is logged: the person can ask again."""
        for part in split_message(text, MAX_BODY):
            try:
                await self.send_text(address, part)
            except RecipientUnreachable as exc:
                log.info("%s: …%s is unreachable: %s", self.name, address[-4:], exc)
                return False
            except DeliveryError as exc:
                log.warning("%s: could not answer …%s: %s", self.name, address[-4:], exc)
                return True
        return True

    async def send_text(self, address: str, text: str, *, key: str = "", content_sid: str = "") -> str:
        """Send one message of at most 1,600 characters (or, with ``content_sid``, the approved
        template with ``text`` as its variable 1); returns its MessageSid."""
        if self._client is None:
            self._http = _BaseUrlClient(self._base, self._timeout)
            self._client = Client(self._sid, self._token, http_client=self._http)
        to = address if self.name != "whatsapp" or address.startswith("whatsapp:") else f"whatsapp:{address}"
        extra: dict[str, Any] = {}
        if self._status_callback and key:
            extra["status_callback"] = f"{self._status_callback}?m={quote(key)}"
        if content_sid:
            extra |= {"content_sid": content_sid, "content_variables": json.dumps({"1": text[:1024]})}
        else:
            extra["body"] = text[:MAX_BODY]
        try:
            created = await self._client.messages.create_async(to=to, from_=self._sender, **extra)
        except TwilioRestException as exc:
            text = f"twilio: {exc.status} code {exc.code}: {exc.msg}"
            if exc.code == OUTSIDE_WINDOW:
                raise OutsideWindow(text) from exc
            if exc.code in UNREACHABLE_CODES:
                raise RecipientUnreachable(text) from exc
            if exc.status == 429:
                raise DeliveryError(text, retry_after=1.0) from exc
            raise DeliveryError(text) from exc
        except (TwilioException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"twilio: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # aiohttp's errors, without importing aiohttp here
            if type(exc).__module__.startswith("aiohttp"):
                raise DeliveryError(f"twilio: {type(exc).__name__}: {exc}") from exc
            raise
        if self.name == "sms":
            carried = shape(text[:MAX_BODY])
            log.debug("sms %s: %s, %d segment(s)", created.sid, carried.encoding, carried.segments)
        return str(created.sid)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
            self._client = None


class TwilioWhatsAppChannel(TwilioChannel):
    """WhatsApp: free-form messages within 24 hours of the person's last message to us;
    outside it only approved templates, one Content SID per message type (``content_sids``,
    e.g. ``payment_reminder`` → ``HX…``), each with the rendered text as its variable 1."""

    window = timedelta(hours=24)

    def __init__(self, *args: Any, content_sids: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__("whatsapp", *args, **kwargs)
        self._content_sids = dict(content_sids or {})

    async def send_template(self, address: str, template: str, message: Rendered, *, key: str = "") -> None:
        sid = self._content_sids.get(template)
        if not sid:
            raise OutsideWindow(
                f"whatsapp: no approved template for {template}; waits for the buyer to write"
            )
        await self.send_text(address, message.text, key=key, content_sid=sid)


def content_sids(setting: str) -> dict[str, str]:
    """``payment_reminder=HX…,broadcast=HX…`` as a mapping; raises ValueError on a bad entry."""
    found: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in setting.split(","))):
        name, _, sid = entry.partition("=")
        if not name.strip() or not sid.strip().startswith("HX"):
            raise ValueError(f"not a message type and Content SID (HX…): {entry!r}")
        found[name.strip()] = sid.strip()
    return found
