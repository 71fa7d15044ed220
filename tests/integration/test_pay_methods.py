"""The ways a GOM collects money: opening needs a method that works on this server, bank
transfer details and the number beside the QR reach the buyer, and a photo of a bank QR
is read (or refused, saying why) — on both databases where two commands can race."""

from __future__ import annotations

import asyncio
import io

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from bots.chat import Attachment, ChatReply, ChatRequest
from bots.dispatch import handle
from bots.numbered import handle_numbered
from core.db.models import GroupOrder, PaymentSettings
from core.payments import emvco
from core.payments.gateway import FakeGateway
from core.payments.qr_photo import NO_QR
from core.services import pay_pages
from main import App
from templates import JinjaRenderer
from tests.conftest import gom, say
from tests.qr_pictures import blank_photo, photo_of, static_duitnow

BANK = 'bank="DBS Bank" name="Gina Tan" account=123-456789-0'


async def draft(app: App, code: str = "SVT-FML", currency: str = "SGD") -> None:
    await gom(app, "gina")
    for step in (
        f'/newgo {code} "Test GO" currency={currency} moq=1 cap=10 deadline=+3d',
        f'/additem {code} ALB 25.90 "FML album"',
    ):
        assert not (await say(app, "gina", step)).text.startswith("⚠️"), step


async def go_status(app: App, code: str = "SVT-FML") -> str:
    async with app.core.reader() as uow:
        status = await uow.session.scalar(select(GroupOrder.status).where(GroupOrder.code == code))
        assert status is not None
        return status


async def stored_methods(app: App, code: str = "SVT-FML") -> str | None:
    async with app.core.reader() as uow:
        return await uow.session.scalar(
            select(PaymentSettings.methods)
            .join(GroupOrder, GroupOrder.id == PaymentSettings.go_id)
            .where(GroupOrder.code == code)
        )


async def photo(app: App, who: str, text: str, content: bytes, channel: str = "console") -> ChatReply:
    request = ChatRequest(
        channel,
        who,
        who,
        text,
        handle=who,
        chat_id=who,
        attachment=Attachment("qr.jpg", content, "image/jpeg"),
    )
    return await handle(app.bot, request)


def scanned(image: bytes | None) -> emvco.QrPayment:
    assert image is not None
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image)).convert("L"))
    return emvco.describe(decoded.text)


# ------------------------------------------------------------------ opening needs a way to pay


async def test_a_go_opens_only_once_it_has_a_method_that_works_on_this_server(any_app: App) -> None:
    app = any_app
    await draft(app)
    refused = await say(app, "gina", "/open SVT-FML")
    assert refused.text.startswith("⚠️") and "SVT-FML has no payment method yet" in refused.text
    assert "/paymethods SVT-FML" in refused.text
    warned = await say(app, "gina", "/paymethods SVT-FML stripe")
    assert "Not set up on this server, so buyers will not see it: Card (Stripe)" in warned.text
    refused = await say(app, "gina", "/open SVT-FML")
    assert "Card (Stripe) is not set up on this server, so buyers of SVT-FML could not pay" in refused.text
    assert await go_status(app) == "draft"

    assert "now takes: Bank transfer" in (await say(app, "gina", f"/paymethods SVT-FML {BANK}")).text
    assert "open for orders" in (await say(app, "gina", "/open SVT-FML")).text
    assert await go_status(app) == "open"


async def test_a_gateway_this_server_has_is_enough_to_open(app: App) -> None:
    app.core.payment_gateways["stripe"] = FakeGateway(name="stripe")
    await draft(app)
    assert "Not set up" not in (await say(app, "gina", "/paymethods SVT-FML stripe")).text
    assert "open for orders" in (await say(app, "gina", "/open SVT-FML")).text


async def test_an_open_go_cannot_be_left_without_a_working_method(app: App) -> None:
    await draft(app)
    await say(app, "gina", "/paymethods SVT-FML manual")
    await say(app, "gina", "/open SVT-FML")
    before = await stored_methods(app)
    refused = await say(app, "gina", "/paymethods SVT-FML stripe hitpay")
    assert "Card (Stripe) and PayNow / card (HitPay) are not set up on this server" in refused.text
    assert await stored_methods(app) == before


async def test_opening_and_dropping_the_last_working_method_at_once_never_opens_unpayable(
    any_app: App,
) -> None:
    """/open and a /paymethods that keeps only an unconfigured gateway, at the same instant:
    whichever wins, the GO is never open with no way to pay."""
    app = any_app
    codes = [f"RACE-{n}" for n in range(4)]
    for code in codes:
        await draft(app, code)
        await say(app, "gina", f"/paymethods {code} manual")
    for code in codes:
        opened, changed = await asyncio.gather(
            say(app, "gina", f"/open {code}"), say(app, "gina", f"/paymethods {code} stripe")
        )
        status, methods = await go_status(app, code), await stored_methods(app, code)
        assert methods is not None
        if status == "open":
            assert '"manual"' in methods and changed.text.startswith("⚠️"), changed.text
        else:
            assert '"stripe"' in methods and opened.text.startswith("⚠️"), opened.text


# ------------------------------------------------------------------ shown to the buyer


async def test_bank_transfer_and_paynow_number_reach_a_console_buyer_with_copy_buttons(app: App) -> None:
    await draft(app)
    await say(app, "gina", f"/paymethods SVT-FML paynow:+6591234567 {BANK}")
    await say(app, "gina", "/open SVT-FML")
    await say(app, "bob", "/order SVT-FML ALB 1")
    reply = await say(app, "bob", "/pay SVT-FML-1")
    assert "Amount: S$25.90" in reply.text and "Reference: SVT-FML-1-I1" in reply.text
    assert (
        "No scanner? Send S$25.90 by PayNow QR to +6591234567 with the reference SVT-FML-1-I1." in reply.text
    )
    assert (
        "Bank transfer: DBS Bank, account name Gina Tan, account number 123-456789-0. "
        "Transfer exactly S$25.90 and type SVT-FML-1-I1 as the reference."
    ) in reply.text
    copies = [(b.label, b.copy) for row in reply.buttons for b in row if b.copy]
    assert copies == [
        ("📋 Number", "+6591234567"),
        ("📋 Account number", "123-456789-0"),
        ("📋 Reference", "SVT-FML-1-I1"),
    ]
    assert scanned(reply.image).account == "+6591234567"


async def test_a_numbered_platform_shows_the_numbers_as_text_and_no_copy_options(app: App) -> None:
    await draft(app)
    await say(app, "gina", f"/paymethods SVT-FML paynow:+6591234567 {BANK}")
    await say(app, "gina", "/open SVT-FML")
    sms = ChatRequest("sms", "+6581112222", "Bob", "/order SVT-FML ALB 1")
    await handle_numbered(app.bot, sms)
    reply = await handle_numbered(app.bot, ChatRequest("sms", "+6581112222", "Bob", "/pay SVT-FML-1"))
    assert "Send S$25.90 by PayNow QR to +6591234567" in reply.text
    assert "account number 123-456789-0" in reply.text and "Reference: SVT-FML-1-I1" in reply.text
    assert "📋" not in reply.text and reply.buttons == []


async def test_duitnow_and_qr_ph_gos_give_native_qrs_with_the_account_as_text(app: App) -> None:
    for code, currency, method, scheme, account in (
        ("MY-GO", "MYR", "duitnow:890053:512345678901", "DuitNow", "512345678901"),
        ("PH-GO", "PHP", "qrph:GXCHPHM2XXX:09171234567", "QR Ph", "09171234567"),
    ):
        await draft(app, code, currency)
        assert not (await say(app, "gina", f"/paymethods {code} {method}")).text.startswith("⚠️")
        await say(app, "gina", f"/open {code}")
        await say(app, "bob", f"/order {code} ALB 1")
        reply = await say(app, "bob", f"/pay {code}-1")
        assert f"to {account} with the reference" in reply.text, reply.text
        read = scanned(reply.image)
        assert (read.scheme_name, read.account, read.amount) == (scheme, account, "25.90")


# ------------------------------------------------------------------ a photo of the GOM's bank QR


async def test_a_photo_of_a_static_bank_qr_is_read_stored_and_re_emitted_for_buyers(app: App) -> None:
    await draft(app, "MY-GO", "MYR")
    reply = await photo(app, "gina", "/paymethods MY-GO manual", photo_of(static_duitnow()))
    assert "MY-GO now takes: Bank transfer with proof, Bank QR" in reply.text
    assert "Read from your photo: DuitNow QR to MEI STORE, account MD00167575." in reply.text
    stored = await stored_methods(app, "MY-GO")
    assert stored is not None and static_duitnow() in stored
    await say(app, "gina", "/open MY-GO")
    await say(app, "bob", "/order MY-GO ALB 1")
    paying = await say(app, "bob", "/pay MY-GO-1")
    read = scanned(paying.image)
    assert (read.scheme_name, read.account, read.amount, read.reference) == (
        "DuitNow",
        "MD00167575",
        "25.90",
        "MY-GO-1-I1",
    )
    assert "No scanner? Send RM25.90 by Bank QR to MD00167575 with the reference MY-GO-1-I1." in paying.text


async def test_a_photo_without_a_qr_code_is_refused_and_nothing_is_stored(app: App) -> None:
    await draft(app)
    await say(app, "gina", "/paymethods SVT-FML manual")
    before = await stored_methods(app)
    reply = await photo(app, "gina", "/paymethods SVT-FML", blank_photo())
    assert reply.text == f"⚠️ {NO_QR}"
    not_image = await photo(app, "gina", "/paymethods SVT-FML", b"%PDF-1.7 not a picture")
    assert "not a photo I can read" in not_image.text
    assert await stored_methods(app) == before


async def test_a_qr_that_is_not_a_payment_qr_is_refused_saying_what_it_holds(app: App) -> None:
    await draft(app)
    reply = await photo(app, "gina", "/paymethods SVT-FML", photo_of("https://example.com/menu"))
    assert "That QR code is not a payment QR (it holds 'https://example.com/menu')" in reply.text
    broken = static_duitnow()[:-4] + "0000"  # EMVCo-shaped, checksum wrong
    refused = await photo(app, "gina", "/paymethods SVT-FML", photo_of(broken))
    assert "not a payment QR" in refused.text
    assert await stored_methods(app) is None


async def test_a_bank_qr_for_another_currency_is_refused_with_the_reason(app: App) -> None:
    await draft(app)  # SGD
    reply = await photo(app, "gina", "/paymethods SVT-FML", photo_of(static_duitnow(), "png"))
    assert "That QR code takes MYR, but this group order is in SGD." in reply.text
    assert await stored_methods(app) is None


async def test_bankqr_without_a_photo_or_payload_says_how_to_send_one(app: App) -> None:
    await draft(app)
    reply = await say(app, "gina", "/paymethods SVT-FML bankqr")
    assert "send its photo with /paymethods CODE as the caption" in reply.text


async def test_the_pay_page_shows_the_number_and_the_bank_account_escaped(app: App) -> None:
    await draft(app)
    await say(
        app, "gina", '/paymethods SVT-FML paynow:+6591234567 bank="D&B <Bank>" name="Gina" account=12345'
    )
    await say(app, "gina", "/open SVT-FML")
    await say(app, "bob", "/order SVT-FML ALB 1")
    reply = await say(app, "bob", "/pay SVT-FML-1")
    [url] = [b.url for row in reply.buttons for b in row if b.url]
    token = url.rsplit("/", 1)[-1]
    context = {"page": await pay_pages.pay_page(app.core.reader(), token), "online": [], "languages": []}
    page = JinjaRenderer().page("pay", context)
    assert "<code>+6591234567</code>" in page
    assert (
        "<dd>D&amp;B &lt;Bank&gt;</dd>" in page and "<dd>Gina</dd>" in page and "<code>12345</code>" in page
    )


async def test_a_go_taking_only_bank_transfers_takes_the_buyers_proof(app: App) -> None:
    await draft(app)
    await say(app, "gina", f"/paymethods SVT-FML {BANK}")
    await say(app, "gina", "/open SVT-FML")
    await say(app, "bob", "/order SVT-FML ALB 1")
    assert "send a screenshot of the transfer" in (await say(app, "bob", "/pay SVT-FML-1")).text
    assert "is with the GOM for review" in (await say(app, "bob", "/paid SVT-FML-1 DBS-778")).text


@pytest.mark.parametrize(
    ("currency", "method", "shown"),
    [
        ("SGD", "paynow:+6591234567", "by PayNow QR to +6591234567"),
        ("THB", "promptpay:0812345678", "by PromptPay QR to 0812345678"),
        ("MYR", "duitnow:890053:512345678901", "by DuitNow QR to 512345678901"),
        ("PHP", "qrph:GXCHPHM2XXX:09171234567", "by QR Ph to 09171234567"),
        ("SGD", BANK, "account name Gina Tan, account number 123-456789-0"),
    ],
)
async def test_each_method_reaches_a_buyer_by_sms_as_plain_text(
    app: App, currency: str, method: str, shown: str
) -> None:
    await draft(app, "GO-1", currency)
    assert not (await say(app, "gina", f"/paymethods GO-1 {method}")).text.startswith("⚠️")
    await say(app, "gina", "/open GO-1")
    await handle_numbered(app.bot, ChatRequest("sms", "+6581112222", "Bob", "/order GO-1 ALB 1"))
    reply = await handle_numbered(app.bot, ChatRequest("sms", "+6581112222", "Bob", "/pay GO-1-1"))
    assert shown in reply.text and "Reference: GO-1-1-I1" in reply.text, reply.text
    assert "📋" not in reply.text
