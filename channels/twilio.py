"""SMS and WhatsApp through Twilio's Messages API, with the official ``twilio`` package.

One transport per sending number: ``sms`` sends from a phone number, ``whatsapp`` from a
``whatsapp:+…`` sender. The API base URL is configurable so a local server can stand in.
A text longer than one Twilio message (1,600 characters) goes as several, split on word
boundaries. With ``status_callback`` set, Twilio reports each message's delivery there,
naming the outbox message by its key.
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import quote

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.base import DeliveryError, RecipientUnreachable
from channels.sms_segments import MAX_MESSAGE, split_message
from core.render import Rendered

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
MAX_BODY = MAX_MESSAGE
# Invalid 'To' number, not a mobile number, recipient opted out (STOP), unknown handset,
# landline or unreachable carrier (these two come in status callbacks), unreachable WhatsApp user…
UNREACHABLE_CODES = {21211, 21214, 21610, 21612, 21614, 30005, 30006, 63003, 63024}


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

    async def send_text(self, address: str, text: str, *, key: str = "") -> str:
        """Send one message of at most 1,600 characters; returns its MessageSid."""
        if self._client is None:
            self._http = _BaseUrlClient(self._base, self._timeout)
            self._client = Client(self._sid, self._token, http_client=self._http)
        to = address if self.name != "whatsapp" or address.startswith("whatsapp:") else f"whatsapp:{address}"
        extra: dict[str, Any] = {}
        if self._status_callback and key:
            extra["status_callback"] = f"{self._status_callback}?m={quote(key)}"
        try:
            created = await self._client.messages.create_async(
                to=to, from_=self._sender, body=text[:MAX_BODY], **extra
            )
        except TwilioRestException as exc:
            text = f"twilio: {exc.status} code {exc.code}: {exc.msg}"
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
        return str(created.sid)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
            self._client = None
