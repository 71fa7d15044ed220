"""A repeated inbound id is recognised, on every backend, even when repeats race."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import func, select, text
from telegram import Update

from bots.chat import ChatRequest
from bots.dispatch import handle
from core import inbound
from core.config import TelegramSettings
from core.db.models import AuditEntry, InboundUpdate, Order, Payment
from core.errors import AlreadyHandled
from core.inbound import claim_delivery, unhandled_inbound
from core.quantities import LineRequest
from core.services import ordering, telegram_payments
from core.services.accounts import identify
from main import App
from tests.conftest import buyer, open_go, say
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_handled import HandledUpdates
from tests.telegram_bots import telegram_bot
from web.app import build_web_app
from web.telegram import PATH, SECRET_HEADER, add_telegram_webhook

BOB = FakeTelegram.user(2002, "Bob", "bob")
AMY = FakeTelegram.user(2003, "Amy")


async def test_each_inbound_id_is_claimed_exactly_once(any_app: App) -> None:
    results = await asyncio.gather(
        *(claim_delivery(any_app.core.uow(), "telegram", "update-7") for _ in range(20))
    )
    assert results.count(True) == 1
    assert await claim_delivery(any_app.core.uow(), "telegram", "update-8") is True
    assert await claim_delivery(any_app.core.uow(), "stripe", "update-7") is True  # ids are per source


async def test_a_claimed_order_is_placed_once_and_a_used_button_says_so(any_app: App) -> None:
    """The claim rides with the order: placed or refused, the second use is answered as a repeat."""
    from core.errors import AlreadyClaimed, OutOfStock
    from core.quantities import LineRequest
    from core.services import ordering
    from tests.conftest import buyer, open_go

    await open_go(any_app, items=('POB 3 "Photocard" stock=1',))
    bob, amy = await buyer(any_app, "bob"), await buyer(any_app, "amy")
    line = [LineRequest("POB", None, 1)]
    first, second = await asyncio.gather(
        ordering.place_order(any_app.core.uow(), bob, "SVT-FML", line, claim=("tap", "b1")),
        ordering.place_order(any_app.core.uow(), bob, "SVT-FML", line, claim=("tap", "b1")),
        return_exceptions=True,
    )
    assert not isinstance(first, Exception) and isinstance(second, AlreadyClaimed)
    with pytest.raises(OutOfStock):
        await ordering.place_order(any_app.core.uow(), amy, "SVT-FML", line, claim=("tap", "a1"))
    with pytest.raises(AlreadyClaimed, match="Already on it"):
        await ordering.place_order(any_app.core.uow(), amy, "SVT-FML", line, claim=("tap", "a1"))


# ---------------------------------------------------------------------- durable updates


def telegram_settings(fake: FakeTelegram, **more: str) -> TelegramSettings:
    return TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url, **more)


async def inbound_rows(app: App) -> dict[str, datetime | None]:
    """external id → handled_at, for every recorded Telegram update."""
    async with app.core.reader() as uow:
        rows = await uow.session.execute(
            select(InboundUpdate.external_id, InboundUpdate.handled_at).where(
                InboundUpdate.source == "telegram"
            )
        )
        return {external_id: handled_at for external_id, handled_at in rows}


async def count(app: App, model: type[object], *where: Any) -> int:
    async with app.core.reader() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def all_handled(app: App) -> bool:
    async with app.core.reader() as uow:
        return await unhandled_inbound(uow.session) == 0


async def test_a_second_handling_of_an_update_answers_nothing(any_app: App) -> None:
    """A worker catching up at start on an update another worker is handling (or two on one
    redelivery): the one that loses takes no effect, and says nothing to the buyer."""
    await open_go(any_app)
    assert await inbound.record(any_app.core.desk, "console", [("77", "{}")]) == [True]
    order = ChatRequest("console", "bob", "bob", "/order SVT-FML ALB:A 1", handle="bob", chat_id="bob")
    with inbound.handling("console", "77"):
        first = await handle(any_app.bot, order)
    with inbound.handling("console", "77"):
        again = await handle(any_app.bot, order)
    assert "Order placed" in first.text and not first.unanswered
    assert again.unanswered and again.text == "" and again.buttons == []
    assert await count(any_app, Order) == 1


async def test_an_update_handled_twice_at_once_takes_effect_once(any_app: App) -> None:
    """Two workers on one recorded update (a replay racing a live handling): the mark
    commits with the first effect, and the other one's writes roll back — whether the
    effect is an order (the desk's batch) or any unit of work, or one of each."""
    await open_go(any_app)
    bob = await buyer(any_app, "bob")
    ids = [("41", "{}"), ("42", "{}"), ("43", "{}")]
    assert await inbound.record(any_app.core.desk, "telegram", ids) == [True, True, True]
    assert await inbound.record(any_app.core.desk, "telegram", [("41", "{}")]) == [False]  # a redelivery

    async def order(update_id: str) -> object:
        with inbound.handling("telegram", update_id):
            return await ordering.place_order(
                any_app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 1)]
            )

    async def audited(update_id: str) -> None:
        with inbound.handling("telegram", update_id):
            async with any_app.core.uow() as uow:
                uow.audit(actor_id=None, entity="test", entity_id=int(update_id), action="handled")
                await uow.commit()

    orders = await asyncio.gather(*(order("41") for _ in range(4)), return_exceptions=True)
    audits = await asyncio.gather(*(audited("42") for _ in range(4)), return_exceptions=True)
    mixed = await asyncio.gather(
        *(work("43") for work in (order, audited, order, audited)), return_exceptions=True
    )
    for outcomes in (orders, audits, mixed):
        assert sum(isinstance(o, AlreadyHandled) for o in outcomes) == 3, outcomes
        assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, AlreadyHandled)]
    orders_for_43 = sum(not isinstance(o, Exception) for o in mixed[0::2])
    audits_for_43 = await count(any_app, AuditEntry, AuditEntry.entity == "test", AuditEntry.entity_id == 43)
    assert orders_for_43 + audits_for_43 == 1
    assert await count(any_app, Order) == 1 + orders_for_43
    assert await count(any_app, AuditEntry, AuditEntry.entity == "test", AuditEntry.entity_id == 42) == 1
    assert all((await inbound_rows(any_app)).values())


async def test_recognising_the_sender_does_not_use_up_the_mark(any_app: App) -> None:
    """A first-time sender is recorded on their first update; if the process dies before
    the update's effect, the update is still waiting to be handled."""
    await open_go(any_app)
    await inbound.record(any_app.core.desk, "telegram", [("7", "{}")])
    with pytest.raises(RuntimeError), inbound.handling("telegram", "7"):
        await identify(any_app.core.uow(), "telegram", "555", "Newcomer")
        raise RuntimeError("the process died here")
    assert await inbound_rows(any_app) == {"7": None}
    with inbound.handling("telegram", "7") as state:
        newcomer = await identify(any_app.core.uow(), "telegram", "555", "Newcomer")
        await ordering.place_order(any_app.core.uow(), newcomer, "SVT-FML", [LineRequest("ALB", "B", 1)])
        assert state.marked
    assert (await inbound_rows(any_app))["7"] is not None


async def test_a_webhook_update_is_committed_before_the_200_and_handled_once_on_start(any_app: App) -> None:
    """The 200 means the update is in the database: here nothing handles it until the bot
    starts, and then it is handled exactly once."""
    await open_go(any_app)
    fake = FakeTelegram()
    await fake.start()
    settings = telegram_settings(fake, webhook_url="http://127.0.0.1:1/webhooks/telegram")
    bot = telegram_bot(any_app.bot, settings, retry_base=0.01)
    web_app = build_web_app(any_app.core)
    add_telegram_webhook(web_app, settings.secret(), bot.feed)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    update = fake.message_update(BOB, text="/order SVT-FML ALB:A 1")
    try:
        async with ClientSession() as client:
            headers = {SECRET_HEADER: settings.secret()}
            for _ in range(2):  # Telegram may deliver an update twice
                async with client.post(
                    f"http://127.0.0.1:{port}{PATH}", json=update, headers=headers
                ) as answer:
                    assert answer.status == 200
        assert await inbound_rows(any_app) == {str(update["update_id"]): None}
        assert await count(any_app, Order) == 0
        handled = HandledUpdates(fake)
        handled.watch(bot.application)
        async with bot.running():
            await handled.update(int(update["update_id"]))  # the bot finished with it, reply sent
            await wait_for(lambda: all_handled(any_app))
        assert await count(any_app, Order) == 1
        assert len(fake.calls_to("sendMessage", 2002)) == 1 and "Order placed" in fake.last(2002).shown
    finally:
        await runner.cleanup()
        await fake.stop()


async def test_updates_received_before_a_crash_are_handled_on_start_exactly_once(any_app: App) -> None:
    """Rows received but not handled (the process died after acknowledging them) are
    handled when the bot starts, in receipt order; a second start does nothing again."""
    await open_go(any_app)
    any_app.core.in_chat_payments.add("telegram")  # the bot below has a payment provider token
    await say(any_app, "gina", "/paymethods SVT-FML telegram")
    bob = await identify(any_app.core.uow(), "telegram", str(BOB["id"]), "Bob")
    await ordering.place_order(any_app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 1)])
    invoice = await telegram_payments.telegram_invoice(any_app.core.uow(), bob, "SVT-FML-1")
    fake = FakeTelegram()
    await fake.start()
    paid = {
        "currency": invoice.currency,
        "total_amount": invoice.amount_minor,
        "invoice_payload": invoice.payload,
        "telegram_payment_charge_id": "tg-charge-1",
        "provider_payment_charge_id": "provider-tg-charge-1",
    }
    updates = [
        fake.message_update(BOB, successful_payment=paid),
        fake.message_update(AMY, text="/order SVT-FML ALB:B 1"),
    ]
    await inbound.record(
        any_app.core.desk, "telegram", [(str(u["update_id"]), json.dumps(u)) for u in updates]
    )
    settings = telegram_settings(fake, payment_provider_token="284685063:TEST:provider")
    try:
        for start in range(2):
            bot = telegram_bot(any_app.bot, settings, retry_base=0.01)
            handled = HandledUpdates(fake)
            handled.watch(bot.application)
            async with bot.running():
                if start == 0:  # the first start handles both; the second finds nothing waiting
                    for update in updates:
                        await handled.update(int(update["update_id"]))
                await wait_for(lambda: all_handled(any_app))
            assert start == 0 or not handled.handled
        assert await count(any_app, Payment, Payment.status == "succeeded") == 1
        assert await count(any_app, Order, Order.status == "paid") == 1
        assert await count(any_app, Order) == 2
        assert len(fake.calls_to("sendMessage", 2003)) == 1  # Amy's order answered once
    finally:
        await fake.stop()


async def test_long_polling_acknowledges_only_updates_already_recorded(any_app: App) -> None:
    """The next getUpdates offset tells Telegram to forget what came before it; by then
    every one of those updates must be committed."""
    fake = FakeTelegram()
    await fake.start()
    unrecorded: list[int] = []

    async def check(offset: int) -> None:
        recorded = await inbound_rows(any_app)
        unrecorded.extend(i for i in pushed if i < offset and str(i) not in recorded)

    fake.on_offset = check
    pushed: list[int] = []
    try:
        bot = telegram_bot(any_app.bot, telegram_settings(fake), retry_base=0.01)
        handled = HandledUpdates(fake)
        handled.watch(bot.application)
        async with bot.running():
            for n in range(30):
                pushed.append(fake.send_text(FakeTelegram.user(3000 + n, f"Fan {n}"), "/help"))
            await handled.all()
            await wait_for(lambda: all_handled(any_app))
        assert unrecorded == []
        assert sorted(int(i) for i in await inbound_rows(any_app)) == pushed
        async with any_app.core.reader() as uow:  # what is stored reads back as the same update
            for payload in await uow.session.scalars(select(InboundUpdate.payload)):
                assert Update.de_json(json.loads(payload), None).to_dict() == json.loads(payload)
    finally:
        await fake.stop()


async def test_a_payment_that_could_not_be_recorded_waits_and_is_recorded_at_the_next_start(
    any_app: App,
) -> None:
    """Money taken but not recorded (here: the record of seen payment ids is missing) is not
    marked handled: it stays waiting, and the next start records it once."""
    await open_go(any_app)
    any_app.core.in_chat_payments.add("telegram")  # the bot below has a payment provider token
    await say(any_app, "gina", "/paymethods SVT-FML telegram")
    bob = await identify(any_app.core.uow(), "telegram", str(BOB["id"]), "Bob")
    await ordering.place_order(any_app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 1)])
    invoice = await telegram_payments.telegram_invoice(any_app.core.uow(), bob, "SVT-FML-1")
    paid = {
        "currency": invoice.currency,
        "total_amount": invoice.amount_minor,
        "invoice_payload": invoice.payload,
        "telegram_payment_charge_id": "tg-charge-7",
        "provider_payment_charge_id": "provider-tg-charge-7",
    }
    fake = FakeTelegram()
    await fake.start()
    settings = telegram_settings(fake, payment_provider_token="284685063:TEST:provider")

    async def rename(old: str, new: str) -> None:
        async with any_app.core.db.engine.begin() as connection:
            await connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))

    try:
        await rename("processed_inbound", "processed_inbound_away")
        bot = telegram_bot(any_app.bot, settings, retry_base=0.01)
        handled = HandledUpdates(fake)
        handled.watch(bot.application)
        async with bot.running():
            await handled.update(fake.push(fake.message_update(BOB, successful_payment=paid)))
            assert "could not record it" in fake.last(2002).shown
        assert list((await inbound_rows(any_app)).values()) == [None]  # still waiting
        await rename("processed_inbound_away", "processed_inbound")
        async with telegram_bot(any_app.bot, settings, retry_base=0.01).running():
            await wait_for(lambda: all_handled(any_app))
        assert await count(any_app, Payment, Payment.status == "succeeded") == 1
        assert await count(any_app, Order, Order.status == "paid") == 1
    finally:
        await fake.stop()
