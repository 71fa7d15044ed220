"""A local stand-in for Twilio's Messages API (``/2010-04-01/Accounts/{sid}/Messages.json``)."""

from __future__ import annotations

import base64

from aiohttp import web

SID = "AC" + "0" * 32
AUTH = "test-auth"
INVALID_NUMBER = "+15005550001"  # Twilio's own magic test number for "invalid To"


class FakeTwilioAPI:
    def __init__(self, fail_first: int = 0) -> None:
        self.sent: list[dict[str, str]] = []
        self.fail_first = fail_first
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
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

    async def _create(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{SID}:{AUTH}".encode()).decode()
        if request.headers.get("Authorization") != expected or request.match_info["sid"] != SID:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        form = dict(await request.post())
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.json_response({"code": 20500, "message": "Internal error", "status": 500}, status=500)
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
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
            },
            status=201,
        )
