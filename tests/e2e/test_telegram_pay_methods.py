"""Payment methods on Telegram, through the local Bot API fake and python-telegram-bot: the
number and the bank account beside the QR with copy buttons, and a GOM's bank QR sent as
a photo with the command as its caption."""

from __future__ import annotations

from core.services.accounts import register_gom
from main import App
from tests.e2e.test_telegram_paying import BOB, GINA, go_taking, handled, said, tg
from tests.fakes.telegram_api import FakeTelegram
from tests.qr_pictures import blank_photo, photo_of, static_paynow

__all__ = ["handled", "tg"]  # the fixtures these tests share with test_telegram_paying

BANK = 'bank="DBS Bank" name="Gina Tan" account=123-456789-0'


def copy_buttons(buttons: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(b["text"], b["copy_text"]) for b in buttons if "copy_text" in b]


async def test_the_buyer_gets_the_qr_the_number_and_the_bank_account_with_copy_buttons(
    tg: App, fake: FakeTelegram
) -> None:
    await go_taking(tg, fake, f"paynow:+6591234567 {BANK}")
    await said(fake, BOB, "/order SVT-FML ALB:A 1")
    await said(fake, BOB, "/pay SVT-FML-1")
    pay = fake.last(2002)
    assert pay.photo is not None and pay.parse_mode == "HTML"  # the QR, captioned
    assert "to <code>+6591234567</code> with the reference above" in pay.text
    assert "Reference: <code>SVT-FML-1-I1</code>" in pay.text and "Amount: <b>S$25.90</b>" in pay.text
    assert "DBS Bank, account name Gina Tan, account number <code>123-456789-0</code>" in pay.text
    assert copy_buttons(pay.buttons) == [
        ("📋 Number", {"text": "+6591234567"}),
        ("📋 Account number", {"text": "123-456789-0"}),
        ("📋 Reference", {"text": "SVT-FML-1-I1"}),
    ]


async def test_a_gom_sends_a_photo_of_her_bank_qr_and_is_told_what_was_read(
    tg: App, fake: FakeTelegram
) -> None:
    await register_gom(tg.core.uow(), "telegram", str(GINA["id"]), "Gina")
    for step in (
        '/newgo SVT-FML "Test GO" currency=SGD moq=2 cap=10 deadline=+3d',
        '/additem SVT-FML ALB 25.90 "FML album"',
    ):
        assert not (await said(fake, GINA, step)).startswith("⚠️"), step
    answers = len(fake.chat(1001))
    fake.send_photo(GINA, blank_photo(), caption="/paymethods SVT-FML")
    await fake.wait_until(lambda: len(fake.chat(1001)) > answers)
    assert "I could not find a QR code in that photo" in fake.last(1001).shown

    answers = len(fake.chat(1001))
    fake.send_photo(GINA, photo_of(static_paynow()), caption="/paymethods SVT-FML")
    await fake.wait_until(lambda: len(fake.chat(1001)) > answers)
    told = fake.last(1001).shown
    assert "SVT-FML now takes: Bank QR" in told
    assert "Read from your photo: PayNow QR to GINA TAN, account +6591234567." in told
    assert "open for orders" in await said(fake, GINA, "/open SVT-FML")
    await said(fake, BOB, "/order SVT-FML ALB 1")
    await said(fake, BOB, "/pay SVT-FML-1")
    assert "by Bank QR to <code>+6591234567</code>" in fake.last(2002).text
