"""Random inclusions when two people act at once: one allocation, one announcement, and
no ranking written after the GOM locked rankings (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from core.db.models import AllocatedUnit, Allocation, AuditEntry, InclusionRanking
from core.services import allocations, inclusions
from core.services.accounts import Actor, identify
from main import App
from tests.conftest import say
from tests.integration.test_inclusions import arrived_go, outbox


async def test_two_allocates_at_once_allocate_once(any_app: App) -> None:
    await arrived_go(any_app, orders={"bob": 2, "amy": 1}, ranks={"bob": "1,2"})
    await say(any_app, "gina", '/received SVT-FML ALB "Mingyu PC=1,Wonwoo PC=1,Hoshi PC=1"')
    gina = await _actor(any_app)
    first, second = await asyncio.gather(
        allocations.allocate_item(any_app.core.uow(), gina, "SVT-FML", "ALB", tie_break="claim_time"),
        allocations.allocate_item(any_app.core.uow(), gina, "SVT-FML", "ALB", tie_break="claim_time"),
    )
    assert sorted([first.already, second.already]) == [False, True]
    assert first.claims == second.claims
    async with any_app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Allocation)) == 1
        assert await uow.session.scalar(select(func.count()).select_from(AllocatedUnit)) == 3
        audits = await uow.session.scalar(select(func.count()).where(AuditEntry.action == "allocated"))
    assert audits == 1


async def test_two_announcements_at_once_tell_each_buyer_once(any_app: App) -> None:
    await arrived_go(any_app, orders={"bob": 1, "amy": 1})
    await say(any_app, "gina", '/received SVT-FML ALB "Mingyu PC=2"')
    await say(any_app, "gina", "/allocate SVT-FML ALB ties=claim_time")
    gina = await _actor(any_app)
    outcomes = await asyncio.gather(
        allocations.announce(any_app.core.uow(), gina, "SVT-FML", "ALB"),
        allocations.announce(any_app.core.uow(), gina, "SVT-FML", "ALB"),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and "already announced" in str(refused[0]), outcomes
    assert len(await outbox(any_app, "inclusions_allotted")) == 2


async def test_a_ranking_and_the_lock_at_once_never_write_after_the_lock(any_app: App) -> None:
    await arrived_go(any_app, orders={"bob": 1})
    gina = await _actor(any_app)
    bob = await _actor(any_app, "bob")
    ranked, locked = await asyncio.gather(
        inclusions.rank(any_app.core.uow(), bob, "SVT-FML-1", None, "3,2"),
        inclusions.lock_rankings(any_app.core.uow(), gina, "SVT-FML", lock=True),
        return_exceptions=True,
    )
    assert locked == "SVT-FML", locked
    async with any_app.core.reader() as uow:
        written = await uow.session.scalar(select(func.count()).select_from(InclusionRanking))
        order = (
            await uow.session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.in_(["inclusions_ranked", "rankings_locked"]))
                .order_by(AuditEntry.id)
            )
        ).all()
    if isinstance(ranked, Exception):
        assert "rankings are locked" in str(ranked), ranked
        assert written == 0 and list(order) == ["rankings_locked"]
    else:
        assert written == 1 and list(order) == ["inclusions_ranked", "rankings_locked"]


async def test_two_taps_at_once_on_one_order_both_count(any_app: App) -> None:
    await arrived_go(any_app, orders={"bob": 1})
    bob = await _actor(any_app, "bob")
    taps = await asyncio.gather(
        inclusions.rank(any_app.core.uow(), bob, "SVT-FML-1", "ALB", "+1"),
        inclusions.rank(any_app.core.uow(), bob, "SVT-FML-1", "ALB", "+3"),
        inclusions.rank(any_app.core.uow(), bob, "SVT-FML-1", "ALB", "+3"),
    )
    final = await inclusions.my_rankings(any_app.core.reader(), bob, "SVT-FML-1")
    assert sorted(final[0].ranking) == [1, 3], (taps, final)
    async with any_app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(InclusionRanking)) == 1


async def _actor(app: App, name: str = "gina") -> Actor:
    return await identify(app.core.uow(), "console", name, name, name)
