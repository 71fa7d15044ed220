"""Twilio's delivery status callbacks update the outbox row they name; an unreachable
number is marked once; reports that arrive late, twice or at once never move it back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.clock import FrozenClock
from core.db.models import AuditEntry, Identity, OutboxMessage
from core.privacy.identities import stored_id
from tests.conftest import BACKENDS, fresh_database_url
from tests.fakes.twilio_api import SID
from tests.fakes.twilio_rig import PUBLIC_BASE, SMS_FROM, TwilioRig, twilio_rig
from tests.integration.test_twilio_go import BOB, GINA, open_go_by_sms

STATUS = "/webhooks/twilio/status"


@pytest.fixture(params=BACKENDS)
async def rig(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[TwilioRig]:
    url = await fresh_database_url(request.param, tmp_path)
    async with twilio_rig(url, clock) as rig:
        yield rig


async def reminded(rig: TwilioRig) -> str:
    """Bob orders, the GOM reminds him to pay; the path Twilio will report its delivery to."""
    await open_go_by_sms(rig)
    await rig.say("sms", BOB, "ORDER SVT-FML ALB:A 1")
    await rig.say("sms", GINA, "REMIND SVT-FML")
    while await rig.app.dispatcher.run_once():
        pass
    callbacks = [m["StatusCallback"] for m in rig.api.sent if "StatusCallback" in m]
    assert len(callbacks) == 1 and callbacks[0].startswith(PUBLIC_BASE + STATUS + "?m=gf")
    return callbacks[0][len(PUBLIC_BASE) :]


def report(status: str, error: str = "") -> dict[str, str]:
    form = {
        "SmsSid": "SM" + "1" * 32,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": BOB,
        "MessageSid": "SM" + "1" * 32,
        "AccountSid": SID,
        "From": SMS_FROM,
        "ApiVersion": "2010-04-01",
    }
    return form | ({"ErrorCode": error} if error else {})


async def delivery(rig: TwilioRig) -> tuple[str | None, int | None]:
    async with rig.app.core.reader() as uow:
        row = (
            await uow.session.execute(
                select(OutboxMessage.delivery_status, OutboxMessage.delivery_error).where(
                    OutboxMessage.template == "payment_reminder"
                )
            )
        ).one()
    return row[0], row[1]


async def reachable(rig: TwilioRig) -> bool:
    async with rig.app.core.reader() as uow:
        value = await uow.session.scalar(
            select(Identity.reachable).where(Identity.external_id == stored_id("sms", BOB))
        )
    return bool(value)


async def test_delivered_is_recorded_and_a_late_sent_does_not_undo_it(rig: TwilioRig) -> None:
    path = await reminded(rig)
    assert (await rig.hooks.post(path, report("delivered")))[0] == 204
    assert await delivery(rig) == ("delivered", None)
    assert (await rig.hooks.post(path, report("sent")))[0] == 204
    assert await delivery(rig) == ("delivered", None)
    assert await reachable(rig)


async def test_an_unsigned_status_callback_is_refused(rig: TwilioRig) -> None:
    path = await reminded(rig)
    assert (await rig.hooks.post(path, report("undelivered", "30005"), signature=""))[0] == 403
    other = rig.hooks.signature(STATUS + "?m=gf999-1", report("undelivered", "30005"))
    assert (await rig.hooks.post(path, report("undelivered", "30005"), signature=other))[0] == 403
    assert await delivery(rig) == (None, None) and await reachable(rig)


async def test_an_undeliverable_number_is_marked_unreachable_once(rig: TwilioRig) -> None:
    path = await reminded(rig)
    results = await asyncio.gather(*(rig.hooks.post(path, report("undelivered", "30005")) for _ in range(4)))
    assert [status for status, _ in results] == [204] * 4
    assert await delivery(rig) == ("undelivered", 30005)
    assert not await reachable(rig)
    async with rig.app.core.reader() as uow:
        marks = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "unreachable")
        )
    assert marks == 1


async def test_reports_racing_each_other_end_on_the_furthest_status(rig: TwilioRig) -> None:
    path = await reminded(rig)
    statuses = ["sent", "delivered", "read", "sent", "delivered"]
    await asyncio.gather(*(rig.hooks.post(path, report(s)) for s in statuses))
    assert await delivery(rig) == ("read", None)


async def test_a_temporary_failure_is_recorded_without_marking_the_number(rig: TwilioRig) -> None:
    path = await reminded(rig)
    await rig.hooks.post(path, report("undelivered", "30003"))  # handset switched off
    assert await delivery(rig) == ("undelivered", 30003) and await reachable(rig)
