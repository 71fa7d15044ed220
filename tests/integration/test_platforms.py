"""``gomflow run`` starts every configured platform through the registry, and only those."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import update

from bots.commands import BotContext
from channels.base import Channel
from channels.console import ConsoleChannel
from channels.limits import ChannelLimits
from core.config import Settings, TelegramSettings
from core.db.migrate import upgrade
from core.db.models import Identity
from core.errors import InvalidInput, PermissionDenied
from core.services import broadcasts
from core.services.accounts import identify
from core.services.linked_channels import link_channel
from core.verification import LinkTarget, Verdict
from main import App, bootstrap, serve
from platforms import PLATFORMS, Platform, Wiring
from tests.conftest import gom, open_go
from tests.fakes.crowd import outbox_counts, seed_buyers
from tests.fakes.discord_api import TOKEN as DISCORD_TOKEN
from tests.fakes.discord_api import FakeDiscordAPI
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import AUTH as TWILIO_AUTH
from tests.fakes.twilio_api import SID as TWILIO_SID
from tests.fakes.twilio_api import FakeTwilioAPI

TELEGRAM_CHAT = 7_000_000
DISCORD_USER = 10**17


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    """The condition itself, re-checked; generous, since a busy machine is slow, not wrong."""
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def serving(app: App, platforms: tuple[Platform, ...] = PLATFORMS) -> AsyncIterator[None]:
    """``gomflow run``'s serving loop, stopped by an event instead of a signal."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop, platforms=platforms))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def test_run_starts_every_configured_platform_through_the_registry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram, Discord and SMS are configured against the loopback fakes: Telegram's
    adapter polls for updates, Discord's answers a slash command over the gateway, SMS's
    webhook is mounted, and a broadcast reaches a buyer on each platform's transport."""
    telegram, discord, twilio = FakeTelegram(), FakeDiscordAPI(), FakeTwilioAPI()
    await telegram.start()
    await discord.start()
    await twilio.start()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/run.db",
        http_port=0,
        discord_bot_token=DISCORD_TOKEN,
        discord_api_base=discord.base_url,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_AUTH,
        twilio_sms_from="+6580000000",
        twilio_api_base=twilio.base_url,
    )
    app = bootstrap(
        settings,
        write=lambda _: None,
        telegram=TelegramSettings(bot_token=telegram.token, api_base_url=telegram.base_url),
    )
    try:
        assert [p.name for p in app.platforms] == ["console", "telegram", "discord", "sms"]
        assert set(app.channels) == {"console", "telegram", "discord", "sms"}
        await upgrade(app.core.db)
        await open_go(app)
        await seed_buyers(app.core, "SVT-FML", 1, "telegram", lambda i: str(TELEGRAM_CHAT + i))
        await seed_buyers(app.core, "SVT-FML", 1, "discord", lambda i: str(DISCORD_USER + i))
        await seed_buyers(app.core, "SVT-FML", 1, "sms", lambda i: f"+659123{i:04d}")
        gina = await gom(app)
        await broadcasts.prepare_broadcast(
            app.core.uow(), gina, "SVT-FML", "all", "Restock!", confirm_over=10
        )
        with caplog.at_level(logging.INFO, logger="gomflow"):
            async with serving(app):
                await telegram.wait_until(lambda: bool(telegram.calls_to("getUpdates")))
                await wait_for(lambda: _sent(app))
                gateway = discord.gateway
                helped = await gateway.interact(gateway.slash(str(DISCORD_USER + 99), "help"))
        to_telegram = telegram.calls_to("sendMessage", TELEGRAM_CHAT)
        assert len(to_telegram) == 1 and "Restock!" in to_telegram[0].params["text"]
        assert [channel for channel, content in discord.delivered if "Restock!" in content] == [
            f"dm{DISCORD_USER}"
        ]
        assert [m["Body"] for m in twilio.sent if m["To"] == "+6591230000"] == [
            "SVT-FML: Restock! Reply STOP to opt out."
        ]
        assert "telegram: receiving and sending" in caplog.messages
        assert "discord: receiving and sending" in caplog.messages
        assert helped.ephemeral and "/order" in helped.content
        assert "sms: receiving and sending" in caplog.messages
    finally:
        await telegram.stop()
        await discord.stop()
        await twilio.stop()


async def _sent(app: App) -> bool:
    counts = await outbox_counts(app.core, broadcasts_only=True)
    return counts.get("sent", 0) == 3 and set(counts) == {"sent"}


async def test_an_unconfigured_platform_is_skipped_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/run.db", http_port=0)
    app = bootstrap(settings, write=lambda _: None)
    assert set(app.channels) == {"console"} and not app.core.channel_verifiers
    with caplog.at_level(logging.INFO, logger="gomflow"):
        async with serving(app):
            await wait_for(lambda: _logged(caplog, "email: not started"))
    assert "telegram: not started (TELEGRAM_BOT_TOKEN not set)" in caplog.messages
    assert "discord: not started (DISCORD_BOT_TOKEN not set)" in caplog.messages
    assert (
        "sms: not started (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_SMS_FROM not set)"
        in caplog.messages
    )
    assert "email: not started (SMTP_HOST and SMTP_FROM not set)" in caplog.messages


async def _logged(caplog: pytest.LogCaptureFixture, start: str) -> bool:
    return any(m.startswith(start) for m in caplog.messages)


class Probe:
    """A new platform's inbound adapter, as small as the protocol allows; it notes its life."""

    def __init__(self, wiring: Wiring, bot: BotContext, channel: Channel) -> None:
        self.events: list[str] = []
        PROBES.append(self)

    def mount(self, web_app: web.Application) -> None:
        self.events.append("mounted")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Probe]:
        self.events.append("started")
        try:
            yield self
        finally:
            self.events.append("stopped")


PROBES: list[Probe] = []


async def test_a_new_platform_is_one_registry_entry(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A platform added to the registry is wired like the others: channel, limits, template
    variants, inbound adapter mounted, started and stopped; a broken one does not stop the rest."""

    def broken(wiring: Wiring, bot: BotContext, channel: Channel) -> Probe:
        probe = Probe(wiring, bot, channel)
        probe.running = _refuses  # type: ignore[method-assign]
        return probe

    probe = Platform(
        name="probe",
        needs="PROBE_TOKEN",
        configured=lambda w: True,
        channel=lambda w: replace_name(ConsoleChannel(w.write), "probe"),
        limits=ChannelLimits(),
        templates={"probe": ("console.txt", "plain.txt")},
        inbound=Probe,
    )
    flaky = replace(probe, name="flaky", inbound=broken, templates={})
    platforms = (*PLATFORMS, probe, flaky)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/run.db", http_port=0)
    app = bootstrap(settings, write=lambda _: None, platforms=platforms)
    PROBES.clear()
    assert {"probe", "flaky"} <= set(app.channels)
    assert app.bot.renderer.render("error", "probe", {"message": "x"}).text == "⚠️ x"
    with caplog.at_level(logging.INFO, logger="gomflow"):
        async with serving(app, platforms):
            await wait_for(lambda: _logged(caplog, "probe: receiving and sending"))
    assert [p.events for p in PROBES] == [["mounted", "started", "stopped"], ["mounted"]]
    assert any(m.startswith("flaky: not started: unreachable") for m in caplog.messages)


def replace_name(channel: ConsoleChannel, name: str) -> ConsoleChannel:
    channel.name = name
    return channel


@asynccontextmanager
async def _refuses() -> AsyncIterator[None]:
    raise ConnectionError("unreachable")
    yield


class ProbeVerifier:
    """The probe platform's answer to "does this GOM run that room?": yes, for room ids it knows."""

    async def controls(self, destination: str, member_id: str) -> Verdict:
        return Verdict.yes() if destination == "room:42" else Verdict.no("That room is not yours.")


async def test_a_new_platforms_rooms_can_be_linked_without_touching_core(tmp_path: Path) -> None:
    probe = Platform(
        name="probe",
        needs="nothing",
        configured=lambda w: True,
        channel=lambda w: replace_name(ConsoleChannel(w.write), "probe"),
        limits=ChannelLimits(),
        templates={},
        link_target=LinkTarget(re.compile(r"^room:?(\d{1,6})$"), "room:123", "room:{}"),
        verifier=lambda w: ProbeVerifier(),
    )
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/run.db", http_port=0)
    app = bootstrap(settings, write=lambda _: None, platforms=(*PLATFORMS, probe))
    try:
        await upgrade(app.core.db)
        await open_go(app)
        gina = await gom(app)
        await identify(app.core.uow(), "probe", "gina-on-probe", "gina")  # her own probe account…
        async with app.core.uow() as uow:  # …is hers
            await uow.session.execute(
                update(Identity).where(Identity.channel == "probe").values(user_id=gina.user_id)
            )
            await uow.commit()
        targets, verifiers = app.core.link_targets, app.core.channel_verifiers
        linked = await link_channel(
            app.core.uow(),
            gina,
            "SVT-FML",
            "probe",
            "room42",
            targets=targets,
            verifiers=verifiers,
            public_base_url="http://x",
        )
        assert (linked.platform, linked.target, linked.pending) == ("probe", "room:42", False)
        with pytest.raises(PermissionDenied, match="That room is not yours"):
            await link_channel(
                app.core.uow(),
                gina,
                "SVT-FML",
                "probe",
                "room:7",
                targets=targets,
                verifiers=verifiers,
                public_base_url="http://x",
            )
        with pytest.raises(InvalidInput, match="not a probe destination; use room:123"):
            await link_channel(
                app.core.uow(),
                gina,
                "SVT-FML",
                "probe",
                "#general",
                targets=targets,
                verifiers=verifiers,
                public_base_url="http://x",
            )
        with pytest.raises(InvalidInput, match="on: discord, email, probe, telegram"):
            await link_channel(
                app.core.uow(),
                gina,
                "SVT-FML",
                "myspace",
                "x",
                targets=targets,
                verifiers=verifiers,
                public_base_url="http://x",
            )
    finally:
        await app.core.close()
