"""WhatsApp's 24-hour customer-service window: free-form inside it, an approved template
outside it, and a message with no template waits (visibly, never retried as transient)
until the buyer writes again."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import FrozenClock
from core.db.models import OutboxMessage
from core.outbox import claim_due
from core.services.service_window import mark_waiting, note_inbound
from tests.conftest import BACKENDS, fresh_database_url, in_language
from tests.fakes.twilio_rig import TwilioRig, twilio_rig
from tests.integration.test_twilio_go import CARA, GINA, open_go_by_sms

REMINDER_SID = "HX" + "a" * 32


@pytest.fixture(params=BACKENDS)
async def rig(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[TwilioRig]:
    async with twilio_rig(await fresh_database_url(request.param, tmp_path), clock) as rig:
        yield rig


async def cara_orders_then_goes_quiet(rig: TwilioRig, clock: FrozenClock) -> None:
    await open_go_by_sms(rig)
    # a Philippine number: her messages come in Filipino
    assert in_language("fil", "Order placed!") in await rig.say("whatsapp", CARA, "ORDER SVT-FML ALB:A 1")
    clock.advance(hours=25)  # her window closes


async def outbox_rows(rig: TwilioRig) -> list[tuple[str, str, str | None]]:
    async with rig.app.core.reader() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage.template, OutboxMessage.status, OutboxMessage.last_error).order_by(
                OutboxMessage.id
            )
        )
        return [(t, s, e) for t, s, e in rows]


async def drain(rig: TwilioRig, clock: FrozenClock, timeout: float = 60.0) -> None:
    """Deliver until no message is left pending; the frozen clock is moved on past what a
    rate limit deferred."""
    deadline = time.monotonic() + timeout
    while any(status == "pending" for _, status, _ in await outbox_rows(rig)):
        assert time.monotonic() < deadline, "outbox not settled"
        await rig.app.dispatcher.run_once()
        clock.advance(seconds=2)


async def test_outside_the_window_a_message_without_template_waits_until_the_buyer_writes(
    rig: TwilioRig, clock: FrozenClock
) -> None:
    await cara_orders_then_goes_quiet(rig, clock)
    before = len(rig.api.to(CARA))
    assert "Reminded 1 buyer(s)" in await rig.say("sms", GINA, "REMIND SVT-FML")
    assert "on its way to 1 recipient(s)" in await rig.say(
        "sms", GINA, "BROADCAST SVT-FML all Restock Friday"
    )
    await drain(rig, clock)
    await drain(rig, clock)  # not retried as if the failure were passing
    assert rig.api.to(CARA)[before:] == []
    rows = await outbox_rows(rig)
    assert [(t, s) for t, s, _ in rows] == [("payment_reminder", "waiting"), ("broadcast", "waiting")]
    assert all("no approved template" in (e or "") for _, _, e in rows)
    assert rig.app.dispatcher.stats.waiting == 2
    # the GOM sees the broadcast waiting, and the reminder beside the GO's payments
    assert "1 waiting for the buyer to write first" in await rig.say("sms", GINA, "BROADCASTS")
    payments = await rig.say("sms", GINA, "PAYMENTS SVT-FML")
    assert "Waiting for the buyer to write first" in payments, payments
    assert "(whatsapp): payment reminder" in payments and "broadcast" not in payments

    await rig.say("whatsapp", CARA, "MYORDERS")  # she writes: the window opens again
    await drain(rig, clock)
    delivered = rig.api.to(CARA)[before:]
    assert any(body.startswith("🔔") and "SVT-FML-1" in body for body in delivered)  # in Filipino
    assert any("Restock Friday" in body for body in delivered)
    assert {s for _, s, _ in await outbox_rows(rig)} == {"sent"}
    assert "Waiting for the buyer" not in await rig.say("sms", GINA, "PAYMENTS SVT-FML")


async def test_twilio_refusing_a_free_form_message_parks_it_instead_of_retrying(
    rig: TwilioRig, clock: FrozenClock
) -> None:
    await open_go_by_sms(rig)
    await rig.say("whatsapp", CARA, "ORDER SVT-FML ALB:A 1")
    rig.api.window_closed = True  # Twilio knows better than our clock: error 63016
    await rig.say("sms", GINA, "REMIND SVT-FML")
    await drain(rig, clock)
    rows = await outbox_rows(rig)
    assert [(t, s) for t, s, _ in rows] == [("payment_reminder", "waiting")]
    assert "63016" in (rows[0][2] or "")
    async with rig.app.core.reader() as uow:
        attempts = await uow.session.scalar(select(OutboxMessage.attempts))
    assert attempts == 0  # waiting is not an attempt used up


@pytest.mark.parametrize("backend", BACKENDS)
async def test_outside_the_window_an_approved_template_goes_at_once(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    url = await fresh_database_url(backend, tmp_path)
    async with twilio_rig(url, clock, twilio_whatsapp_templates=f"payment_reminder={REMINDER_SID}") as rig:
        await cara_orders_then_goes_quiet(rig, clock)
        await rig.say("sms", GINA, "REMIND SVT-FML")
        await drain(rig, clock)
        sent = [m for m in rig.api.sent if m["To"] == "whatsapp:" + CARA and "ContentSid" in m]
        assert len(sent) == 1 and sent[0]["ContentSid"] == REMINDER_SID and "Body" not in sent[0]
        assert "SVT-FML-1" in json.loads(sent[0]["ContentVariables"])["1"]
        assert [(t, s) for t, s, _ in await outbox_rows(rig)] == [("payment_reminder", "sent")]


async def test_a_buyer_writing_while_a_message_is_parked_never_leaves_it_waiting(
    rig: TwilioRig, clock: FrozenClock
) -> None:
    """The dispatcher parks a message at the moment the buyer writes: whichever commits
    first, the message ends due, not waiting."""
    await cara_orders_then_goes_quiet(rig, clock)
    await rig.say("sms", GINA, "REMIND SVT-FML")
    core = rig.app.core
    for _ in range(5):
        claimed = [m for m in await claim_due(core.uow()) if m.channel == "whatsapp"]
        assert len(claimed) == 1
        await asyncio.gather(
            mark_waiting(core.uow(), claimed[0], "no template"),
            note_inbound(core.uow(), "whatsapp", CARA),
        )
        assert [(t, s) for t, s, _ in await outbox_rows(rig)] == [("payment_reminder", "pending")]
        clock.advance(hours=25)
