"""The GOM (and helpers who opted in) hear of what the scheduler and the buyers did: once each."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select

from core.config import Settings
from core.db.models import Identity, NoticeMute, NoticePreference, OutboxMessage
from core.quantities import LineRequest
from core.services import group_orders, ordering
from main import App, bootstrap
from tests.conftest import buyer, gom, open_go, say


async def notices_to(app: App, who: str, template: str) -> list[dict[str, object]]:
    """The contexts of ``template`` messages queued for the console user ``who``, oldest first."""
    async with app.core.reader() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage.context)
            .join(Identity, Identity.id == OutboxMessage.identity_id)
            .where(Identity.external_id == who, OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        )
        return [json.loads(context) for context in rows.all()]


@asynccontextmanager
async def second_worker(app: App) -> AsyncIterator[App]:
    """Another gomflow process on the same database, with the same clock."""
    other = bootstrap(
        Settings(database_url=app.core.settings.database_url), clock=app.core.clock, write=print
    )
    try:
        yield other
    finally:
        await other.core.close()


async def tick_on_two_workers(app: App) -> None:
    async with second_worker(app) as other:
        reports = await asyncio.gather(app.ticker.tick(), other.ticker.tick(), app.ticker.tick())
    for report in reports:
        assert not report.failed, report


async def test_gom_hears_once_that_the_scheduler_confirmed_her_go_even_from_two_workers(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=2, cap=10)
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 2)])
    app.core.clock.advance(days=4)  # past the deadline

    await tick_on_two_workers(app)
    await app.ticker.tick()

    decided = await notices_to(app, "gina", "staff_go_decided")
    assert [n["status"] for n in decided] == ["confirmed"]
    assert await notices_to(app, "bob", "staff_go_decided") == []  # buyers hear it their own way


async def test_gom_hears_once_that_her_go_waits_below_its_moq_then_that_the_scheduler_failed_it(
    any_app: App,
) -> None:
    app = any_app
    await open_go(app, moq=5, cap=10)
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 1)])
    app.core.clock.advance(days=4)

    await tick_on_two_workers(app)
    await tick_on_two_workers(app)
    decided = await notices_to(app, "gina", "staff_go_decided")
    assert [n["status"] for n in decided] == ["closed"]

    app.core.clock.advance(days=2)  # the GOM's decision window (48 hours) ends
    await tick_on_two_workers(app)
    await tick_on_two_workers(app)

    decided = await notices_to(app, "gina", "staff_go_decided")
    assert [n["status"] for n in decided] == ["closed", "failed"]
    text = app.bot.renderer.render("staff_go_decided", "console", decided[1]).text
    assert "does not go ahead" in text and "SVT-FML" in text


async def test_a_go_the_gom_closes_herself_is_not_reported_back_to_her(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=10)
    await say(app, "bob", "/order SVT-FML ALB:A 1")
    await group_orders.close_group_order(app.core.uow(), await gom(app), "SVT-FML")
    await tick_on_two_workers(app)
    assert await notices_to(app, "gina", "staff_go_decided") == []


async def test_moq_reached_then_sold_out_are_each_told_once_to_gom_and_opted_in_helper(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=2, cap=4)
    await buyer(app, "hana")
    reply = await say(app, "gina", "/helper add @hana")
    assert "⚠️" not in reply.text, reply.text
    reply = await say(app, "hana", "/notices on")
    assert "⚠️" not in reply.text, reply.text
    bob, amy = await buyer(app, "bob"), await buyer(app, "amy")

    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 2)])
    await tick_on_two_workers(app)
    await ordering.place_order(app.core.uow(), amy, "SVT-FML", [LineRequest("ALB", "B", 2)])
    await tick_on_two_workers(app)
    await tick_on_two_workers(app)

    for who in ("gina", "hana"):
        told = [n["milestone"] for n in await notices_to(app, who, "staff_milestone")]
        assert told == ["moq_reached", "sold_out"], (who, told)


async def test_a_go_that_sells_out_between_ticks_tells_only_that_it_sold_out(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=2, cap=4)
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 4)])
    await tick_on_two_workers(app)
    assert [n["milestone"] for n in await notices_to(app, "gina", "staff_milestone")] == ["sold_out"]


async def test_a_helper_who_did_not_opt_in_and_a_gom_who_muted_the_go_hear_nothing(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=2)
    await buyer(app, "hana")
    assert "⚠️" not in (await say(app, "gina", "/helper add @hana")).text
    reply = await say(app, "gina", "/notices mute SVT-FML")
    assert "muted" in reply.text.lower(), reply.text
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 2)])
    await tick_on_two_workers(app)
    assert await notices_to(app, "gina", "staff_milestone") == []
    assert await notices_to(app, "hana", "staff_milestone") == []

    assert "⚠️" not in (await say(app, "gina", "/notices unmute SVT-FML")).text
    await app.ticker.tick()
    assert [n["milestone"] for n in await notices_to(app, "gina", "staff_milestone")] == ["sold_out"]


async def test_notices_refuses_bad_hours_zones_codes_and_buyers_and_writes_nothing(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await open_go(app, "OTHER-GO", owner="olga")
    await buyer(app, "bob")
    refusals = {
        "/notices digest 25:00": "is not an hour",
        "/notices digest 9:30": "on the hour",
        "/notices digest 09:00 Mars/Olympus": "is not a timezone",
        "/notices mute NOPE-GO": "NOPE-GO",
        "/notices mute OTHER-GO": "",
        "/notices loud": "Usage: /notices",
        "/notices digest " + "9" * 3000: "is not an hour",
    }
    for text, words in refusals.items():
        reply = await say(app, "gina", text)
        assert reply.text.startswith("⚠️") and words in reply.text, (text, reply.text)
    assert (await say(app, "bob", "/notices")).text.startswith("⚠️")
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(NoticePreference))).all() == []
        assert (await uow.session.scalars(select(NoticeMute))).all() == []


async def test_a_double_tap_on_notices_settings_keeps_one_row(any_app: App) -> None:
    app = any_app
    await open_go(app)
    replies = await asyncio.gather(
        say(app, "gina", "/notices digest 21:00 Asia/Seoul"),
        say(app, "gina", "/notices digest 21:00 Asia/Seoul"),
        say(app, "gina", "/notices mute SVT-FML"),
        say(app, "gina", "/notices mute SVT-FML"),
    )
    assert all("⚠️" not in r.text for r in replies), [r.text for r in replies]
    shown = (await say(app, "gina", "/notices")).text
    assert "21:00 Asia/Seoul" in shown and "Muted: SVT-FML" in shown
    async with app.core.reader() as uow:
        assert len((await uow.session.scalars(select(NoticePreference))).all()) == 1
        assert len((await uow.session.scalars(select(NoticeMute))).all()) == 1
    assert "No daily digest" in (await say(app, "gina", "/notices digest off")).text
