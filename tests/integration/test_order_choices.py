"""The order buttons every platform gets come from core's choices (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from core.choices import NotOrderable, OrderChoices
from core.errors import PriceChanged
from core.quantities import LineRequest
from core.services import ordering, reports
from core.services.accounts import identify
from main import App
from tests.conftest import open_go, say


async def order_labels(app: App, who: str) -> list[str]:
    reply = await say(app, who, "/go SVT-FML")
    return [b.label for row in reply.buttons for b in row if (b.command or "").startswith("/order")]


async def choices_of(app: App, who: str) -> OrderChoices:
    actor = await identify(app.core.uow(), "console", who, who, who)
    card = await reports.visible_card(app.core.reader(), actor, "SVT-FML")
    return await ordering.choices_for(app.core.reader(), card, actor.user_id)


async def test_a_full_go_offers_no_order_button(any_app: App) -> None:
    await open_go(any_app, moq=1, cap=1)
    assert len(await order_labels(any_app, "bob")) == 2  # both versions while there is room
    assert "Order placed" in (await say(any_app, "amy", "/order SVT-FML ALB:A 1")).text
    assert await order_labels(any_app, "bob") == []
    choices = await choices_of(any_app, "bob")
    assert choices.why is NotOrderable.FULL


async def test_a_sold_out_item_loses_its_button_and_the_rest_keep_theirs(any_app: App) -> None:
    await open_go(any_app, cap=20, items=('POB 3 "Photocard" stock=1', 'TOTE 9 "Tote bag"'))
    assert await order_labels(any_app, "bob") == ["Order 1 × Photocard", "Order 1 × Tote bag"]
    assert "Order placed" in (await say(any_app, "amy", "/order SVT-FML POB 1")).text
    assert await order_labels(any_app, "bob") == ["Order 1 × Tote bag"]
    photocard = (await choices_of(any_app, "bob")).find("POB")
    assert photocard is not None and photocard.why is NotOrderable.SOLD_OUT


async def test_a_buyer_at_their_limit_gets_no_button_while_others_still_do(any_app: App) -> None:
    await open_go(any_app, cap=20, limit=3)
    assert "Order placed" in (await say(any_app, "bob", "/order SVT-FML ALB:A 2")).text
    assert [c.most for c in (await choices_of(any_app, "bob")).choices] == [1, 1]
    assert "Order placed" in (await say(any_app, "bob", "/order SVT-FML ALB:B 1")).text
    assert await order_labels(any_app, "bob") == []
    bob = await choices_of(any_app, "bob")
    assert bob.why is NotOrderable.AT_LIMIT and bob.message is not None and "you hold 3" in bob.message
    assert len(await order_labels(any_app, "amy")) == 2


async def test_buyers_racing_for_the_last_slots_see_the_go_full_afterwards(any_app: App) -> None:
    """Two buyers order the last room at once: one wins, and then nobody is offered more."""
    await open_go(any_app, moq=1, cap=2)
    replies = await asyncio.gather(
        say(any_app, "amy", "/order SVT-FML ALB:A 2"), say(any_app, "bob", "/order SVT-FML ALB:B 2")
    )
    assert sum("Order placed" in r.text for r in replies) == 1
    for who in ("amy", "bob", "cat"):
        assert await order_labels(any_app, who) == []


async def test_a_price_change_reads_the_same_in_the_choices_and_at_the_desk(any_app: App) -> None:
    await open_go(any_app, items=("POB 3 Photocard",))
    choice = (await choices_of(any_app, "bob")).find("POB")
    assert choice is not None
    bob = await identify(any_app.core.uow(), "console", "bob", "bob", "bob")
    with pytest.raises(PriceChanged) as refused:
        await ordering.place_order(
            any_app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)], {"POB": 250}
        )
    assert choice.price_change(250, "SGD") == refused.value.message
