"""The daily digest: at the GOM's hour in her timezone, once a day, without the GOs she muted."""

from __future__ import annotations

from datetime import UTC, datetime

from core.quantities import LineRequest
from core.services import ordering
from main import App
from tests.conftest import buyer, open_go, say
from tests.integration.test_staff_notices import notices_to, tick_on_two_workers


def at(app: App, moment: datetime) -> None:
    app.core.clock.advance(seconds=(moment - app.core.clock.now()).total_seconds())


async def test_the_digest_comes_at_the_goms_hour_once_and_leaves_out_a_muted_go(any_app: App) -> None:
    app = any_app  # 20:00 in Singapore (SGD GOs read Asia/Singapore)
    await open_go(app, "SVT-FML")
    await open_go(app, "NJZ-OMG")
    assert "Muted NJZ-OMG" in (await say(app, "gina", "/notices mute NJZ-OMG")).text
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 2)])
    await ordering.place_order(app.core.uow(), bob, "NJZ-OMG", [LineRequest("ALB", "A", 1)])
    await tick_on_two_workers(app)
    assert await notices_to(app, "gina", "staff_digest") == []  # today's digest hour (09:00) had no news

    at(app, datetime(2026, 11, 21, 0, 59, tzinfo=UTC))  # 08:59 in Singapore
    await tick_on_two_workers(app)
    assert await notices_to(app, "gina", "staff_digest") == []

    at(app, datetime(2026, 11, 21, 1, 0, tzinfo=UTC))  # 09:00
    await tick_on_two_workers(app)
    at(app, datetime(2026, 11, 21, 5, 0, tzinfo=UTC))
    await tick_on_two_workers(app)

    digests = await notices_to(app, "gina", "staff_digest")
    assert len(digests) == 1, digests
    lines = digests[0]["lines"]
    assert isinstance(lines, list) and [line["code"] for line in lines] == ["SVT-FML"]
    assert lines[0]["new_orders"] == 1 and lines[0]["proofs_waiting"] == 0
    text = app.bot.renderer.render("staff_digest", "console", digests[0]).text
    assert "SVT-FML" in text and "1 new order" in text and "NJZ-OMG" not in text
    assert await notices_to(app, "bob", "staff_digest") == []


async def test_the_digest_follows_the_chosen_hour_and_zone_and_can_be_turned_off(any_app: App) -> None:
    app = any_app
    await open_go(app)
    reply = await say(app, "gina", "/notices digest 21:00 Asia/Seoul")  # 12:00 UTC
    assert "21:00 Asia/Seoul" in reply.text, reply.text
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 1)])

    at(app, datetime(2026, 11, 21, 11, 59, tzinfo=UTC))
    await tick_on_two_workers(app)
    assert await notices_to(app, "gina", "staff_digest") == []
    at(app, datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    await tick_on_two_workers(app)
    assert len(await notices_to(app, "gina", "staff_digest")) == 1

    assert "No daily digest" in (await say(app, "gina", "/notices digest off")).text
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "B", 1)])
    at(app, datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    await tick_on_two_workers(app)
    assert len(await notices_to(app, "gina", "staff_digest")) == 1
