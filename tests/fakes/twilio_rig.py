"""gomflow with SMS and WhatsApp configured against the loopback Twilio fake, its web app
serving on loopback, and a way to talk to it as Twilio's webhooks do."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from aiohttp import web

from bots.twilio.adapter import TwilioBot
from core.clock import FrozenClock
from core.config import Settings
from core.db.migrate import upgrade
from main import App, bootstrap
from platforms import TwilioInbound
from tests.fakes.twilio_api import AUTH, SID, FakeTwilioAPI, TwilioWebhooks, inbound_form
from web.app import build_web_app

PUBLIC_BASE = "https://gomflow.example.com"
SMS_FROM = "+6580000000"
WHATSAPP_FROM = "+6580000001"


@dataclass
class TwilioRig:
    app: App
    api: FakeTwilioAPI
    hooks: TwilioWebhooks
    adapters: dict[str, TwilioBot]

    async def post(self, channel: str, form: dict[str, str]) -> tuple[int, str]:
        """Post one inbound webhook and wait until whatever it started is handled."""
        status, body = await self.hooks.post(f"/webhooks/twilio/{channel}", form)
        await self.adapters[channel].idle()
        return status, body

    async def say(self, channel: str, number: str, text: str, **extra: str) -> str:
        """``number`` writes ``text``; gomflow's answers to it (joined), once handled."""
        before = len(self.api.to(number))
        to = SMS_FROM if channel == "sms" else WHATSAPP_FROM
        status, body = await self.post(channel, inbound_form(channel, number, to, text, **extra))
        assert status == 200, (status, body)
        return "\n".join(self.api.to(number)[before:])


def settings_for(database_url: str, api_base: str) -> Settings:
    return Settings(
        database_url=database_url,
        public_base_url=PUBLIC_BASE,
        twilio_account_sid=SID,
        twilio_auth_token=AUTH,
        twilio_sms_from=SMS_FROM,
        twilio_whatsapp_from="whatsapp:" + WHATSAPP_FROM,
        twilio_api_base=api_base,
    )


@contextlib.asynccontextmanager
async def twilio_rig(database_url: str, clock: FrozenClock, **settings: str) -> AsyncIterator[TwilioRig]:
    """gomflow's web app with both Twilio adapters mounted through the registry, running;
    ``settings`` override the defaults (e.g. ``twilio_whatsapp_templates``)."""
    api = FakeTwilioAPI()
    await api.start()
    configured = replace(settings_for(database_url, api.base_url), **settings)
    app = bootstrap(configured, clock=clock, write=lambda _: None)
    runner: web.AppRunner | None = None
    hooks: TwilioWebhooks | None = None
    try:
        await upgrade(app.core.db)
        web_app = build_web_app(app.core)
        adapters: dict[str, TwilioInbound] = {}
        for platform in app.platforms:
            if platform.name in {"sms", "whatsapp"} and platform.inbound is not None:
                adapter = platform.inbound(app.wiring, app.bot, app.channels[platform.name])
                assert isinstance(adapter, TwilioInbound)
                adapter.mount(web_app)
                adapters[platform.name] = adapter
        assert set(adapters) == {"sms", "whatsapp"}
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        hooks = TwilioWebhooks(f"http://127.0.0.1:{port}", PUBLIC_BASE)
        async with contextlib.AsyncExitStack() as running:
            for adapter in adapters.values():
                await running.enter_async_context(adapter.running())
            yield TwilioRig(app, api, hooks, {name: a.bot for name, a in adapters.items()})
    finally:
        if hooks is not None:
            await hooks.close()
        if runner is not None:
            await runner.cleanup()
        for channel in app.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                await close()
        await app.core.close()
        await api.stop()
