"""Discord's outbound transport against the loopback fake's rate limits and refusals:
a 429 on one channel's route and a global 429 are raised with Discord's ``retry_after``
(and whether the whole platform must wait), and a user with DMs closed (50007) is given up.
And ``gomflow discord sync`` publishes the slash commands from the command line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from channels.base import DeliveryError, RecipientUnreachable
from channels.discord import DiscordChannel
from core.render import Rendered
from tests.fakes.discord_api import TOKEN, FakeDiscordAPI

GUILD = "700000000000000007"
CHANNEL_A, CHANNEL_B = "channel:500000000000000005", "channel:500000000000000006"


async def test_a_429_on_one_channels_route_waits_that_chat_only() -> None:
    fake = FakeDiscordAPI(channel_limit=(1, 60.0))
    await fake.start()
    channel = DiscordChannel(TOKEN, fake.base_url)
    try:
        await channel.send(CHANNEL_A, Rendered("Restock!"))
        with pytest.raises(DeliveryError) as refused:
            await channel.send(CHANNEL_A, Rendered("Restock again!"))
        assert refused.value.scope == "chat" and 50 < (refused.value.retry_after or 0) <= 60
        await channel.send(CHANNEL_B, Rendered("Elsewhere"))  # another route is not held up
    finally:
        await channel.close()
        await fake.stop()
    assert [c for c, _ in fake.delivered] == [CHANNEL_A[8:], CHANNEL_B[8:]] and fake.violations == 1


async def test_a_global_429_holds_up_the_whole_platform() -> None:
    fake = FakeDiscordAPI(global_limit=(1, 60.0))
    await fake.start()
    channel = DiscordChannel(TOKEN, fake.base_url)
    try:
        await channel.send(CHANNEL_A, Rendered("Restock!"))
        with pytest.raises(DeliveryError) as refused:
            await channel.send(CHANNEL_B, Rendered("Elsewhere"))
    finally:
        await channel.close()
        await fake.stop()
    assert refused.value.scope == "channel" and 50 < (refused.value.retry_after or 0) <= 60
    assert len(fake.delivered) == 1


async def test_a_user_with_dms_closed_is_given_up_not_retried() -> None:
    fake = FakeDiscordAPI(blocked_users={"101"})
    await fake.start()
    channel = DiscordChannel(TOKEN, fake.base_url)
    try:
        with pytest.raises(RecipientUnreachable, match="50007"):
            await channel.send("101", Rendered("Your order shipped"))
    finally:
        await channel.close()
        await fake.stop()
    assert fake.delivered == []


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
