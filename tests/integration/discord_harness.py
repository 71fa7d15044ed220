"""A gomflow with its Discord bot connected to the loopback fake, for the Discord tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bots.discord.adapter import DiscordBot
from channels.setup import close_all
from core.clock import FrozenClock
from core.config import Settings
from core.db.migrate import upgrade
from main import App, bootstrap
from tests.conftest import fresh_database_url
from tests.fakes.discord_api import TOKEN, FakeDiscordAPI
from tests.fakes.discord_gateway import Gateway

GUILD, CHANNEL, OTHER_CHANNEL = "700000000000000007", "500000000000000005", "500000000000000006"
GOM_ID, BUYERS = "800", ("801", "802", "803")


@dataclass(frozen=True)
class Harness:
    app: App
    fake: FakeDiscordAPI
    bot: DiscordBot

    @property
    def gw(self) -> Gateway:
        return self.fake.gateway


@asynccontextmanager
async def discord_gomflow(
    backend: str, tmp_path: Path, clock: FrozenClock, *, defer_after: float = 1.5
) -> AsyncIterator[Harness]:
    fake = FakeDiscordAPI(global_limit=(10_000, 1.0))
    await fake.start()
    fake.gateway.add_guild(GUILD, GOM_ID, [CHANNEL, OTHER_CHANNEL])
    url = await fresh_database_url(backend, tmp_path)
    settings = Settings(database_url=url, discord_bot_token=TOKEN, discord_api_base=fake.base_url)
    app = bootstrap(settings, clock=clock, write=lambda _: None)
    await upgrade(app.core.db)
    bot = DiscordBot(
        app.bot,
        TOKEN,
        fake.base_url,
        defer_after=defer_after,
        guild_ready_timeout=0.1,
        channel=app.channels["discord"],
    )
    try:
        async with bot.running():
            yield Harness(app, fake, bot)
    finally:
        await app.core.close()
        await close_all(app.channels)
        for verifier in app.core.channel_verifiers.values():
            await verifier.close()  # type: ignore[attr-defined]
        await fake.stop()
