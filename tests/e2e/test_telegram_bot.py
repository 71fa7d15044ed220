"""The Telegram adapter end to end, through a local fake of the Bot API."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import func, select

from bots.chat import ChatReply
from bots.telegram.adapter import TelegramBot
from bots.telegram.render import render
from channels.telegram import TelegramChannel
from core.clock import FrozenClock
from core.config import Settings, TelegramSettings
from core.db.migrate import upgrade
from core.db.models import Identity, Order
from core.services import reports
from core.services.accounts import register_gom
from main import App, bootstrap
from tests.conftest import open_go, say
from tests.e2e.test_command_line import ROOT, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_handled import HandledUpdates
from tests.telegram_bots import telegram_bot
from web.app import build_web_app
from web.telegram import PATH, SECRET_HEADER, add_telegram_webhook

GINA = FakeTelegram.user(1001, "Gina", "gina_gom")
BOB = FakeTelegram.user(2002, "Bob", "bob")
AMY = FakeTelegram.user(2003, "Amy")
GROUP = -100500


def settings_for(fake: FakeTelegram, **more: str) -> TelegramSettings:
    return TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url, **more)


@pytest.fixture
def handled(fake: FakeTelegram) -> HandledUpdates:
    return HandledUpdates(fake)


@pytest.fixture
async def telegram(app: App, fake: FakeTelegram, handled: HandledUpdates) -> AsyncIterator[TelegramBot]:
    bot = telegram_bot(app.bot, settings_for(fake), retry_base=0.01)
    handled.watch(bot.application)
    async with bot.running():
        yield bot


async def said(fake: FakeTelegram, user: dict[str, object], text: str, chat_id: int | None = None) -> str:
    """Send ``text`` and wait for the bot's next message in that chat; returns its text."""
    chat = chat_id if chat_id is not None else int(str(user["id"]))
    before = len(fake.chat(chat))
    fake.send_text(user, text, chat_id)
    await fake.wait_until(lambda: len(fake.chat(chat)) > before)
    return fake.last(chat).shown


async def tapped(handled: HandledUpdates, user: dict[str, object], chat: int, label: str) -> None:
    """Tap a button on the bot's last message in ``chat`` and wait until the bot has finished
    with the tap: its answer and its edit are both at the fake by then, in whichever order."""
    await handled.update(handled.fake.tap(user, handled.fake.last(chat), label))


async def gom_registered(app: App) -> None:
    await register_gom(app.core.uow(), "telegram", str(GINA["id"]), "Gina")


async def test_a_gom_creates_and_opens_a_go_by_conversation(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    await gom_registered(app)
    assert "Let's set up a group order" in await said(fake, GINA, "/newgo")
    assert "(1/7) Pick a short code" in fake.last(1001).shown
    await said(fake, GINA, "SVT-FML")
    await said(fake, GINA, "Seventeen <FML> & co")
    question = fake.last(1001)
    assert "(3/7)" in question.text and question.button("SGD")
    await tapped(handled, GINA, 1001, "SGD")  # a button where a choice fits; the question is edited in place
    assert "(4/7)" in fake.last(1001).shown and fake.last(1001).message_id == question.message_id
    for answer in ("2", "10", "none"):
        await said(fake, GINA, answer)
    created = await said(fake, GINA, "+3d")
    assert "Created SVT-FML as a draft" in created
    assert "Seventeen <FML> & co" in created and fake.last(1001).parse_mode is None  # plain: sent as is
    await said(fake, GINA, '/additem SVT-FML ALB 25.90 "FML album" versions="A:Faded,B:Misfit"')
    await said(fake, GINA, "/paymethods SVT-FML manual")
    assert "SVT-FML" in await said(fake, GINA, "/open SVT-FML")
    await said(fake, GINA, "/go SVT-FML")
    assert "Seventeen &lt;FML&gt; &amp; co" in fake.last(1001).text and fake.last(1001).parse_mode == "HTML"
    # GOMs get the GOM commands in their own chat's menu; everyone else the buyer ones
    assert {c["command"] for c in fake.commands["chat:1001"]} >= {"newgo", "open", "export", "order"}
    assert "newgo" not in {c["command"] for c in fake.commands["all_private_chats"]}
    assert {c["command"] for c in fake.commands["all_group_chats"]} == {"help", "browse", "go"}
    exported = await said(fake, GINA, "/export SVT-FML")
    document = fake.last(1001).document
    assert document is not None and document[0] == "SVT-FML-orders.csv", exported


async def test_a_buyer_is_answered_and_shown_menus_in_their_telegram_language(
    app: App, fake: FakeTelegram, telegram: TelegramBot
) -> None:
    somchai = {**FakeTelegram.user(2010, "Somchai"), "language_code": "th"}
    answer = await said(fake, somchai, "/language")
    assert (
        app.bot.renderer.translate("I write to you in %(language)s.", "th") % {"language": "ภาษาไทย"}
        in answer
    )
    # every menu in every language gomflow speaks; Filipino under Tagalog's code
    english = {c["command"]: c["description"] for c in fake.commands["all_private_chats"]}
    for code in ("th", "id", "ms", "vi", "tl", "ko", "zh"):
        menu = {c["command"]: c["description"] for c in fake.commands[f"all_private_chats@{code}"]}
        assert menu.keys() == english.keys()
        assert menu["order"] != english["order"], code
        assert {c["command"] for c in fake.commands[f"all_group_chats@{code}"]} == {"help", "browse", "go"}


async def test_a_buyer_orders_by_taps_changes_and_cancels(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    await open_go(app, cap=10, limit=3)
    fake.send_text(BOB, "/start SVT-FML")  # the deep link a GOM posts: t.me/gomflow_bot?start=SVT-FML
    await fake.wait_until(lambda: bool(fake.chat(2002)))
    card = fake.last(2002)
    assert "SVT-FML · Test GO" in card.text and "░" in card.text
    await tapped(handled, BOB, 2002, "Fallen Misfit")
    assert fake.last(2002).message_id == card.message_id  # edited in place, not a new message
    assert "Quantity: 1 (up to 3)" in fake.last(2002).shown
    await tapped(handled, BOB, 2002, "➕")
    await tapped(handled, BOB, 2002, "➕")
    assert "Quantity: 3 (up to 3)" in fake.last(2002).shown
    assert not any(b["text"] == "➕" for b in fake.last(2002).buttons)  # the per-buyer limit
    confirm = fake.last(2002).button("✅ Order 3")
    fake.tap_data(BOB, fake.last(2002), confirm["callback_data"])
    fake.tap_data(BOB, fake.last(2002), confirm["callback_data"])  # a double tap
    await handled.all()  # both taps of the double tap, not merely the first
    summary = fake.last(2002)
    assert "Order placed" in summary.text and "3 × FML album (Fallen Misfit)" in summary.text
    assert len(fake.chat(2002)) == 1
    assert sum("Already on it" in a.get("text", "") for a in fake.answers_to(2002)) == 1
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 1

    await tapped(handled, BOB, 2002, "✏️ Change")
    assert "Changing SVT-FML-1" in fake.last(2002).shown
    await tapped(handled, BOB, 2002, "➖")
    await tapped(handled, BOB, 2002, "Save changes")
    assert "SVT-FML-1" in fake.last(2002).shown and "2 ×" in fake.last(2002).shown

    listing = await said(fake, BOB, "/myorders")
    assert "SVT-FML-1" in listing
    await tapped(handled, BOB, 2002, "Cancel SVT-FML-1")
    assert "Order SVT-FML-1 is cancelled" in fake.last(2002).shown
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(Order.status)) == "cancelled"


async def test_a_go_card_reads_the_go_once_and_a_confirm_tap_goes_to_the_desk_once(
    app: App,
    fake: FakeTelegram,
    telegram: TelegramBot,
    handled: HandledUpdates,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await open_go(app, cap=10)
    await said(fake, BOB, "/go SVT-FML")  # Bob is known from here on
    cards: list[str] = []
    card_of = reports._card

    async def counted_card(uow: Any, go: Any) -> Any:
        cards.append(go.code)
        return await card_of(uow, go)

    monkeypatch.setattr(reports, "_card", counted_card)
    await said(fake, BOB, "/go SVT-FML")
    assert cards == ["SVT-FML"]  # the reply's card and its tap-to-order buttons: one read
    await tapped(handled, BOB, 2002, "Faded Mono Life")
    confirm = fake.last(2002).button("✅ Order 1")
    trips: list[object] = []
    submit = app.core.desk._submit

    async def counted_trip(command: Any) -> Any:
        trips.append(command)
        return await submit(command)

    monkeypatch.setattr(app.core.desk, "_submit", counted_trip)
    await handled.update(fake.tap_data(BOB, fake.last(2002), confirm["callback_data"]))
    assert "Order placed" in fake.last(2002).text
    # recording the update, then the order with its buyer's lookup and the update's mark
    assert [type(t).__name__ for t in trips] == ["RunPlan", "PlaceOrder"]


async def test_stale_buttons_answer_with_an_alert_and_order_nothing(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    await open_go(app, cap=10)
    await said(fake, BOB, "/go SVT-FML")
    await tapped(handled, BOB, 2002, "Faded Mono Life")
    stepper = fake.last(2002)
    await closed_by_the_gom(app)
    answered = len(fake.calls_to("answerCallbackQuery"))
    fake.tap(BOB, stepper, "✅ Order 1")
    await fake.wait_until(lambda: len(fake.calls_to("answerCallbackQuery")) > answered)
    alert = fake.calls_to("answerCallbackQuery")[-1].params
    assert alert["show_alert"] in ("true", True) and "not taking orders" in alert["text"]
    await handled.all()  # the card is shown again after the alert
    assert "Tap an item" not in fake.last(2002).shown  # the card shown again, without order buttons
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 0
    fake.tap_data(BOB, stepper, "t:doesnotexist0000")
    await fake.wait_until(lambda: "expired" in str(fake.calls_to("answerCallbackQuery")[-1].params))


async def test_a_go_that_filled_up_since_the_card_answers_with_an_alert(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    await open_go(app, moq=1, cap=1)
    await said(fake, BOB, "/go SVT-FML")
    await tapped(handled, BOB, 2002, "Faded Mono Life")
    assert "Order placed" in await said(fake, AMY, "/order SVT-FML ALB:B 1")
    await tapped(handled, BOB, 2002, "✅ Order 1")
    alert = fake.answers_to(2002)[-1]
    assert alert["show_alert"] in ("true", True) and "SVT-FML is full" in alert["text"]
    assert "Full now" in fake.last(2002).shown  # the card again, as it is now
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 1


async def closed_by_the_gom(app: App) -> None:
    reply = await say(app, "gina", "/close SVT-FML confirm")
    assert "SVT-FML" in reply.text


async def test_a_price_change_is_shown_before_anything_is_ordered(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    await open_go(app, items=("POB 3 Photocard",))
    await said(fake, BOB, "/go SVT-FML")
    await tapped(handled, BOB, 2002, "Photocard")
    old = fake.last(2002).button("✅ Order 1")["callback_data"]
    fake.tap_data(BOB, fake.last(2002), old.replace(" 300 ", " 250 "))  # priced before a change
    await fake.wait_until(lambda: "price" in str(fake.calls_to("answerCallbackQuery")[-1].params))
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 0


async def test_in_a_group_the_card_links_to_a_private_chat(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    await open_go(app)
    text = await said(fake, BOB, "/go@gomflow_bot SVT-FML", GROUP)
    assert "SVT-FML · Test GO" in text
    buttons = fake.last(GROUP).buttons
    assert buttons == [
        {"text": "🛒 Order in a private chat", "url": "https://t.me/gomflow_bot?start=SVT-FML"}
    ]
    assert "private chat" in await said(fake, BOB, "/order SVT-FML ALB:A 1", GROUP)
    assert "is for GOMs" in await said(fake, BOB, "/close SVT-FML", GROUP)
    fake.send_text(BOB, "just chatting", GROUP)
    fake.send_text(BOB, "/go@other_bot SVT-FML", GROUP)
    await handled.all()
    assert len(fake.chat(GROUP)) == 3  # chatter and other bots' commands get no answer


async def test_a_channel_post_of_go_posts_the_card(
    app: App, fake: FakeTelegram, telegram: TelegramBot
) -> None:
    await open_go(app)
    fake.channel_post(-1009, "SVT updates", "/go SVT-FML")
    await fake.wait_until(lambda: bool(fake.chat(-1009)))
    assert "SVT-FML · Test GO" in fake.last(-1009).shown
    assert fake.last(-1009).buttons[0]["url"] == "https://t.me/gomflow_bot?start=SVT-FML"


async def test_odd_input_gets_a_clear_answer(app: App, fake: FakeTelegram, telegram: TelegramBot) -> None:
    fake.send_sticker(BOB)
    await fake.wait_until(lambda: bool(fake.chat(2002)))
    assert "only read text" in fake.last(2002).shown
    fake.send_photo(BOB, b"\x89PNG not really")  # a photo is read, as a proof of payment
    await fake.wait_until(lambda: len(fake.chat(2002)) == 2)
    assert "Please send the proof as a PNG, JPEG or WebP image" in fake.last(2002).shown
    before = len(fake.chat(2002))
    fake.edit_text(BOB, "/order SVT-FML ALB 1")
    await fake.wait_until(lambda: len(fake.chat(2002)) > before)
    assert "edited" in fake.last(2002).shown
    assert "too long (4,101 characters" in await said(fake, BOB, "x" * 4000 + "\n" + "y" * 100)
    assert "There is no group order NOPE" in await said(fake, BOB, "/go@gomflow_bot NOPE")
    assert "I don't know /" in await said(fake, BOB, "/")


async def test_an_image_reply_goes_as_a_photo_with_its_caption(
    app: App, fake: FakeTelegram, telegram: TelegramBot
) -> None:
    reply = ChatReply("Scan to pay <b>S$25.90</b>", "html", image=b"\x89PNG\r\n fake qr")
    out = await render(app.core, reply, private=True, bot_username=telegram.username)
    await telegram._send(2002, out)
    photo = fake.last(2002)
    assert photo.photo == b"\x89PNG\r\n fake qr" and photo.shown == "Scan to pay S$25.90"


async def test_a_repeated_update_is_processed_once(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    acknowledged = asyncio.Event()

    async def offset_asked(offset: int) -> None:
        if offset > 777:  # both deliveries are recorded (once) before Telegram may forget them
            acknowledged.set()

    fake.on_offset = offset_asked
    update = {"message": {**fake._incoming(BOB, None, text="/help")}}
    fake.push(update, update_id=777)
    fake.push(update, update_id=777)
    await asyncio.wait_for(acknowledged.wait(), 60)
    await handled.update(777)  # the bot has finished with the one delivery it queued
    assert handled.handled[777] == 1
    assert len(fake.calls_to("sendMessage", 2002)) == 1


async def test_a_user_who_blocked_the_bot_is_marked_unreachable(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    fake.blocked.add(2002)
    fake.send_text(BOB, "/help")
    await handled.all()
    assert len(fake.calls_to("sendMessage", 2002)) == 1  # not retried
    assert await reachable(app, "2002") is False
    fake.blocked.clear()  # unblocked, and writing again
    assert "Commands you can use" in await said(fake, BOB, "/help")
    assert await reachable(app, "2002") is True


async def reachable(app: App, external_id: str) -> bool | None:
    async with app.core.reader() as uow:
        return await uow.session.scalar(select(Identity.reachable).where(Identity.external_id == external_id))


async def test_flood_control_and_server_errors_are_retried(
    app: App, fake: FakeTelegram, telegram: TelegramBot
) -> None:
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    fake.fail("sendMessage", 502, "Bad Gateway")
    fake.send_text(BOB, "/help")
    await fake.wait_until(lambda: any(c.status == 200 for c in fake.calls_to("sendMessage", 2002)))
    assert [c.status for c in fake.calls_to("sendMessage", 2002)] == [429, 502, 200]
    gap = fake.calls_to("sendMessage", 2002)[1].at - fake.calls_to("sendMessage", 2002)[0].at
    assert gap >= 0.9  # retry_after honoured


async def test_webhook_mode_accepts_only_the_right_secret(app: App, fake: FakeTelegram) -> None:
    settings = settings_for(
        fake, webhook_url="http://127.0.0.1:0/webhooks/telegram", webhook_secret="s3cret_ok"
    )
    bot = telegram_bot(app.bot, settings)
    web_app = build_web_app(app.core)
    add_telegram_webhook(web_app, settings.secret(), bot.feed)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}{PATH}"
    try:
        async with bot.running():
            assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cret_ok"
            fake.webhook["url"] = url  # where this test's server really listens
            fake.send_text(BOB, "/help")
            await fake.wait_until(lambda: bool(fake.chat(2002)))
            assert "Commands you can use" in fake.last(2002).shown
            async with ClientSession() as client:
                for headers in ({}, {SECRET_HEADER: "wrong"}):
                    async with client.post(url, data=b"{not json", headers=headers) as response:
                        assert response.status == 403
                async with client.post(
                    url, data=b"{not json", headers={SECRET_HEADER: "s3cret_ok"}
                ) as response:
                    assert response.status == 400
            assert fake.webhook_statuses == [200]
            assert not fake.calls_to("getUpdates")
    finally:
        await runner.cleanup()


async def test_two_hundred_buyers_at_once_never_oversell(any_app: App, fake: FakeTelegram) -> None:
    """Half the buyers type /order, half tap confirm (twice) on a card they were shown."""
    bot = telegram_bot(any_app.bot, settings_for(fake), retry_base=0.01)
    handled = HandledUpdates(fake)
    handled.watch(bot.application)
    async with bot.running():
        await a_drop(any_app, fake, handled)


async def a_drop(app: App, fake: FakeTelegram, handled: HandledUpdates) -> None:
    await open_go(app, cap=50, items=("ALB 25.90 Album",))
    fake.enforce_limits = True  # 30 messages a second: the bot must wait as told, and lose nothing
    typists = [FakeTelegram.user(50_000 + n, f"Fan {n}") for n in range(100)]
    tappers = [FakeTelegram.user(60_000 + n, f"Tapper {n}") for n in range(100)]
    shown = {int(str(t["id"])): fake.show(int(str(t["id"])), "ALB × 1") for t in tappers}
    for typist, tapper in zip(typists, tappers, strict=True):
        fake.send_text(typist, "/order SVT-FML ALB 1")
        message = shown[int(str(tapper["id"]))]
        fake.tap_data(tapper, message, f"o:cf SVT-FML ALB 1 2590 n{tapper['id']}")
        fake.tap_data(tapper, message, f"o:cf SVT-FML ALB 1 2590 n{tapper['id']}")  # a double tap
    # wait for what arrived, not for attempts: a reply told to retry after 429 is still on its way
    await fake.wait_until(
        lambda: (
            all(fake.chat(int(str(t["id"]))) for t in typists)
            and sum(len(fake.answers_to(int(str(t["id"])))) for t in tappers) >= 200
        ),
        timeout=90,
    )
    await handled.all(timeout=90)  # every update finished with, double taps included
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 50
        assert await uow.session.scalar(select(func.sum(Order.units))) == 50
    typed = [fake.chat(int(str(t["id"]))) for t in typists]
    assert all(len(answer) == 1 for answer in typed)  # exactly one final answer each
    placed = sum("Order placed" in answer[0].shown for answer in typed)
    for tapper in tappers:
        chat = int(str(tapper["id"]))
        answers = fake.answers_to(chat)
        assert len(answers) == 2 and sum("Already on it" in a.get("text", "") for a in answers) == 1
        final = fake.chat(chat)[0]
        assert final.edits == 1  # the one message, edited once: a summary, or the card again
        if "Order placed" in final.shown:
            placed += 1
        else:
            assert any(a.get("show_alert") in ("true", True) for a in answers), answers
    assert placed == 50  # and when flood control answered 429 (fake.violations), replies still arrived


def test_settings_come_from_the_environment() -> None:
    settings = TelegramSettings.from_env(
        {"TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot"}
    )
    assert settings.method_url("getMe") == "http://127.0.0.1:8081/bot1:abc/getMe"
    assert settings.file_base_url == "http://127.0.0.1:8081/file/bot"
    assert settings.webhook_url is None and len(settings.secret()) == 48
    assert replace(settings, webhook_secret="x").secret() == "x"
    assert TelegramSettings.from_env({}).bot_token is None


async def test_notifications_from_the_outbox_reach_telegram_users(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> None:
    settings = settings_for(fake)
    telegram_app = bootstrap(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gomflow.db"), clock=clock, telegram=settings
    )
    assert isinstance(telegram_app.channels["telegram"], TelegramChannel)
    bot = telegram_bot(telegram_app.bot, settings, retry_base=0.01)
    try:
        await upgrade(telegram_app.core.db)
        await open_go(telegram_app, moq=1, cap=1, items=("ALB 25.90 Album",))
        async with bot.running():
            assert "Order placed" in await said(fake, BOB, "/order SVT-FML ALB 1")
            assert "full" in await said(fake, AMY, "/order SVT-FML ALB 1")
            assert "#1" in await said(fake, AMY, "/waitlist SVT-FML ALB 1")
            await said(fake, BOB, "/cancel SVT-FML-1")
            assert await telegram_app.dispatcher.run_once() >= 1
            assert "A slot freed up in SVT-FML" in fake.last(2003).shown
    finally:
        await telegram_app.channels["telegram"].close()  # type: ignore[attr-defined]
        await telegram_app.core.close()


@pytest.mark.parametrize("mode", ["long polling", "webhook"])
async def test_gomflow_run_starts_the_telegram_adapter(fake: FakeTelegram, tmp_path: Path, mode: str) -> None:
    port = free_port()
    env = dict(
        os.environ,
        GOMFLOW_HTTP_PORT=str(port),
        GOMFLOW_DATABASE_URL=f"sqlite:///{tmp_path}/run.db",
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.base_url,
    )
    if mode == "webhook":
        env["TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{port}{PATH}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "main.py"),
        "run",
        "--no-console",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        started = "setWebhook" if mode == "webhook" else "getUpdates"
        await fake.wait_until(lambda: bool(fake.calls_to(started)), timeout=60)
        assert "Commands you can use" in await said(fake, BOB, "/help")
    finally:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), 30)
    log = err.decode()
    assert f"Telegram adapter started as @gomflow_bot ({mode})" in log, log
    assert (fake.webhook_statuses == [200]) == (mode == "webhook")
    assert "Traceback" not in log and process.returncode == 0, log


async def test_a_helper_gets_the_gom_menu_while_the_bot_runs_and_loses_it_when_removed(
    app: App, fake: FakeTelegram, telegram: TelegramBot
) -> None:
    await gom_registered(app)
    hana = FakeTelegram.user(3003, "Hana", "hana")
    await said(fake, hana, "/start")
    assert "chat:3003" not in fake.commands
    assert "can now help" in await said(fake, GINA, "/helper add @hana")
    await said(fake, hana, "/help")
    assert {c["command"] for c in fake.commands["chat:3003"]} >= {"orders", "export"}
    assert "no longer helps" in await said(fake, GINA, "/helper remove @hana")
    await said(fake, hana, "/help")
    assert "chat:3003" not in fake.commands


async def test_a_buyer_at_their_limit_is_offered_no_item_and_the_stepper_stops_at_what_is_left(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    await open_go(app, cap=10, limit=3)
    assert "Order placed" in await said(fake, BOB, "/order SVT-FML ALB:A 2")
    await said(fake, BOB, "/go SVT-FML")
    await tapped(handled, BOB, 2002, "Fallen Misfit")
    assert "Quantity: 1 (up to 1)" in fake.last(2002).shown  # 3 per buyer, 2 held
    assert not any(b["text"] == "➕" for b in fake.last(2002).buttons)
    await tapped(handled, BOB, 2002, "✅ Order 1")
    assert "Order placed" in fake.last(2002).shown
    card = await said(fake, BOB, "/go SVT-FML")
    assert "SVT-FML" in card
    assert not any("Faded Mono Life" in b["text"] for b in fake.last(2002).buttons)
    assert any("Refresh" in b["text"] for b in fake.last(2002).buttons)
    await said(fake, AMY, "/go SVT-FML")  # another buyer still has both versions
    assert sum("FML album" in b["text"] for b in fake.last(2003).buttons) == 2


async def test_a_sold_out_item_has_no_button_and_a_stale_pick_is_told_so(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    await open_go(app, cap=10, items=('POB 3 "Photocard" stock=1', 'TOTE 9 "Tote bag"'))
    await said(fake, BOB, "/go SVT-FML")
    stale = fake.last(2002)
    assert "Order placed" in await said(fake, AMY, "/order SVT-FML POB 1")
    await handled.update(fake.tap(BOB, stale, "Photocard"))
    alert = fake.answers_to(2002)[-1]
    assert alert["show_alert"] in ("true", True) and "Photocard is sold out" in alert["text"]
    labels = [b["text"] for b in fake.last(2002).buttons]
    assert not any("Photocard" in label for label in labels) and any("Tote bag" in label for label in labels)


async def test_an_order_by_command_looks_its_sender_up_once(
    app: App, fake: FakeTelegram, telegram: TelegramBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A known buyer's /order costs two trips to the order desk: who they are, and the order."""
    await open_go(app, cap=10)
    assert "SVT-FML" in await said(fake, BOB, "/go SVT-FML")  # Bob is known from here on
    desk = app.core.desk
    trips: list[str] = []
    real_run, real_place = desk.run, desk.place

    async def run(plan: Any) -> Any:
        trips.append(getattr(plan, "__qualname__", "run"))
        return await real_run(plan)

    async def place(command: Any) -> Any:
        trips.append("place")
        return await real_place(command)

    monkeypatch.setattr(desk, "run", run)
    monkeypatch.setattr(desk, "place", place)
    assert "Order placed" in await said(fake, BOB, "/order SVT-FML ALB:A 1")
    assert trips.count("place") == 1
    assert len([t for t in trips if "identify" in t]) == 1, trips


async def test_a_first_tap_to_order_in_a_go_with_rules_shows_them_and_i_agree_places_it(
    app: App, fake: FakeTelegram, telegram: TelegramBot, handled: HandledUpdates
) -> None:
    await open_go(app, cap=10)
    assert "Saved" in (await say(app, "gina", "/policy SVT-FML late_fee=0.50 grace=1d")).text
    await said(fake, BOB, "/go SVT-FML")
    await tapped(handled, BOB, 2002, "Faded Mono Life")
    await tapped(handled, BOB, 2002, "✅ Order 1")
    asked = fake.last(2002).shown
    assert "Before your first order in SVT-FML" in asked and "S$0.50 for each day" in asked
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 0
    await tapped(handled, BOB, 2002, "✅ I agree")
    await fake.wait_until(lambda: "Order placed" in fake.last(2002).shown)
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 1
