"""A GOM's team in three roles: owner, manager (everything but the team and payouts) and
helper (orders, proofs, shipments); the role is read for the GO's own team, in core."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from core.db.models import StaffMember
from core.errors import PermissionDenied
from core.permissions import Permission
from core.services import group_orders
from main import App
from tests.conftest import buyer, open_go, say


def refused(text: str) -> bool:
    return text.startswith("⚠️")


async def team_of_gina(app: App) -> None:
    """Gina runs SVT-FML; Hana helps her, Mia manages for her; Bob has ordered."""
    await open_go(app, items=('POB 3 "Photocard"',))
    for person in ("hana", "mia", "bob"):
        await buyer(app, person)
    assert "As a helper" in (await say(app, "gina", "/helper add @hana")).text
    assert "As a manager" in (await say(app, "gina", "/helper add @mia manager")).text
    assert "Order placed" in (await say(app, "bob", "/order SVT-FML POB 1")).text


async def test_a_helper_handles_orders_but_not_refunds_cancelling_or_broadcasts(any_app: App) -> None:
    await team_of_gina(any_app)

    assert "SVT-FML-1" in (await say(any_app, "hana", "/orders SVT-FML")).text
    for denied in ("/cancelgo SVT-FML", "/broadcast SVT-FML buyers hello", "/refund SVT-FML-1", "/open X"):
        reply = await say(any_app, "hana", denied)
        assert reply.alert and "role" in reply.text, (denied, reply.text)
    assert "/orders" in (await say(any_app, "hana", "/help")).text
    assert "/cancelgo" not in (await say(any_app, "hana", "/help")).text


async def test_a_manager_does_everything_but_the_team_and_payouts(any_app: App) -> None:
    await team_of_gina(any_app)

    assert not refused((await say(any_app, "mia", "/extend SVT-FML +5d")).text)
    for denied in ("/helper add @hana", "/paymethods SVT-FML manual"):
        reply = await say(any_app, "mia", denied)
        assert reply.alert and "role" in reply.text, (denied, reply.text)
    assert not refused((await say(any_app, "mia", "/cancelgo SVT-FML")).text)


async def test_the_owner_changes_a_role_and_it_holds_at_once(any_app: App) -> None:
    await team_of_gina(any_app)
    assert "role" in (await say(any_app, "hana", "/cancelgo SVT-FML")).text

    assert "now a manager" in (await say(any_app, "gina", "/helper role @hana manager")).text

    assert not refused((await say(any_app, "hana", "/cancelgo SVT-FML")).text)
    for bad in ("/helper role @hana owner", "/helper role @hana 💥", "/helper role @nobody helper"):
        assert refused((await say(any_app, "gina", bad)).text), bad


async def test_helpers_lists_the_team_with_roles(any_app: App) -> None:
    await team_of_gina(any_app)

    listing = (await say(any_app, "hana", "/helpers")).text

    assert "gina's team" in listing
    assert "gina — owner" in listing and "mia — manager" in listing and "hana — helper" in listing
    assert (await say(any_app, "bob", "/helpers")).alert


async def test_the_role_is_read_for_the_gos_own_team(any_app: App) -> None:
    """Mia manages for Gina and only helps Otto: she may cancel Gina's GO, not Otto's."""
    await team_of_gina(any_app)
    await open_go(any_app, "OTTO-GO", owner="otto", items=('POB 3 "Photocard"',))
    assert "As a helper" in (await say(any_app, "otto", "/helper add @mia")).text

    assert "role" in (await say(any_app, "mia", "/cancelgo OTTO-GO")).text
    assert not refused((await say(any_app, "mia", "/cancelgo SVT-FML")).text)


async def test_core_refuses_what_the_role_does_not_allow_whoever_calls_it(any_app: App) -> None:
    """The check sits in the service: an adapter that forgot the gate is still refused."""
    await team_of_gina(any_app)
    hana = (await buyer(any_app, "hana")).acting_for(Permission.CANCEL_GO)

    with pytest.raises(PermissionDenied, match="helper"):
        await group_orders.cancel_group_order(any_app.core.uow(), hana, "SVT-FML")


async def test_a_role_change_and_a_removal_at_once_leave_one_clear_outcome(any_app: App) -> None:
    await team_of_gina(any_app)

    replies = await asyncio.gather(
        say(any_app, "gina", "/helper role @hana manager"), say(any_app, "gina", "/helper remove @hana")
    )

    async with any_app.core.reader() as uow:
        roles = (await uow.session.scalars(select(StaffMember.role))).all()
    assert "no longer helps" in replies[1].text
    assert "now a manager" in replies[0].text or "not one of your helpers" in replies[0].text
    assert sorted(roles) == ["manager", "owner"]  # Mia and Gina; Hana is gone, whichever came first
