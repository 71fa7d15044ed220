"""Discord's outbound transport against the loopback fake's rate limits and refusals:
a route's bucket that Discord says is spent is waited out before it refuses; a 429 on one
channel's route and a global 429 are raised at once with Discord's ``retry_after`` (and
whether the whole platform must wait), as are server errors, for the dispatcher to retry;
a user with DMs closed (50007) is given up; the bot and the outbox share one discord.py
session. And ``gomflow discord sync`` publishes the slash commands from the command line."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from channels.base import DeliveryError, RecipientUnreachable
from channels.discord import DiscordChannel
from core.clock import FrozenClock
from core.render import Rendered
from templates import JinjaRenderer
from tests.fakes.discord_api import TOKEN, FakeDiscordAPI
from tests.integration.discord_harness import discord_gomflow

GUILD = "700000000000000007"
CHANNEL_A, CHANNEL_B = "channel:500000000000000005", "channel:500000000000000006"


@asynccontextmanager
async def transport(**fake_options: Any) -> AsyncIterator[tuple[FakeDiscordAPI, DiscordChannel]]:
    """The fake with ``fake_options`` and a transport of its own (no bot running)."""
    fake = FakeDiscordAPI(**fake_options)
    await fake.start()
    channel = DiscordChannel(TOKEN, fake.base_url)
    try:
        yield fake, channel
    finally:
        await channel.close()
        await fake.stop()


async def test_a_429_on_one_channels_route_waits_that_chat_only() -> None:
    async with transport(channel_limit=(1, 60.0)) as (fake, channel):
        await channel.send(CHANNEL_A, Rendered("Restock!"))
        with pytest.raises(DeliveryError) as refused:
            await channel.send(CHANNEL_A, Rendered("Restock again!"))
        assert refused.value.scope == "chat" and 50 < (refused.value.retry_after or 0) <= 60
        await channel.send(CHANNEL_B, Rendered("Elsewhere"))  # another route is not held up
    assert [c for c, _ in fake.delivered] == [CHANNEL_A[8:], CHANNEL_B[8:]] and fake.violations == 1


async def test_a_spent_bucket_is_waited_out_instead_of_running_into_a_429() -> None:
    async with transport(channel_limit=(2, 1.0)) as (fake, channel):
        for n in range(5):
            await channel.send(CHANNEL_A, Rendered(f"Update {n}"))
    assert [text for _, text in fake.delivered] == [f"Update {n}" for n in range(5)]
    assert fake.violations == 0


@pytest.mark.parametrize("window", [4.0, 60.0])
async def test_a_global_429_is_handed_to_the_dispatcher_to_hold_up_the_platform(window: float) -> None:
    """However short the wait, it is the dispatcher's: the transport does not sleep it out."""
    async with transport(global_limit=(1, window)) as (fake, channel):
        await channel.send(CHANNEL_A, Rendered("Restock!"))
        with pytest.raises(DeliveryError) as refused:
            await channel.send(CHANNEL_B, Rendered("Elsewhere"))
    assert refused.value.scope == "channel" and window / 2 < (refused.value.retry_after or 0) <= window
    assert len(fake.delivered) == 1 and fake.requests == 2


async def test_server_errors_and_dropped_connections_are_raised_at_once_for_the_dispatcher() -> None:
    async with transport(fault_rate=1.0) as (fake, channel):
        for n in range(6):
            with pytest.raises(DeliveryError):
                await channel.send(CHANNEL_A, Rendered(f"Update {n}"))
    assert fake.requests == fake.faults == 6 and fake.delivered == []  # one request each, no retry


async def test_a_user_with_dms_closed_is_given_up_not_retried() -> None:
    async with transport(blocked_users={"101"}) as (fake, channel):
        with pytest.raises(RecipientUnreachable, match="50007"):
            await channel.send("101", Rendered("Your order shipped"))
    assert fake.delivered == [] and fake.requests == 2  # the DM opened, the message refused once


async def test_a_token_discord_refuses_is_a_delivery_error_to_retry_not_a_crash() -> None:
    fake = FakeDiscordAPI()
    await fake.start()
    channel = DiscordChannel("not-the-token", fake.base_url)
    try:
        with pytest.raises(DeliveryError, match="401"):
            await channel.send(CHANNEL_A, Rendered("Restock!"))
    finally:
        await channel.close()
        await fake.stop()
    assert fake.delivered == []


async def test_the_bot_and_the_outbox_send_through_one_discord_session(
    tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow("sqlite", tmp_path, clock) as h:
        channel = h.app.channels["discord"]
        assert isinstance(channel, DiscordChannel)
        await channel.send("801", Rendered("Your order shipped"))
        await channel.send(CHANNEL_A, Rendered("Restock!"))
        assert channel.http is h.bot.client.http
        assert h.gw.logins == 1  # the bot's login; the outbox opened no session of its own
        delivered = list(h.fake.delivered)
    assert delivered == [("dm801", "Your order shipped"), (CHANNEL_A[8:], "Restock!")]


async def test_the_outbox_opens_its_own_session_when_the_bot_is_not_running() -> None:
    async with transport() as (fake, channel):
        await channel.send(CHANNEL_A, Rendered("Restock!"))
        await channel.send(CHANNEL_B, Rendered("Elsewhere"))
    assert fake.gateway.logins == 1 and len(fake.delivered) == 2


async def test_gomflow_discord_sync_publishes_the_commands_from_the_command_line(
    tmp_path: Path,
) -> None:
    fake = FakeDiscordAPI()
    await fake.start()
    env = {**os.environ, "DISCORD_BOT_TOKEN": TOKEN, "DISCORD_API_BASE": fake.base_url}
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from main import cli; cli()",
            "discord",
            "sync",
            "--guild",
            GUILD,
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
    finally:
        await fake.stop()
    assert process.returncode == 0, err.decode()
    assert f"to server {GUILD}" in out.decode()
    assert "order" in {c["name"] for c in fake.gateway.synced[GUILD]} and "global" not in fake.gateway.synced
    # described in each language Discord and gomflow both have; named in English everywhere
    [order] = [c for c in fake.gateway.synced[GUILD] if c["name"] == "order"]
    localized = order["description_localizations"]
    assert localized.keys() == {"id", "th", "vi", "ko", "zh-CN"}
    assert localized["th"] == JinjaRenderer().translate(order["description"], "th") != order["description"]
    assert "name_localizations" not in order
    # so are the options gomflow words; an option read from a usage's own words stays as typed
    [code] = [o for o in order["options"] if o["name"] == "code"]
    assert code["description_localizations"]["ko"] == JinjaRenderer().translate(code["description"], "ko")
    assert code["description_localizations"]["ko"] != code["description"]
    [status] = [c for c in fake.gateway.synced[GUILD] if c["name"] == "status"]
    [choice] = [o for o in status["options"] if o["name"] == "status"]
    assert "description_localizations" not in choice
