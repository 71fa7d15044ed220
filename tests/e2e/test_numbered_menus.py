"""Numbered menus through the console in numbered mode (a platform without buttons)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bots.console import ConsoleChat
from core.clock import FrozenClock
from core.config import Settings
from core.db.models import Conversation, GroupOrder, Order
from core.services.accounts import identify, register_gom
from core.services.conversations import load_conversation
from main import App, bootstrap
from tests.conftest import open_go


def numbered(app: App) -> tuple[ConsoleChat, list[str]]:
    out: list[str] = []
    return ConsoleChat(app.bot, out.append, numbered=True), out


async def orders(app: App) -> int:
    async with app.core.reader() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Order)) or 0)


async def test_buttons_become_numbered_replies_and_a_number_runs_its_command(any_app: App) -> None:
    await open_go(any_app, cap=10)
    chat, out = numbered(any_app)
    await chat.feed("/as buyer bob")
    await chat.feed("/go SVT-FML")
    assert (
        "Reply 1 for Order 1 × FML album (Faded Mono Life), 2 for Order 1 × FML album (Fallen Misfit)."
        in out[-1]
    )
    assert "[1]" not in "\n".join(out)  # nothing is drawn as a button
    await chat.feed("2")
    assert "1 × FML album (Fallen Misfit)" in out[-1] and "Reply 1 for Pay, 2 for Cancel order." in out[-1]
    assert await orders(any_app) == 1


async def test_the_menu_survives_a_restart(any_app: App, clock: FrozenClock) -> None:
    await open_go(any_app, cap=10)
    chat, _ = numbered(any_app)
    await chat.feed("/as buyer bob")
    await chat.feed("/go SVT-FML")
    url = any_app.core.db.engine.url.render_as_string(hide_password=False)
    again = bootstrap(Settings(database_url=url), clock=clock, write=lambda _: None)
    try:
        chat, out = numbered(again)
        await chat.feed("/as buyer bob")
        await chat.feed("1")
        assert "1 × FML album (Faded Mono Life)" in out[-1]
    finally:
        await again.core.close()
    assert await orders(any_app) == 1


async def test_a_number_outside_the_menu_is_refused_and_orders_nothing(any_app: App) -> None:
    await open_go(any_app, cap=10)
    chat, out = numbered(any_app)
    await chat.feed("/as buyer bob")
    await chat.feed("/go SVT-FML")
    await chat.feed("7")
    assert "Please reply with a number from 1 to 2" in out[-1]
    assert await orders(any_app) == 0


async def test_a_menu_expires_after_a_day_and_a_reply_without_buttons_ends_it(
    any_app: App, clock: FrozenClock
) -> None:
    await open_go(any_app, cap=10)
    chat, out = numbered(any_app)
    await chat.feed("/as buyer bob")
    await chat.feed("/go SVT-FML")
    clock.advance(hours=25)
    await chat.feed("1")
    assert "Reply 1" not in out[-1] and await orders(any_app) == 0
    await chat.feed("/go SVT-FML")  # a fresh menu …
    await chat.feed("/help")  # … ended by a reply without buttons
    async with any_app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Conversation)) == 0
    await chat.feed("1")
    assert await orders(any_app) == 0


async def test_a_menu_never_takes_over_a_conversation_in_progress(any_app: App) -> None:
    await open_go(any_app, cap=10)
    chat, out = numbered(any_app)
    await chat.feed("/as gom gina")
    await chat.feed("/go SVT-FML")  # a menu …
    await chat.feed("/newgo")  # … replaced by the new-GO conversation
    await chat.feed("1")  # an answer to the conversation's step, not a pick
    assert "A GO code is 2–20 letters" in out[-1]
    assert await orders(any_app) == 0


async def test_a_double_tapped_number_orders_once_per_tap_and_never_oversells(any_app: App) -> None:
    """Two picks of the same one-unit button at once, racing for the last slot."""
    await open_go(any_app, moq=1, cap=1)
    chat, out = numbered(any_app)
    await chat.feed("/as buyer bob")
    await chat.feed("/go SVT-FML")
    await asyncio.gather(chat.feed("1"), chat.feed("1"))
    assert await orders(any_app) == 1
    assert sum("Order placed" in line for line in out) == 1
    # the other tap lost the race for the slot, or (on a slow machine) was read after the
    # order's own menu had replaced the GO's, where 1 is Pay: a number means the newest menu
    assert sum("full" in line or "Pay for order" in line for line in out) == 1, out[-2:]


async def test_a_conversations_question_with_buttons_is_answered_by_number(any_app: App) -> None:
    """The new-GO conversation's currency question offers buttons: "1" answers it as the
    first button would, a number it does not offer is refused, and once the question has
    no buttons, numbers are the flow's to read again."""
    chat, out = numbered(any_app)
    await register_gom(any_app.core.uow(), "console", "gina", "gina")
    await chat.feed("/as gom gina")
    await chat.feed("/newgo")
    await chat.feed("SVT-FML")
    await chat.feed("Seventeen FML")
    assert "(3/7)" in out[-1] and "Reply 1 for SGD, 2 for MYR" in out[-1]
    gina = await identify(any_app.core.uow(), "console", "gina", "gina")
    state = await load_conversation(any_app.core.reader(), gina.identity_id)
    assert state is not None and state.menu is not None
    assert set(state.data) == {"code", "title"}  # the flow's answers alone: the menu is kept beside them
    await chat.feed("12")
    assert "Please reply with a number from 1 to 9" in out[-1]
    await chat.feed("2")  # MYR
    assert "(4/7)" in out[-1]
    await chat.feed("2")  # the minimum order quantity, typed: no menu holds it
    assert "(5/7)" in out[-1]
    for answer in ("10", "none"):
        await chat.feed(answer)
    await chat.feed("+3d")
    assert "Created SVT-FML as a draft" in out[-1]
    async with any_app.core.reader() as uow:
        go = (await uow.session.execute(select(GroupOrder.currency, GroupOrder.moq))).one()
    assert tuple(go) == ("MYR", 2)


async def test_i_agree_to_a_gos_rules_is_a_numbered_reply_that_places_the_order(any_app: App) -> None:
    await open_go(any_app, cap=10)
    chat, out = numbered(any_app)
    await chat.feed("/as gom gina")
    await chat.feed("/policy SVT-FML grace=1d")
    await chat.feed("/as buyer bob")
    await chat.feed("/order SVT-FML ALB:A 1")
    assert "Before your first order in SVT-FML" in out[-1] and "Reply 1 for I agree." in out[-1]
    assert await orders(any_app) == 0
    await chat.feed("1")
    assert "Order placed" in out[-1] and await orders(any_app) == 1
