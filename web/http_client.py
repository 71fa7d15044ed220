"""One reusable aiohttp session for the REST payment gateways (Xendit, HitPay)."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from core.errors import GatewayError
from core.payments.gateway import HttpResponse

TIMEOUT = aiohttp.ClientTimeout(total=30)


class AiohttpClient:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpResponse:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)  # created inside the running loop
        try:
            async with self._session.request(method, url, headers=dict(headers), data=body) as response:
                return HttpResponse(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GatewayError("The payment provider could not be reached; please try again.") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
