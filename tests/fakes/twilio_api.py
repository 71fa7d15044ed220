"""A local stand-in for Twilio's Messages API (``/2010-04-01/Accounts/{sid}/Messages.json``),
its media URLs, and the signed webhooks Twilio sends (``TwilioWebhooks``)."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Mapping

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

SID = "AC" + "0" * 32
AUTH = "test-auth"
INVALID_NUMBER = "+15005550001"  # Twilio's own magic test number for "invalid To"


class FakeTwilioAPI:
    def __init__(self, fail_first: int = 0) -> None:
        self.sent: list[dict[str, str]] = []
        self.fail_first = fail_first
        self.media: dict[str, tuple[bytes, str]] = {}  # media id → (bytes, content type)
        self.window_closed = False  # WhatsApp refuses free-form messages (error 63016)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Messages/{message}/Media/{media}", self._media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def to(self, number: str) -> list[str]:
        """The bodies (or a template's variables) sent to ``number`` (SMS or WhatsApp), in order."""
        return [
            m.get("Body") or m.get("ContentVariables", "")
            for m in self.sent
            if m["To"].removeprefix("whatsapp:") == number
        ]

    def add_media(self, content: bytes, content_type: str) -> str:
        """Serve ``content`` as a message's media; returns its URL as Twilio gives it."""
        media_id = f"ME{len(self.media) + 1:032d}"
        self.media[media_id] = (content, content_type)
        return f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages/MM{0:032d}/Media/{media_id}"

    @staticmethod
    def _authorised(request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{SID}:{AUTH}".encode()).decode()
        return request.headers.get("Authorization") == expected and request.match_info["sid"] == SID

    async def _media(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        found = self.media.get(request.match_info["media"])
        if found is None:
            return web.json_response({"code": 20404, "message": "Not found", "status": 404}, status=404)
        return web.Response(body=found[0], content_type=found[1])

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        form = dict(await request.post())
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.json_response({"code": 20500, "message": "Internal error", "status": 500}, status=500)
        if self.window_closed and "ContentSid" not in form and form.get("To", "").startswith("whatsapp:"):
            error = {
                "code": 63016,
                "message": "Failed to send freeform message outside the window",
                "status": 400,
            }
            return web.json_response(error, status=400)
        if form.get("To", "").removeprefix("whatsapp:") == INVALID_NUMBER:
            error = {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}
            return web.json_response(error, status=400)
        self.sent.append({k: str(v) for k, v in form.items()})
        sid = f"SM{len(self.sent):032d}"
        return web.json_response(
            {
                "sid": sid,
                "account_sid": SID,
                "to": form["To"],
                "from": form["From"],
                "body": form.get("Body", ""),
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
            },
            status=201,
        )


_SIDS = itertools.count(1)


def inbound_form(channel: str, sender: str, to: str, body: str, **extra: str) -> dict[str, str]:
    """The form Twilio posts for an incoming message, with all its standard parameters."""
    sid = f"SM{next(_SIDS):032x}"
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    form = {
        "ToCountry": "SG",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "SG",
        "To": prefix + to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": SID,
        "From": prefix + sender,
        "ApiVersion": "2010-04-01",
    }
    if channel == "whatsapp":
        form |= {
            "ProfileName": extra.pop("ProfileName", "Bob"),
            "WaId": sender.lstrip("+"),
            "MessageType": "text",
            "ReferralNumMedia": "0",
        }
        form.pop("ToCountry"), form.pop("FromCountry")
    return form | extra


class TwilioWebhooks:
    """Posts webhooks to a gomflow server as Twilio does: a form signed (``X-Twilio-Signature``)
    by the package's own ``RequestValidator`` over the public URL Twilio was given."""

    def __init__(self, server_url: str, public_base: str, auth_token: str = AUTH) -> None:
        self.server_url = server_url.rstrip("/")
        self.public_base = public_base.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self._session: aiohttp.ClientSession | None = None

    def signature(self, path: str, form: Mapping[str, str]) -> str:
        return str(self.validator.compute_signature(self.public_base + path, form))

    async def post(
        self, path: str, form: Mapping[str, str], *, signature: str | None = None
    ) -> tuple[int, str]:
        """(status, body) of posting ``form``; signed unless ``signature`` is given ("" for none)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        signed = self.signature(path, form) if signature is None else signature
        headers = {"X-Twilio-Signature": signed} if signed else {}
        async with self._session.post(self.server_url + path, data=dict(form), headers=headers) as response:
            return response.status, await response.text()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
