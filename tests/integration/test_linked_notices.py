"""Linked channels read a GO's story in order; waitlisted buyers hear when their wait ends."""

from __future__ import annotations

import json

from sqlalchemy import select

from core.db.models import Identity, OutboxMessage
from core.privacy.identities import stored_id
from core.quantities import LineRequest
from core.services import group_orders, ordering, waitlist
from main import App
from tests.conftest import buyer, gom, link_email, open_go, say
from tests.integration.test_staff_notices import notices_to, tick_on_two_workers


async def channel_story(app: App, address: str) -> list[str]:
    """What a linked email list was sent, in outbox order: statuses and milestones."""
    async with app.core.reader() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage.template, OutboxMessage.context)
            .join(Identity, Identity.id == OutboxMessage.identity_id)
            .where(Identity.external_id == stored_id("email", address, app.core.keyring))
            .where(OutboxMessage.template.in_(["go_announcement", "milestone"]))
            .order_by(OutboxMessage.id)
        )
        return [
            json.loads(context)["status" if template == "go_announcement" else "milestone"]
            for template, context in rows.all()
        ]


async def test_a_channel_reads_that_a_go_opened_before_it_reads_it_sold_out(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=2, cap=4)
    await link_email(app, "gina", "SVT-FML", "fans@example.com")
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 4)])  # a drop

    await tick_on_two_workers(app)
    await tick_on_two_workers(app)

    assert await channel_story(app, "fans@example.com") == ["open", "sold_out"]


async def test_a_channel_hears_every_status_change_even_two_between_ticks(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=4)
    await link_email(app, "gina", "SVT-FML", "fans@example.com")
    await say(app, "bob", "/order SVT-FML ALB:A 1")
    await app.ticker.tick()
    gina = await gom(app)
    await group_orders.close_group_order(app.core.uow(), gina, "SVT-FML")
    for step in ("ordered", "arrived", "packing"):
        await group_orders.advance_group_order(app.core.uow(), gina, "SVT-FML", step)

    await tick_on_two_workers(app)
    await tick_on_two_workers(app)

    story = await channel_story(app, "fans@example.com")
    assert story == ["open", "moq_reached", "confirmed", "ordered", "arrived", "packing"], story


async def test_waitlisted_buyers_are_told_once_when_the_go_closes(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=2)
    bob, amy, cho = await buyer(app, "bob"), await buyer(app, "amy"), await buyer(app, "cho")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 2)])
    await waitlist.join_waitlist(app.core.uow(), amy, "SVT-FML", LineRequest("ALB", "B", 1))
    await waitlist.join_waitlist(app.core.uow(), cho, "SVT-FML", LineRequest("ALB", "A", 1))
    await waitlist.leave_waitlist(app.core.uow(), cho, "SVT-FML")
    app.core.clock.advance(days=4)

    await tick_on_two_workers(app)
    await tick_on_two_workers(app)

    told = await notices_to(app, "amy", "waitlist_ended")
    assert [n["status"] for n in told] == ["confirmed"]
    text = app.bot.renderer.render("waitlist_ended", "console", told[0]).text
    assert "closed" in text and "no slot" in text.lower()
    assert await notices_to(app, "cho", "waitlist_ended") == []  # she had left the waitlist
    assert await notices_to(app, "bob", "waitlist_ended") == []


async def test_waitlisted_buyers_are_told_once_when_the_gom_cancels_the_go(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=1)
    bob, amy = await buyer(app, "bob"), await buyer(app, "amy")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 1)])
    await waitlist.join_waitlist(app.core.uow(), amy, "SVT-FML", LineRequest("ALB", "B", 1))
    await group_orders.cancel_group_order(app.core.uow(), await gom(app), "SVT-FML")

    await tick_on_two_workers(app)
    await tick_on_two_workers(app)

    told = await notices_to(app, "amy", "waitlist_ended")
    assert [n["status"] for n in told] == ["cancelled"]
    assert "cancelled" in app.bot.renderer.render("waitlist_ended", "console", told[0]).text
