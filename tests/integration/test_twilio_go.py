"""A whole group order by SMS and by WhatsApp, through signed webhooks and numbered menus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.clock import FrozenClock
from core.db.models import InboundUpdate, Order
from core.services.accounts import register_gom
from core.status import OrderStatus
from tests.conftest import BACKENDS, fresh_database_url, in_language
from tests.fakes.twilio_api import inbound_form
from tests.fakes.twilio_rig import SMS_FROM, TwilioRig, twilio_rig

GINA = "+6591110000"  # the GOM, by SMS
BOB = "+6591234567"  # a buyer, by SMS
CARA = "+639171234567"  # a buyer in the Philippines, by WhatsApp


@pytest.fixture(params=BACKENDS)
async def rig(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[TwilioRig]:
    url = await fresh_database_url(request.param, tmp_path)
    async with twilio_rig(url, clock) as rig:
        yield rig


async def orders(rig: TwilioRig) -> int:
    async with rig.app.core.reader() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Order)) or 0)


async def open_go_by_sms(rig: TwilioRig) -> None:
    await register_gom(rig.app.core.uow(), "sms", GINA, "Gina")
    steps = [
        'NEWGO SVT-FML "Seventeen FML" currency=SGD moq=2 cap=10 deadline=+3d',
        'additem SVT-FML ALB 25.90 "FML album" versions="A:Faded Mono Life,B:Fallen Misfit"',
        "Paymethods SVT-FML paynow:+6591234567 manual",
        "/open SVT-FML",
    ]
    for step in steps:
        answer = await rig.say("sms", GINA, step)
        assert answer and not answer.startswith("⚠️"), (step, answer)


async def test_a_whole_go_by_sms_and_whatsapp_with_numbered_menus(rig: TwilioRig) -> None:
    await open_go_by_sms(rig)

    # a buyer by SMS: the GO card offers numbered choices, a number orders
    card = await rig.say("sms", BOB, "go svt-fml")
    assert (
        "Reply 1 for Order 1 × FML album (Faded Mono Life), 2 for Order 1 × FML album (Fallen Misfit)" in card
    )
    placed = await rig.say("sms", BOB, "2")
    assert "1 × FML album (Fallen Misfit)" in placed and "Reply 1 for Pay, 2 for Cancel order." in placed
    paying = await rig.say("sms", BOB, "1")
    assert "PayNow" in paying or "paynow" in paying.lower()

    # a buyer by WhatsApp orders with plain words, then reads their orders
    placed = await rig.say("whatsapp", CARA, "ORDER SVT-FML ALB:A 2", ProfileName="Cara")
    assert "2 × FML album (Faded Mono Life)" in placed
    mine = await rig.say("whatsapp", CARA, "MyOrders")
    assert "SVT-FML" in mine
    assert await orders(rig) == 2

    # the GOM follows the GO by SMS
    progress = await rig.say("sms", GINA, "PROGRESS SVT-FML")
    assert "3" in progress
    helped = await rig.say("sms", GINA, "help")
    assert "ORDER CODE ITEM QTY" in helped and "NEWGO" in helped

    # every reply went from the right sender, SMS from the number and WhatsApp from its sender
    senders = {(m["To"].startswith("whatsapp:"), m["From"]) for m in rig.api.sent}
    assert senders == {(False, SMS_FROM), (True, "whatsapp:+6580000001")}


async def test_a_retried_webhook_is_recorded_and_handled_once(rig: TwilioRig) -> None:
    await open_go_by_sms(rig)
    form = inbound_form("sms", BOB, SMS_FROM, "ORDER SVT-FML ALB:A 1")
    first = await rig.post("sms", form)
    again = await rig.post("sms", form)  # Twilio retries when it did not hear back in time
    assert first[0] == again[0] == 200
    assert await orders(rig) == 1
    assert len(rig.api.to(BOB)) == 1
    async with rig.app.core.reader() as uow:
        rows = (
            await uow.session.execute(select(InboundUpdate).where(InboundUpdate.source == "twilio-sms"))
        ).scalars()
        assert [
            (r.external_id, r.handled_at is not None) for r in rows if r.external_id == form["MessageSid"]
        ] == [(form["MessageSid"], True)]


def png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (40, 20), "white").save(out, format="PNG")
    return out.getvalue()


async def test_a_proof_photo_by_whatsapp_enters_the_gom_review(rig: TwilioRig) -> None:
    await open_go_by_sms(rig)
    await rig.say("whatsapp", CARA, "ORDER SVT-FML ALB:A 1", ProfileName="Cara")
    url = rig.api.add_media(png(), "image/png")
    answer = await rig.say(
        "whatsapp", CARA, "DBS-123", NumMedia="1", MediaUrl0=url, MediaContentType0="image/png"
    )
    # a Philippine number: her messages come in Filipino
    received = "Your proof for %(number)s (%(amount)s) is with the GOM for review."
    assert in_language("fil", received, number="SVT-FML-1", amount="S$25.90") in answer
    # the GOM reviews it through numbered menus
    review = await rig.say("sms", GINA, "PAYMENTS SVT-FML")
    assert "Reply 1 for Review SVT-FML-1." in review
    proof = await rig.say("sms", GINA, "1")
    assert "Reply 1 for Approve, 2 for Reject." in proof
    approved = await rig.say("sms", GINA, "1")
    assert "approved" in approved.lower()
    async with rig.app.core.reader() as uow:
        status = await uow.session.scalar(select(Order.status).where(Order.number == "SVT-FML-1"))
    assert status == OrderStatus.PAID


async def test_a_message_recorded_before_a_crash_is_handled_at_the_next_start(
    rig: TwilioRig, clock: FrozenClock
) -> None:
    """The webhook answered 200 once the message was recorded, then the process died before
    handling it: the next start handles it, once."""
    import json

    from core import inbound

    await open_go_by_sms(rig)
    form = inbound_form("sms", BOB, SMS_FROM, "order svt-fml alb:b 2")
    payload = json.dumps(form)
    assert await inbound.record(rig.app.core.desk, "twilio-sms", [(form["MessageSid"], payload)]) == [True]
    assert await orders(rig) == 0 and rig.api.to(BOB) == []
    url = rig.app.core.db.engine.url.render_as_string(hide_password=False)
    async with twilio_rig(url, clock) as again:
        await again.adapters["sms"].idle()
        assert await orders(again) == 1
        assert "2 × FML album (Fallen Misfit)" in "\n".join(again.api.to(BOB))
        async with again.app.core.reader() as uow:
            assert await inbound.unhandled_inbound(uow.session) == 0


async def test_one_numbers_messages_are_handled_in_the_order_they_arrived(rig: TwilioRig) -> None:
    """The second message arrives while the first is still being handled: the number it
    sends picks from the menu the first one's reply made."""
    await open_go_by_sms(rig)
    first = await rig.hooks.post("/webhooks/twilio/sms", inbound_form("sms", BOB, SMS_FROM, "GO SVT-FML"))
    second = await rig.hooks.post("/webhooks/twilio/sms", inbound_form("sms", BOB, SMS_FROM, "2"))
    assert first[0] == second[0] == 200
    await rig.adapters["sms"].idle()
    replies = rig.api.to(BOB)
    assert len(replies) == 2 and "Reply 1 for Order" in replies[0]
    assert "1 × FML album (Fallen Misfit)" in replies[1]
    assert await orders(rig) == 1
