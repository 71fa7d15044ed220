"""Removing a GOM: refused while their group orders run, and once only when two operators try."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from core.db.models import StaffMember
from core.errors import Conflict, GomflowError, InvalidInput
from core.services import gom_accounts, group_orders
from main import App
from tests.conftest import buyer, gom, open_go, say


async def test_a_gom_with_a_running_go_is_not_removed_and_is_told_which(any_app: App) -> None:
    app = any_app
    await open_go(app)
    with pytest.raises(Conflict, match="SVT-FML"):
        await gom_accounts.remove_gom(app.core.uow(), "console", "gina")
    assert [g.name for g in await gom_accounts.list_goms(app.core.reader())] == ["gina"]

    await group_orders.cancel_group_order(app.core.uow(), await gom(app), "SVT-FML")
    assert await gom_accounts.remove_gom(app.core.uow(), "console", "gina") == "gina"
    assert await gom_accounts.list_goms(app.core.reader()) == []
    assert (await say(app, "gina", "/newgo X2 t currency=SGD moq=1 cap=2 deadline=+1d")).text.startswith("⚠️")


async def test_two_operators_removing_one_gom_at_once_remove_her_once(any_app: App) -> None:
    app = any_app
    await gom(app)
    await buyer(app, "hana")
    assert "⚠️" not in (await say(app, "gina", "/helper add @hana")).text
    outcomes = await asyncio.gather(
        *(gom_accounts.remove_gom(app.core.uow(), "console", "gina") for _ in range(3)),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["InvalidInput", "InvalidInput", "str"], outcomes
    assert all(not isinstance(o, Exception) or isinstance(o, GomflowError) for o in outcomes)
    assert any(isinstance(o, InvalidInput) and "is not a GOM" in o.message for o in outcomes)
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(StaffMember))).all() == []  # her team went with her
