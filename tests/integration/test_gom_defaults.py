"""A GO opened without a per-buyer limit warns its GOM, and a GOM's default limit
(/defaults limit N) applies to the GOs they open after."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from core.db.models import GroupOrder, User
from main import App
from tests.conftest import buyer, gom, say

NEWGO = '/newgo {code} "Drop" currency=SGD moq=1 cap=50 deadline=+3d'
WARNING = "no per-buyer limit"


async def limit_of(app: App, code: str) -> int | None:
    async with app.core.reader() as uow:
        return await uow.session.scalar(select(GroupOrder.per_buyer_limit).where(GroupOrder.code == code))


async def default_of(app: App, name: str) -> int | None:
    async with app.core.reader() as uow:
        return await uow.session.scalar(select(User.default_buyer_limit).where(User.display_name == name))


async def test_a_go_without_a_per_buyer_limit_warns_its_gom(any_app: App) -> None:
    await gom(any_app)

    created = await say(any_app, "gina", NEWGO.format(code="NO-LIMIT"))
    limited = await say(any_app, "gina", NEWGO.format(code="LIMITED") + " limit=2")

    assert WARNING in created.text and "/defaults limit" in created.text
    assert WARNING not in limited.text


async def test_the_gom_default_limit_applies_to_new_gos_only_where_none_is_given(any_app: App) -> None:
    await gom(any_app)
    await say(any_app, "gina", NEWGO.format(code="BEFORE"))

    assert "2 per buyer" in (await say(any_app, "gina", "/defaults limit 2")).text
    created = await say(any_app, "gina", NEWGO.format(code="AFTER"))
    await say(any_app, "gina", NEWGO.format(code="OWN") + " limit=5")
    await say(any_app, "gina", '/newgo TINY "Tiny" currency=SGD moq=1 cap=1 deadline=+3d')

    assert WARNING not in created.text
    assert [await limit_of(any_app, c) for c in ("BEFORE", "AFTER", "OWN", "TINY")] == [None, 2, 5, 1]
    assert "2 per buyer" in (await say(any_app, "gina", "/defaults")).text
    assert "no per-buyer limit" in (await say(any_app, "gina", "/defaults limit off")).text
    assert await default_of(any_app, "gina") is None


async def test_bad_defaults_are_refused_and_change_nothing(any_app: App) -> None:
    await gom(any_app)
    await say(any_app, "gina", "/defaults limit 3")

    for bad in (
        "/defaults limit 0",
        "/defaults limit abc",
        "/defaults limit 999999999999",
        "/defaults wat 2",
    ):
        reply = await say(any_app, "gina", bad)
        assert reply.alert, bad
    assert await default_of(any_app, "gina") == 3


async def test_only_the_gom_sets_their_defaults(any_app: App) -> None:
    await gom(any_app)
    await buyer(any_app, "mia")
    await say(any_app, "gina", "/helper add @mia manager")

    assert (await say(any_app, "mia", "/defaults limit 1")).alert
    assert (await say(any_app, "bob", "/defaults limit 1")).alert
    assert await default_of(any_app, "gina") is None


async def test_two_defaults_at_once_leave_one_of_them(any_app: App) -> None:
    await gom(any_app)

    replies = await asyncio.gather(
        say(any_app, "gina", "/defaults limit 2"), say(any_app, "gina", "/defaults limit 4")
    )

    assert all("per buyer" in r.text for r in replies)
    assert await default_of(any_app, "gina") in {2, 4}
