"""A photo sent by WhatsApp (or MMS): a proof of payment, fetched from Twilio's media URL.

Twilio serves media behind the account's credentials (HTTP Basic, the Account SID and Auth
Token). The type was checked from the webhook's ``MediaContentType0`` before the message was
recorded; here the size is checked from ``Content-Length`` before reading and again while
reading, so a 20 MB file is never held whole. The payments core checks the type by its bytes.
"""

from __future__ import annotations

import base64
import logging

import aiohttp

from bots.chat import Attachment
from bots.twilio.incoming import IMAGE_TYPES, Media
from core.render import N_
from core.services.payments import MAX_PROOF_BYTES

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
TOO_BIG = N_("That image is larger than 5 MB; please send a smaller screenshot.")
UNREACHABLE = N_("I couldn't fetch that image; please send it again.")


class MediaRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MediaFetcher:
    """One HTTP session for the account's media downloads, reused; ``close()`` ends it."""

    def __init__(self, account_sid: str, auth_token: str, api_base: str = TWILIO_API) -> None:
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}"}
        self._base = api_base.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self, media: Media, name: str) -> Attachment:
        """The image's bytes; raises MediaRefused with what to tell the sender."""
        url = media.url
        if url.startswith(TWILIO_API):
            url = self._base + url[len(TWILIO_API) :]
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        try:
            async with self._session.get(url, headers=self._headers) as response:
                if response.status != 200:
                    log.warning("media %s answered %s", url, response.status)
                    raise MediaRefused(UNREACHABLE)
                if (response.content_length or 0) > MAX_PROOF_BYTES:
                    raise MediaRefused(TOO_BIG)
                content = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    content += chunk
                    if len(content) > MAX_PROOF_BYTES:
                        raise MediaRefused(TOO_BIG)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not fetch media %s: %s", url, exc)
            raise MediaRefused(UNREACHABLE) from exc
        return Attachment(f"{name}.{IMAGE_TYPES[media.content_type]}", bytes(content), media.content_type)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
