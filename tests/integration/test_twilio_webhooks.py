"""Twilio's webhooks refuse what Twilio did not sign, and answer bad input clearly without
writing anything; STOP, START and HELP go through the opt-out service and the help."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bots.twilio.media import TOO_BIG
from core.clock import FrozenClock
from core.db.models import Identity, InboundUpdate, Order, User
from core.privacy.identities import stored_id
from tests.conftest import in_language
from tests.fakes.twilio_api import inbound_form
from tests.fakes.twilio_rig import SMS_FROM, WHATSAPP_FROM, TwilioRig, twilio_rig
from tests.integration.test_twilio_go import BOB, CARA, GINA, open_go_by_sms, orders

SMS = "/webhooks/twilio/sms"


@pytest.fixture
async def rig(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[TwilioRig]:
    async with twilio_rig(f"sqlite+aiosqlite:///{tmp_path}/gomflow.db", clock) as rig:
        yield rig


async def recorded(rig: TwilioRig) -> int:
    async with rig.app.core.reader() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(InboundUpdate)) or 0)


async def people(rig: TwilioRig) -> int:
    async with rig.app.core.reader() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(User)) or 0)


async def test_unsigned_and_forged_webhooks_get_403_and_nothing_is_recorded(rig: TwilioRig) -> None:
    form = inbound_form("sms", BOB, SMS_FROM, "HELP")
    assert (await rig.hooks.post(SMS, form, signature=""))[0] == 403
    forged = rig.hooks.signature(SMS, form)[:-4] + "AAA="
    assert (await rig.hooks.post(SMS, form, signature=forged))[0] == 403
    # signed for one body, sent with another
    signature = rig.hooks.signature(SMS, form)
    assert (await rig.hooks.post(SMS, form | {"Body": "ORDER SVT-FML ALB 9"}, signature=signature))[0] == 403
    # signed for the other webhook's URL
    other = rig.hooks.signature("/webhooks/twilio/whatsapp", form)
    assert (await rig.hooks.post(SMS, form, signature=other))[0] == 403
    assert await recorded(rig) == 0 and await people(rig) == 0 and rig.api.sent == []
    status, _ = await rig.post("sms", form)  # the same form, signed as Twilio signs it
    assert status == 200 and await recorded(rig) == 1 and rig.api.to(BOB)


async def test_a_signed_form_that_is_no_message_is_a_400(rig: TwilioRig) -> None:
    status, _ = await rig.hooks.post(SMS, {"AccountSid": "AC1", "From": BOB})
    assert status == 400 and await recorded(rig) == 0


@pytest.mark.parametrize(
    ("sender", "body", "answer"),
    [
        ("GOMFLOW", "HELP", "I could not read yours"),  # an alphanumeric sender id
        ("+6512", "HELP", "I could not read yours"),  # too short to be a Singapore number
        ("+4915112345678", "HELP", "does not serve numbers from DE"),
        (BOB, "", "Your message was empty"),
        (BOB, "   ", "Your message was empty"),
        (BOB, "x" * 1601, "too long (1,601 characters; the limit is 1,600)"),
    ],
)
async def test_bad_input_is_answered_at_once_and_nothing_is_written(
    rig: TwilioRig, sender: str, body: str, answer: str
) -> None:
    status, twiml = await rig.post("sms", inbound_form("sms", sender, SMS_FROM, body))
    assert status == 200 and "<Message>" in twiml and answer in twiml
    assert await recorded(rig) == 0 and await people(rig) == 0 and rig.api.sent == []


async def test_a_1600_character_message_is_read_and_answered_plainly(rig: TwilioRig) -> None:
    await open_go_by_sms(rig)
    answer = await rig.say("sms", BOB, ("please " * 300)[:1600])
    assert "I didn't catch that" in answer and await orders(rig) == 0


async def test_a_number_outside_the_menu_and_an_expired_menu_order_nothing(
    rig: TwilioRig, clock: FrozenClock
) -> None:
    await open_go_by_sms(rig)
    await rig.say("sms", BOB, "GO SVT-FML")
    assert "Please reply with a number from 1 to 2" in await rig.say("sms", BOB, "7")
    clock.advance(hours=25)
    assert "I didn't catch that" in await rig.say("sms", BOB, "1")
    assert await orders(rig) == 0


async def test_stop_mutes_broadcasts_but_not_messages_about_the_buyers_order(rig: TwilioRig) -> None:
    await open_go_by_sms(rig)
    assert "Order placed" in await rig.say("sms", BOB, "ORDER SVT-FML ALB:A 1")
    assert await rig.say("sms", BOB, "stop") == ""  # Twilio itself confirms an SMS opt-out
    assert await muted(rig, BOB)
    broadcast = await rig.say("sms", GINA, "BROADCAST SVT-FML all Restock on Friday!")
    assert "on its way to 0 recipient(s)" in broadcast  # the muted buyer is left out
    assert "Reminded 1 buyer(s)" in await rig.say("sms", GINA, "REMIND SVT-FML")
    before = len(rig.api.to(BOB))
    while await rig.app.dispatcher.run_once():
        pass
    delivered = rig.api.to(BOB)[before:]
    assert not any("Restock" in body for body in delivered)  # the broadcast is not sent
    assert any("SVT-FML-1" in body for body in delivered)  # the payment reminder is

    assert "Unmuted" in await rig.say("sms", BOB, "START")
    assert not await muted(rig, BOB)


async def test_stop_on_whatsapp_is_confirmed_and_help_lists_the_commands(rig: TwilioRig) -> None:
    assert "ORDER CODE ITEM QTY" in await rig.say("whatsapp", CARA, "HELP")
    # a Philippine number reads Filipino, the confirmation too
    assert in_language("fil", "Muted: no more GOM announcements.") in await rig.say("whatsapp", CARA, "STOP")
    assert await muted(rig, CARA, "whatsapp")


async def muted(rig: TwilioRig, number: str, channel: str = "sms") -> bool:
    async with rig.app.core.reader() as uow:
        value = await uow.session.scalar(
            select(User.muted)
            .join(Identity, Identity.user_id == User.id)
            .where(Identity.channel == channel, Identity.external_id == stored_id(channel, number))
        )
    return bool(value)


async def test_a_photo_that_is_not_an_image_is_refused_before_it_is_recorded(rig: TwilioRig) -> None:
    url = rig.api.add_media(b"%PDF-1.4", "application/pdf")
    form = inbound_form(
        "whatsapp", CARA, WHATSAPP_FROM, "", NumMedia="1", MediaUrl0=url, MediaContentType0="application/pdf"
    )
    status, twiml = await rig.post("whatsapp", form)
    assert status == 200 and "PNG, JPEG" in twiml and "WebP" in twiml and await recorded(rig) == 0


async def test_a_20_mb_photo_is_refused_and_nothing_is_half_written(rig: TwilioRig) -> None:
    await open_go_by_sms(rig)
    await rig.say("whatsapp", CARA, "ORDER SVT-FML ALB:A 1")
    url = rig.api.add_media(b"\xff\xd8\xff" + b"\0" * (20 * 1024 * 1024), "image/jpeg")
    answer = await rig.say("whatsapp", CARA, "", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg")
    assert in_language("fil", TOO_BIG) in answer  # in the language of the number's country
    async with rig.app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 1
    assert "proof" not in answer.lower()
