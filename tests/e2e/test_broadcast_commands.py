"""GOMs broadcast, link channels and schedule from chat; buyers mute."""

from __future__ import annotations

from sqlalchemy import select

from core.db.models import OutboxMessage
from core.quantities import LineRequest
from core.services import optout, ordering
from main import App
from tests.conftest import buyer, link_email, open_go, say


async def test_big_broadcast_waits_for_confirmation_and_skips_muted_buyers(
    app: App, outbox_log: list[str]
) -> None:
    await open_go(app, cap=20)
    app.core.settings.__dict__["broadcast_confirm_over"] = 2  # a frozen dataclass: a test-only override
    for name in ("amy", "bob", "cal", "dee"):
        await ordering.place_order(
            app.core.uow(), await buyer(app, name), "SVT-FML", [LineRequest("ALB", "A", 1)]
        )
    assert "Muted" in (await say(app, "dee", "/mute")).text

    preview = await say(app, "gina", "/broadcast SVT-FML all Album arrives Friday!\nBring ID.")
    assert "would reach 3 recipient(s): 3 on console" in preview.text
    assert preview.buttons[0][0].command == "/broadcast confirm 1"
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(OutboxMessage))).all() == []

    sent = await say(app, "gina", "/broadcast confirm 1")
    assert "is on its way to 3 recipient(s)" in sent.text
    assert "nothing to confirm" in (await say(app, "gina", "/broadcast confirm 1")).text
    await app.dispatcher.run_once()
    told = sorted(line.split(":")[0] for line in outbox_log if "Album arrives Friday!" in line)
    assert told == ["📨 to amy", "📨 to bob", "📨 to cal"]
    assert any("Bring ID." in line for line in outbox_log)
    assert "1 sent" not in (await say(app, "gina", "/broadcasts")).text
    assert "3 sent, 0 pending, 0 failed" in (await say(app, "gina", "/broadcasts")).text
    assert "/broadcast is for GOMs" in (await say(app, "amy", "/broadcast SVT-FML all hi")).text


async def test_small_broadcast_goes_at_once_to_the_chosen_audience(app: App, outbox_log: list[str]) -> None:
    await open_go(app)
    await ordering.place_order(
        app.core.uow(), await buyer(app, "amy"), "SVT-FML", [LineRequest("ALB", "A", 1)]
    )
    reply = await say(app, "gina", "/broadcast SVT-FML paid Thanks for paying")
    assert "on its way to 0 recipient(s)" in reply.text
    reply = await say(app, "gina", "/broadcast SVT-FML unpaid Please pay")
    assert "on its way to 1 recipient(s)" in reply.text
    assert "Audience must be one of" in (await say(app, "gina", "/broadcast SVT-FML everyone hi")).text


async def test_linking_channels_and_cancelling_a_schedule(app: App) -> None:
    await open_go(app)
    refused = await say(app, "gina", "/linkchannel SVT-FML discord 123456789012345678")
    assert "cannot check" in refused.text and "nothing was linked" in refused.text  # no Discord here
    assert "confirmation link" in (await say(app, "gina", "/linkchannel SVT-FML email fans@example.com")).text
    assert "waiting for its confirmation link" in (await say(app, "gina", "/channels SVT-FML")).text
    await link_email(app, "gina", "SVT-FML", "fans@example.com")  # a new link, then opened
    assert "already linked" in (await say(app, "gina", "/linkchannel SVT-FML email fans@example.com")).text
    assert (
        "not a telegram destination" in (await say(app, "gina", "/linkchannel SVT-FML telegram hello")).text
    )
    listed = (await say(app, "gina", "/channels SVT-FML")).text
    assert "email fans@example.com" in listed and "waiting" not in listed and "discord" not in listed
    assert "no longer gets" in (await say(app, "gina", "/unlinkchannel SVT-FML email fans@example.com")).text
    scheduled = await say(app, "gina", "/schedule SVT-FML 2026-11-21 20:00 channels Drop tonight!")
    assert "scheduled for Sat 21 Nov 2026, 20:00" in scheduled.text
    assert "is cancelled" in (await say(app, "gina", "/unschedule 1")).text
    assert "Nothing is scheduled." in (await say(app, "gina", "/scheduled")).text


async def test_sms_stop_mutes_and_start_unmutes(app: App) -> None:
    amy = await buyer(app, "amy")
    assert await optout.sms_keyword(app.core.uow(), "console", "amy", " stop ") is True
    assert await optout.sms_keyword(app.core.uow(), "console", "amy", "hello") is None
    assert await optout.sms_keyword(app.core.uow(), "console", "nobody", "STOP") is None
    assert await optout.sms_keyword(app.core.uow(), "console", "amy", "START") is False
    assert amy.user_id > 0
