"""Paying on Telegram end to end, through the local fake of the Bot API: proof photos the
GOM approves with a button, and Telegram's own invoices (pre-checkout, successful_payment).

Every wait is for the thing itself — the reply, the edit, the invoice, the answer at the
fake Bot API, or the bot having finished with an update — never for the bot to go quiet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bots.telegram import files
from channels.telegram import TelegramChannel
from core.clock import FrozenClock
from core.config import Settings, TelegramSettings
from core.db.migrate import upgrade
from core.db.models import Order, Payment, PaymentProof
from core.services import telegram_payments
from core.services.accounts import register_gom
from core.services.due import expire_due
from main import App, bootstrap
from tests.conftest import say
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_handled import HandledUpdates
from tests.images import screenshot
from tests.telegram_bots import telegram_bot

GINA = FakeTelegram.user(1001, "Gina", "gina_gom")
BOB = FakeTelegram.user(2002, "Bob", "bob")
AMY = FakeTelegram.user(2003, "Amy")
PROVIDER_TOKEN = "284685063:TEST:provider"
PNG = screenshot()


@pytest.fixture
def handled(fake: FakeTelegram) -> HandledUpdates:
    return HandledUpdates(fake)


@pytest.fixture
async def tg(
    fake: FakeTelegram, handled: HandledUpdates, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[App]:
    """gomflow with the Telegram bot running, its outbox delivering to Telegram too."""
    settings = TelegramSettings(
        bot_token=fake.token, api_base_url=fake.base_url, payment_provider_token=PROVIDER_TOKEN
    )
    app = bootstrap(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gomflow.db"), clock=clock, telegram=settings
    )
    await upgrade(app.core.db)
    bot = telegram_bot(app.bot, settings, retry_base=0.01)
    handled.watch(bot.application)
    try:
        async with bot.running():
            yield app
    finally:
        channel = app.channels["telegram"]
        assert isinstance(channel, TelegramChannel)
        await channel.close()
        await app.core.close()


async def said(fake: FakeTelegram, user: dict[str, object], text: str) -> str:
    """Send a command and wait for its answer: each command here answers with one message."""
    chat = int(str(user["id"]))
    before = len(fake.chat(chat))
    fake.send_text(user, text)
    await fake.wait_until(lambda: len(fake.chat(chat)) > before)
    return fake.chat(chat)[before].shown


async def tapped(fake: FakeTelegram, user: dict[str, object], label: str, until: Callable[[], bool]) -> None:
    """Tap ``label`` on the chat's last message; wait for the tap's answer and for ``until``,
    what the tap changes (an edit, a new message), which may arrive in either order."""
    chat = int(str(user["id"]))
    answered = len(fake.calls_to("answerCallbackQuery"))
    fake.tap(user, fake.last(chat), label)
    await fake.wait_until(lambda: len(fake.calls_to("answerCallbackQuery")) > answered and until())


def has_button(fake: FakeTelegram, chat: int, label: str) -> bool:
    return any(label in button["text"] for button in fake.last(chat).buttons)


async def go_taking(app: App, fake: FakeTelegram, methods: str) -> None:
    """Gina, a GOM on Telegram, opens SVT-FML and takes ``methods``."""
    await register_gom(app.core.uow(), "telegram", str(GINA["id"]), "Gina")
    for step in (
        '/newgo SVT-FML "Test GO" currency=SGD moq=2 cap=10 deadline=+3d',
        '/additem SVT-FML ALB 25.90 "FML album" versions="A:Faded Mono Life,B:Fallen Misfit"',
        f"/paymethods SVT-FML {methods}",
        "/open SVT-FML",
    ):
        assert not (await said(fake, GINA, step)).startswith("⚠️"), step


async def deliver(app: App) -> None:
    """Send what the outbox holds (notifications to the GOM or the buyer)."""
    await app.dispatcher.run_once()


async def count(app: App, model: type[object]) -> int:
    async with app.core.reader() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def order_status(app: App) -> str | None:
    async with app.core.reader() as uow:
        return await uow.session.scalar(select(Order.status).where(Order.number == "SVT-FML-1"))


# ---------------------------------------------------------------------- proof photos


async def test_a_buyer_orders_by_taps_pays_with_a_proof_photo_and_the_gom_approves_by_button(
    tg: App, fake: FakeTelegram
) -> None:
    await go_taking(tg, fake, "paynow:+6591234567 manual")
    await said(fake, BOB, "/go SVT-FML")
    await tapped(fake, BOB, "Faded Mono Life", until=lambda: has_button(fake, 2002, "✅ Order 1"))
    await tapped(fake, BOB, "✅ Order 1", until=lambda: "Order placed" in fake.last(2002).shown)
    assert "Order placed" in fake.last(2002).shown
    await tapped(fake, BOB, "💳 Pay", until=lambda: fake.last(2002).photo is not None)
    pay = fake.last(2002)
    assert pay.photo is not None and "Amount: S$25.90" in pay.shown  # the QR, captioned

    fake.send_photo(BOB, PNG)
    await fake.wait_until(lambda: "Your proof for SVT-FML-1" in fake.last(2002).shown)
    assert [c.params["file_id"] for c in fake.calls_to("getFile")] == ["AgAC-file-2"]  # the large size
    assert fake.downloads == ["photos/file_2.jpg"]

    await deliver(tg)
    assert "Bob sent proof of payment for SVT-FML-1" in fake.last(1001).shown
    await said(fake, GINA, "/proof SVT-FML-1")
    proof = fake.last(1001)
    assert proof.photo == PNG and "Proof for SVT-FML-1 from Bob" in proof.shown
    assert [b["text"] for b in proof.buttons] == ["Approve", "Reject"]
    await tapped(
        fake,
        GINA,
        "Approve",
        until=lambda: "Approved" in fake.last(1001).shown and fake.chat(1001)[-2].buttons == [],
    )
    assert "Approved: SVT-FML-1 (S$25.90) from Bob is paid" in fake.last(1001).shown
    assert fake.chat(1001)[-2].buttons == []  # the photo's buttons are gone once used
    assert await order_status(tg) == "paid"

    await deliver(tg)
    assert "Payment received: S$25.90" in fake.last(2002).shown
    photos_to_amy = len(fake.calls_to("sendPhoto", 2003))
    assert "not" in (await said(fake, AMY, "/proof SVT-FML-1")).lower()
    assert len(fake.calls_to("sendPhoto", 2003)) == photos_to_amy == 0  # only buyer, GOM and helpers


async def test_a_proof_can_come_as_an_image_file_with_the_command_as_its_caption(
    tg: App, fake: FakeTelegram
) -> None:
    await go_taking(tg, fake, "manual")
    await said(fake, BOB, "/order SVT-FML ALB:A 1")
    fake.send_document(BOB, PNG, "transfer.png", "image/png", caption="/paid SVT-FML-1 DBS-123")
    await fake.wait_until(lambda: "Your proof for SVT-FML-1" in fake.last(2002).shown)
    async with tg.core.reader() as uow:
        proof = await uow.session.scalar(select(PaymentProof))
    assert proof is not None and proof.image == PNG and proof.reference == "DBS-123"


async def test_an_oversized_or_non_image_file_is_refused_clearly_with_nothing_stored(
    tg: App, fake: FakeTelegram
) -> None:
    await go_taking(tg, fake, "manual")
    await said(fake, BOB, "/order SVT-FML ALB:A 1")
    answers = len(fake.chat(2002))

    async def answer() -> str:
        nonlocal answers
        await fake.wait_until(lambda: len(fake.chat(2002)) > answers)
        answers = len(fake.chat(2002))
        return fake.last(2002).shown

    fake.send_document(BOB, b"%PDF-1.7 receipt", "receipt.pdf", "application/pdf")
    assert await answer() == files.NOT_IMAGE
    fake.send_photo(BOB, PNG, file_size=6 * 1024 * 1024)  # as the update reports it
    assert await answer() == files.TOO_BIG
    fake.send_document(BOB, PNG, "big.png", "image/png", file_size=5 * 1024 * 1024 + 1)
    assert await answer() == files.TOO_BIG
    assert not fake.calls_to("getFile") and not fake.downloads  # refused before fetching anything

    big = PNG + b"\x00" * (5 * 1024 * 1024)
    fake.send_document(BOB, big, "liar.png", "image/png", file_size=1000)  # the update understates it
    assert await answer() == files.TOO_BIG
    assert len(fake.calls_to("getFile")) == 1 and not fake.downloads  # getFile's size is checked too
    fake.send_document(BOB, b"GIF89a not a png", "fake.png", "image/png")
    assert "PNG, JPEG or WebP" in await answer()  # the bytes are checked, whatever the name says
    fake.send_sticker(BOB)
    assert "only read text and photos" in await answer()
    assert await count(tg, PaymentProof) == 0
    assert await order_status(tg) == "placed"


async def test_a_gom_sends_a_tracking_sheet_as_a_csv_file(tg: App, fake: FakeTelegram) -> None:
    """A sheet sent as a document with the command as its caption reaches the command (here
    it is checked and its problem reported); one over the sheet limit is refused unfetched."""
    await go_taking(tg, fake, "manual")
    answers = len(fake.chat(1001))
    sheet = b"\xef\xbb\xbforder;carrier;tracking\r\nSVT-FML-9;jnt;JT0001234567\r\n"
    fake.send_document(
        GINA, sheet, "tracking.csv", "text/comma-separated-values", caption="/importtracking SVT-FML"
    )
    await fake.wait_until(lambda: len(fake.chat(1001)) > answers)
    assert "there is no order SVT-FML-9 in SVT-FML" in fake.last(1001).shown
    answers = len(fake.chat(1001))
    fake.send_document(
        GINA, sheet, "huge.csv", "text/csv", caption="/importtracking SVT-FML", file_size=2_000_000
    )
    await fake.wait_until(lambda: len(fake.chat(1001)) > answers)
    assert fake.last(1001).shown == files.SHEET_TOO_BIG


# ---------------------------------------------------------------------- Telegram invoices


async def invoice_for_bob(fake: FakeTelegram) -> None:
    """Bob orders and asks to pay: two messages, how to pay, then the invoice."""
    await said(fake, BOB, "/order SVT-FML ALB:A 1")
    before = len(fake.chat(2002))
    fake.send_text(BOB, "/pay SVT-FML-1")
    await fake.wait_until(lambda: len(fake.chat(2002)) >= before + 2 and fake.last(2002).invoice is not None)


async def test_a_buyer_pays_by_telegram_invoice_and_is_told(
    tg: App, fake: FakeTelegram, handled: HandledUpdates
) -> None:
    await go_taking(tg, fake, "telegram")
    await invoice_for_bob(fake)
    invoice = fake.last(2002)
    assert invoice.invoice is not None
    assert invoice.invoice["currency"] == "SGD" and invoice.invoice["total_amount"] == 2590
    assert invoice.invoice["prices"] == [{"label": "SVT-FML-1 items", "amount": 2590}]
    assert invoice.invoice["provider_token"] == PROVIDER_TOKEN
    assert "tap Pay on the invoice below" in fake.chat(2002)[-2].shown
    assert await order_status(tg) == "placed"  # an invoice is not a payment

    answer = await fake.checkout(BOB, invoice, charge_id="tg-charge-1")
    assert answer == {"ok": True, "error_message": None}
    await handled.all()  # successful_payment among them
    assert await order_status(tg) == "paid"
    async with tg.core.reader() as uow:
        payment = await uow.session.scalar(select(Payment).where(Payment.status == "succeeded"))
    assert payment is not None and payment.charge_ref == "provider-tg-charge-1"
    await deliver(tg)
    assert "Payment received: S$25.90 for the items of order SVT-FML-1" in fake.last(2002).shown


async def test_the_pay_button_sends_the_invoice_too(tg: App, fake: FakeTelegram) -> None:
    await go_taking(tg, fake, "telegram")
    await said(fake, BOB, "/myorders")
    await said(fake, BOB, "/order SVT-FML ALB:B 1")
    await said(fake, BOB, "/myorders")
    tapped_card = fake.last(2002)
    edits = tapped_card.edits
    await tapped(
        fake,
        BOB,
        "Pay SVT-FML-1",
        until=lambda: bool(fake.calls_to("sendInvoice", 2002)) and tapped_card.edits > edits,
    )
    assert fake.calls_to("sendInvoice", 2002)[0].params["payload"].startswith("gf-")


async def test_pre_checkout_is_refused_for_a_cancelled_order(
    tg: App, fake: FakeTelegram, handled: HandledUpdates
) -> None:
    await go_taking(tg, fake, "telegram")
    await invoice_for_bob(fake)
    invoice = fake.last(2002)
    await said(fake, BOB, "/cancel SVT-FML-1")
    answer = await fake.checkout(BOB, invoice)
    assert answer["ok"] is False and "SVT-FML-1 no longer needs this payment" in answer["error_message"]
    await handled.all()
    assert await order_status(tg) == "cancelled" and await count(tg, Payment) == 1  # the invoice's attempt
    async with tg.core.reader() as uow:
        assert await uow.session.scalar(select(Payment.status)) != "succeeded"


async def test_pre_checkout_is_refused_once_the_payment_window_closed(
    tg: App, fake: FakeTelegram, clock: FrozenClock
) -> None:
    await go_taking(tg, fake, "telegram")
    await invoice_for_bob(fake)
    invoice = fake.last(2002)
    clock.advance(hours=49)  # the window is 48 hours
    answer = await fake.checkout(BOB, invoice)
    assert answer["ok"] is False and "payment window for SVT-FML-1 has closed" in answer["error_message"]
    await expire_due(tg.core.uow())
    answer = await fake.checkout(BOB, invoice)
    assert answer["ok"] is False and "no longer needs this payment" in answer["error_message"]
    assert await order_status(tg) == "expired"


async def test_a_duplicated_successful_payment_update_yields_one_payment(
    tg: App, fake: FakeTelegram, handled: HandledUpdates
) -> None:
    await go_taking(tg, fake, "telegram")
    await invoice_for_bob(fake)
    invoice = fake.last(2002)
    assert (await fake.checkout(BOB, invoice, charge_id="tg-charge-9"))["ok"] is True
    fake.successful_payment(BOB, invoice, charge_id="tg-charge-9")  # Telegram repeats itself
    fake.successful_payment(BOB, invoice, charge_id="tg-charge-9")
    await handled.all()  # all three payment messages, not merely the first
    async with tg.core.reader() as uow:
        succeeded = await uow.session.scalar(
            select(func.count()).select_from(Payment).where(Payment.status == "succeeded")
        )
    assert succeeded == 1 and await order_status(tg) == "paid"
    before = len(fake.chat(2002))
    await deliver(tg)
    told = [m.shown for m in fake.chat(2002)[before:]]
    assert sum("Payment received" in t for t in told) == 1


async def test_a_paid_amount_that_differs_is_held_and_the_buyer_told(tg: App, fake: FakeTelegram) -> None:
    await go_taking(tg, fake, "telegram")
    await invoice_for_bob(fake)
    invoice = fake.last(2002)
    fake.successful_payment(BOB, invoice, charge_id="tg-odd", amount=100)
    await fake.wait_until(lambda: "does not match what the order owes" in fake.last(2002).shown)
    assert await order_status(tg) == "placed"


async def test_paying_in_telegram_is_refused_clearly_where_it_cannot_work(
    tg: App, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    await go_taking(tg, fake, "telegram manual")
    await said(fake, BOB, "/order SVT-FML ALB:A 1")
    console = await say(tg, "bob", "/pay SVT-FML-1 telegram")
    assert "works in a Telegram chat with me only" in console.text
    monkeypatch.setitem(telegram_payments.TELEGRAM_EXPONENTS, "SGD", 0)  # were they ever to differ
    refused = await said(fake, BOB, "/pay SVT-FML-1 telegram")
    assert "Paying inside Telegram is not available for SGD" in refused
    shown = await said(fake, BOB, "/pay SVT-FML-1")  # the other ways still stand
    assert "Paying inside Telegram is not available for SGD" in shown and "screenshot" in shown
    assert not fake.calls_to("sendInvoice")
