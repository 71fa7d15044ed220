"""Telegram's and Discord's transports edit a message they sent, in the platforms' own
calls (editMessageText; PATCH /channels/{id}/messages/{id}) against the loopback fakes: a
long message is several, each edited in place, more parts are sent below and parts left
over are emptied; an edit that changes nothing succeeds; a deleted message is sent anew.
And a masterlist posted to a Discord channel is one message, edited as orders come; one in
several messages books the group's rate limit for each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from channels.base import Channel, DeliveryError, EditingChannel
from channels.discord import DiscordChannel
from channels.dispatcher import Dispatcher
from channels.telegram import TelegramChannel
from core.config import TelegramSettings
from core.quantities import LineRequest
from core.render import Rendered
from core.services import ordering
from main import App
from platforms import rate_limits
from tests.conftest import buyer, open_go, say
from tests.fakes.discord_api import TOKEN, FakeDiscordAPI
from tests.fakes.telegram_api import FakeTelegram
from tests.integration.test_masterlist import CODE, order
from tests.integration.test_masterlist_posts import link_group

CHAT = "-1001234"
CHANNEL = "500000000000000005"


def lines(count: int, word: str = "line") -> Rendered:
    return Rendered("\n".join(f"{word} {n:04d} " + "x" * 90 for n in range(count)))


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, TelegramChannel]]:
    fake = FakeTelegram()
    await fake.start()
    channel = TelegramChannel(TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url))
    yield fake, channel
    await channel.close()
    await fake.stop()


@pytest.fixture
async def discord() -> AsyncIterator[tuple[FakeDiscordAPI, DiscordChannel]]:
    fake = FakeDiscordAPI(channel_limit=(50, 1.0))
    await fake.start()
    channel = DiscordChannel(TOKEN, fake.base_url)
    yield fake, channel
    await channel.close()
    await fake.stop()


async def test_telegram_edits_each_part_in_place_and_grows_and_shrinks(
    telegram: tuple[FakeTelegram, TelegramChannel],
) -> None:
    fake, channel = telegram
    assert isinstance(channel, EditingChannel)
    ids = await channel.post(CHAT, Rendered("<b>Masterlist</b> &amp; more", "html"))
    assert ids == ["1"] and fake.chat(int(CHAT))[0].shown == "Masterlist & more"

    grown = await channel.edit(CHAT, ids, lines(80))  # about 7,900 characters: two messages
    first, second = fake.chat(int(CHAT))
    assert grown == ["1", "2"] and first.edits == 1 and second.edits == 0
    assert len(first.text) <= 4096 and "line 0079" in second.text

    again = await channel.edit(CHAT, grown, lines(80))  # Telegram: "message is not modified"
    assert again == grown and first.edits == 1

    shrunk = await channel.edit(CHAT, grown, Rendered("short"))
    assert shrunk == ["1", "2"] and first.text == "short" and second.text == "⋯"
    assert [c.method for c in fake.calls].count("sendMessage") == 2


async def test_telegram_sends_anew_a_message_that_was_deleted_and_retries_flood_control(
    telegram: tuple[FakeTelegram, TelegramChannel],
) -> None:
    fake, channel = telegram
    ids = await channel.post(CHAT, lines(80))
    del fake.messages[(int(CHAT), 1)]
    shown = await channel.edit(CHAT, ids, lines(80, "row"))
    assert shown == ["3", "2"] and "row 0000" in fake.messages[(int(CHAT), 3)].text
    fake.fail("editMessageText", 429, "Too Many Requests: retry after 5", retry_after=5)
    with pytest.raises(DeliveryError) as flood:
        await channel.edit(CHAT, shown, Rendered("later"))
    assert flood.value.retry_after == 5


async def test_discord_edits_with_patch_in_parts_of_2000_and_sends_a_deleted_one_anew(
    discord: tuple[FakeDiscordAPI, DiscordChannel],
) -> None:
    fake, channel = discord
    assert isinstance(channel, EditingChannel)
    address = f"channel:{CHANNEL}"
    ids = await channel.post(address, lines(30), key="gf12-abc")  # about 3,000 characters
    assert len(ids) == 2 and all(len(text) <= 2000 for text in fake.shown_in(CHANNEL))
    assert [p.get("nonce") for p in fake.payloads] == ["gf12-abc", "gf12-abc.1"]
    assert all(p["allowed_mentions"] == {"parse": []} for p in fake.payloads)

    shrunk = await channel.edit(address, ids, Rendered("@everyone short"))
    assert shrunk == ids and fake.shown_in(CHANNEL) == ["@everyone short", "⋯"]
    assert fake.edits == {ids[0]: 1, ids[1]: 1}

    del fake.messages[ids[0]]
    again = await channel.edit(address, shrunk, Rendered("back"), key="gf13-abc")
    assert again[0] not in ids and again[1] == ids[1] and fake.messages[again[0]]["content"] == "back"


async def test_a_masterlist_posted_to_discord_is_one_message_edited_as_orders_come(app: App) -> None:
    await open_go(app, cap=20)
    await link_group(app, "discord", f"channel:{CHANNEL}")
    fake = FakeDiscordAPI(channel_limit=(50, 1.0))
    await fake.start()
    channel = DiscordChannel(TOKEN, fake.base_url)
    channels: dict[str, Channel] = {**app.channels, "discord": channel}
    dispatcher = Dispatcher(app.core, app.bot.renderer, channels)
    try:
        await say(app, "gina", "/nickname Gina_the_GOM")  # refused: no markup in nicknames
        await say(app, "bob", "/nickname Bob*by")
        await say(app, "bob", "/nickname Bobby")
        await say(app, "gina", f"/masterlist {CODE} post")
        await dispatcher.run_once()
        for who in ("bob", "amy", "cho"):
            await order(app, who)
            await app.ticker.tick()
            await dispatcher.run_once()
    finally:
        await channel.close()
        await fake.stop()
    lists = [m for m in fake.messages.values() if "masterlist" in m["content"]]
    assert len(lists) == 1 and fake.edits[lists[0]["id"]] == 3
    assert r"1\. **Bobby**" in lists[0]["content"] and r"3\. **Buyer \#3**" in lists[0]["content"]


async def test_a_list_in_several_messages_books_the_groups_limit_for_each(app: App) -> None:
    long_name = "Seventeen 12th Mini Album FML " * 5  # about 250 characters a line of the list
    await open_go(app, cap=200, items=(f'ALB 25.90 "{long_name.strip()}" versions="A:Faded,B:Fallen"',))
    await link_group(app, "telegram", CHAT)
    actors = await asyncio.gather(*(buyer(app, f"fan{n}") for n in range(25)))
    both = [LineRequest("ALB", "A", 1), LineRequest("ALB", "B", 1)]
    await asyncio.gather(*(ordering.place_order(app.core.uow(), a, CODE, both) for a in actors))
    fake = FakeTelegram()
    await fake.start()
    channel = TelegramChannel(TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url))
    limits = rate_limits()
    dispatcher = Dispatcher(app.core, app.bot.renderer, {**app.channels, "telegram": channel}, limits=limits)
    try:
        await say(app, "gina", f"/masterlist {CODE} post")
        started = time.monotonic()
        await dispatcher.run_once()
        sent = fake.chat(int(CHAT))  # the list, in parts
        booked = dispatcher.limiter.chat_free_at("telegram", CHAT, True) - started
    finally:
        await channel.close()
        await fake.stop()
    per_group = limits["telegram"].per_group
    assert per_group is not None and len(sent) >= 3
    # the next message to the group waits for a turn after every part, not after the first
    assert booked >= per_group.spacing * len(sent) - 0.5
