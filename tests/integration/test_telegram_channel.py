"""The outbox's Telegram transport, the callback codec and the fake Bot API's limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bots.chat import Button, ChatReply
from bots.telegram import codec
from bots.telegram.render import render
from channels.base import DeliveryError, RecipientUnreachable
from channels.telegram import TelegramChannel
from core.config import TelegramSettings
from core.render import Rendered, html_balanced, split_text
from main import App
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def channel(fake: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    channel = TelegramChannel(TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url))
    yield channel
    await channel.close()


async def test_sends_html_and_splits_long_messages_at_line_breaks(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    await channel.send("42", Rendered("<b>Hi</b> &amp; welcome", "html"))
    lines = "\n".join(f"line {n:05d} " + "x" * 80 for n in range(100))  # about 9,000 characters
    await channel.send("42", Rendered(lines))
    sent = fake.chat(42)
    assert sent[0].parse_mode == "HTML" and sent[0].shown == "Hi & welcome"
    assert len(sent) == 4 and all(len(m.text) <= 4096 for m in sent[1:])
    assert "\n".join(m.text for m in sent[1:]) == lines


async def test_flood_control_and_server_errors_are_retryable(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(DeliveryError) as flood:
        await channel.send("42", Rendered("hello"))
    assert flood.value.retry_after == 7
    fake.fail("sendMessage", 500, "Internal Server Error")
    with pytest.raises(DeliveryError) as broken:
        await channel.send("42", Rendered("hello"))
    assert broken.value.retry_after is None


async def test_blocked_users_and_missing_chats_are_unreachable(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    fake.blocked.add(42)
    with pytest.raises(RecipientUnreachable, match="blocked"):
        await channel.send("42", Rendered("hello"))
    fake.fail("sendMessage", 400, "Bad Request: chat not found")
    with pytest.raises(RecipientUnreachable):
        await channel.send("43", Rendered("hello"))


async def test_an_unreachable_api_is_retryable() -> None:
    channel = TelegramChannel(TelegramSettings(bot_token="1:x", api_base_url="http://127.0.0.1:9/bot"))
    with pytest.raises(DeliveryError, match="unreachable"):
        await channel.send("42", Rendered("hello"))
    await channel.close()


async def test_the_fake_enforces_telegrams_limits_when_asked(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    fake.enforce_limits = True
    await channel.send("42", Rendered("one"))
    with pytest.raises(DeliveryError) as too_fast:
        await channel.send("42", Rendered("two"))  # a second message to one private chat within a second
    assert too_fast.value.retry_after == 1
    for n in range(20):
        await channel.send("-100", Rendered(f"group {n}"))
    with pytest.raises(DeliveryError):
        await channel.send("-100", Rendered("the 21st in a minute"))
    results = await asyncio.gather(
        *(channel.send(str(1000 + n), Rendered("hi")) for n in range(40)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, DeliveryError)]
    assert len(refused) >= 10  # 30 a second overall
    assert fake.violations == 2 + len(refused)


async def test_callback_data_never_exceeds_64_bytes(app: App) -> None:
    short = "c:/go SVT-FML"
    assert await codec.encode(app.core, short) == short
    for payload in ("c:/order " + "VERY-LONG-CODE-1234 " * 5 + "ALB:A 1", "c:/go " + "세븐틴" * 20):
        data = await codec.encode(app.core, payload)
        assert len(data.encode()) <= 64 and data.startswith("t:")
        assert await codec.encode(app.core, payload) == data  # stored once, same token
        assert await codec.decode(app.core, data) == payload
    assert await codec.decode(app.core, "t:unknown") is None


async def test_a_long_reply_is_split_and_keeps_its_buttons_for_the_end(app: App) -> None:
    text = "\n".join(f"• order {n}: " + "<b>x</b> " * 40 for n in range(60))
    reply = ChatReply(text, "html", [[Button("Cancel SVT-FML-1", command="/cancel SVT-FML-1")]])
    out = await render(app.core, reply, private=True, bot_username="gomflow_bot")
    assert len(out.parts) >= 4 and all(len(part) <= 4096 for part in out.parts)
    assert all(part.count("<b>") == part.count("</b>") for part in out.parts)  # cut between lines only
    assert out.parse_mode == "HTML" and out.keyboard is not None
    labels = [button.text for row in out.keyboard.inline_keyboard for button in row]
    assert labels == ["Cancel SVT-FML-1", "✏️ Change"]
    in_group = await render(app.core, reply, private=False, bot_username="gomflow_bot")
    assert in_group.keyboard is None  # nothing personal in a group


def test_split_text_cuts_at_line_breaks_then_spaces() -> None:
    assert split_text("short", 4096) == ["short"]
    assert split_text("aaa\nbbb\nccc", 7) == ["aaa\nbbb", "ccc"]
    assert split_text("word " * 5, 12) == ["word word", "word word", "word "]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


async def test_a_cut_inside_a_tag_falls_back_to_plain_text(app: App) -> None:
    description = "<i>" + "\n".join("a line of the description &amp; more" for _ in range(200)) + "</i>"
    out = await render(app.core, ChatReply(description, "html"), private=True, bot_username="gomflow_bot")
    assert out.parse_mode is None and len(out.parts) >= 2
    assert "<i>" not in out.parts[0] and "description & more" in out.parts[0]
    assert html_balanced("<b>a</b> <code>x</code>")
    assert not html_balanced("<b>a") and not html_balanced("<i>a</b>")
