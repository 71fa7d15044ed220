"""Random inclusions end to end: declared, ranked, a seed committed before the draw, what
arrived, one allocation, its announcement, and checking it again."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select, update

from core import allocation as algo
from core.db.models import (
    AllocatedUnit,
    Allocation,
    AuditEntry,
    Identity,
    Inclusion,
    InclusionRanking,
    InclusionSettings,
    OutboxMessage,
)
from core.services.accounts import Actor, identify
from main import App, verify_allocation
from tests.conftest import link_email, open_go, say

ITEMS = ('ALB 25.90 "FML album"', 'TOTE 9 "Tote bag"')


async def arrived_go(app: App, *, orders: dict[str, int], ranks: dict[str, str] | None = None) -> None:
    """A GO of ALB with three photocards, ``orders`` placed in turn and ranked, now arrived."""
    await open_go(app, moq=1, items=ITEMS)
    added = await say(app, "gina", '/inclusions SVT-FML ALB add "Mingyu PC, Wonwoo PC,Hoshi PC"')
    assert "3. Hoshi PC" in added.text, added.text
    for n, (who, quantity) in enumerate(orders.items(), start=1):
        placed = await say(app, who, f"/order SVT-FML ALB {quantity}")
        assert "rank the ones you want with /rank SVT-FML-" in placed.text, placed.text
        assert any(b.command == f"/rank SVT-FML-{n}" for row in placed.buttons for b in row)
        if ranks and who in ranks:
            ranked = await say(app, who, f"/rank SVT-FML-{n} {ranks[who]}")
            assert "Your ranking:" in ranked.text, ranked.text
    for step in ("/close SVT-FML confirm", "/status SVT-FML ordered", "/status SVT-FML arrived"):
        reply = await say(app, "gina", step)
        assert not reply.text.startswith("⚠️"), (step, reply.text)


async def outbox(app: App, template: str) -> list[tuple[int, str, dict[str, object]]]:
    async with app.core.reader() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage.id, Identity.external_id, OutboxMessage.context)
            .join(Identity, Identity.id == OutboxMessage.identity_id)
            .where(OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        )
        return [(i, who, json.loads(context)) for i, who, context in rows.all()]


async def test_a_lottery_allocation_from_seed_to_announcement_checks_out(app: App, tmp_path: Path) -> None:
    await arrived_go(
        app, orders={"bob": 2, "amy": 1, "cal": 1, "dee": 1}, ranks={"bob": "2,1", "amy": "1", "cal": "1 3"}
    )
    await link_email(app, "gina", "SVT-FML", "list@example.com")
    seeded = await say(app, "gina", "/lottery SVT-FML seed")
    assert "Posted to 1 linked channel(s)" in seeded.text, seeded.text
    [(committed_id, _, committed)] = await outbox(app, "lottery_committed")
    again = await say(app, "gina", "/lottery SVT-FML seed")
    assert "already has a seed committed" in again.text

    received = await say(app, "gina", '/received SVT-FML ALB "Mingyu PC=2, hoshi pc=1, 2=1"')
    assert "1. Mingyu PC — 2 received" in received.text, received.text
    result = await say(app, "gina", "/allocate SVT-FML ALB")
    assert "5 unit(s) claimed, 4 inclusion(s) received, ties by lottery" in result.text, result.text
    assert "Not announced yet" in result.text
    late = await say(app, "bob", "/rank SVT-FML-1 3")
    assert "rankings are locked" in late.text

    announced = await say(app, "gina", "/allocation SVT-FML ALB announce")
    assert "Announced to buyers" in announced.text
    [(result_id, _, public)] = await outbox(app, "allocation_announced")
    assert committed_id < result_id  # the commitment was queued before the result
    seed = str(public["seed"])
    assert algo.commitment("SVT-FML", seed) == committed["commitment"] == public["commitment"]
    told = await outbox(app, "inclusions_allotted")
    assert sorted(who for _, who, _ in told) == ["amy", "bob", "cal", "dee"]
    bobs = next(context for _, who, context in told if who == "bob")
    assert bobs["number"] == "SVT-FML-1" and len(bobs["got"]) == 2  # type: ignore[arg-type]
    got = [g for _, _, context in told for g in context["got"]]  # type: ignore[attr-defined]
    assert sum(g is not None for g in got) == 4 == min(5, 4)  # counts conserved

    assert (await verify_allocation(app.core.settings, "SVT-FML", "ALB", None, None)) == 0
    exported = await say(app, "gina", "/allocation SVT-FML ALB export")
    assert exported.document is not None
    file = tmp_path / exported.document.filename
    file.write_bytes(exported.document.content)
    assert (await verify_allocation(app.core.settings, "svt-fml", "alb", None, file)) == 0
    document = json.loads(file.read_text())
    assert document["seed"] == seed
    first = document["result"][0]
    first["inclusion"] = 3 if first["inclusion"] != 3 else 1
    file.write_text(json.dumps(document))
    assert (await verify_allocation(app.core.settings, "SVT-FML", "ALB", None, file)) == 1
    assert (await verify_allocation(app.core.settings, "SVT-FML", "ALB", "not-the-seed", None)) == 1

    # a row of the result table changed behind gomflow's back is found out
    async with app.core.uow() as uow:
        await uow.session.execute(
            update(AllocatedUnit)
            .where(AllocatedUnit.claim == "SVT-FML-1#1")
            .values(inclusion_name="Wonwoo PC")
        )
        await uow.session.execute(
            update(AllocatedUnit)
            .where(AllocatedUnit.claim == "SVT-FML-1#2")
            .values(inclusion_name="Wonwoo PC")
        )
        await uow.commit()
    assert (await verify_allocation(app.core.settings, "SVT-FML", "ALB", None, None)) == 1
    redo = await say(app, "gina", "/allocate SVT-FML ALB redo")
    assert "was announced; it can no longer be redone" in redo.text


async def test_rankings_decide_by_claim_time_and_a_second_allocate_shows_the_first(app: App) -> None:
    await arrived_go(app, orders={"bob": 1, "amy": 1, "cal": 1}, ranks={"bob": "2", "amy": "2,1", "cal": "2"})
    await say(app, "gina", '/received SVT-FML ALB "Wonwoo PC=1,Mingyu PC=1"')
    no_seed = await say(app, "gina", "/allocate SVT-FML ALB")
    assert "A lottery needs a seed committed in advance" in no_seed.text
    result = await say(app, "gina", "/allocate SVT-FML ALB ties=claim_time")
    assert "#1 SVT-FML-1#1 → Wonwoo PC" in result.text, result.text
    assert "#2 SVT-FML-2#1 → Mingyu PC" in result.text
    assert "#3 SVT-FML-3#1 → nothing left" in result.text
    second = await say(app, "gina", "/allocate SVT-FML ALB")
    assert second.text.startswith("This was already allocated"), second.text

    await say(app, "gina", '/received SVT-FML ALB "Wonwoo PC=2,Mingyu PC=1"')
    redone = await say(app, "gina", "/allocate SVT-FML ALB redo ties=claim_time")
    assert "run 2 times" in redone.text and "#2 SVT-FML-2#1 → Wonwoo PC" in redone.text
    assert "#3 SVT-FML-3#1 → Mingyu PC" in redone.text
    async with app.core.reader() as uow:
        actions = (
            await uow.session.scalars(
                select(AuditEntry.action).where(AuditEntry.entity == "allocation").order_by(AuditEntry.id)
            )
        ).all()
        detail = await uow.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "reallocated"))
    assert list(actions) == ["allocated", "reallocated"]
    assert detail is not None and json.loads(detail)["inputs"]["inclusions"][1]["received"] == 2
    assert (await verify_allocation(app.core.settings, "SVT-FML", "ALB", None, None)) == 0


async def test_bad_input_gets_a_clear_answer_and_writes_nothing(app: App) -> None:
    await open_go(app, moq=1, items=ITEMS)
    await open_go(app, "OTHER", owner="olga", items=ITEMS)
    await say(app, "gina", '/inclusions SVT-FML ALB add "민규 포카,Wonwoo PC"')
    await say(app, "bob", "/order SVT-FML ALB 1 TOTE 1")
    before = await _counts(app)
    refusals = {
        ("olga", '/inclusions SVT-FML ALB add "X"'): "run by another GOM",
        ("gina", '/inclusions SVT-FML NOPE add "X"'): "has no item NOPE",
        ("gina", '/inclusions SVT-FML ALB add "wonwoo pc"'): "already has wonwoo pc",
        ("gina", '/inclusions SVT-FML ALB add "12"'): "would read as a number",
        ("gina", '/inclusions SVT-FML ALB add ",,"'): "Name the inclusions",
        ("gina", "/inclusions SVT-FML ALB remove 9"): "has no inclusion '9'",
        ("gina", "/inclusions SVT-FML ALB frobnicate x"): "Usage: /inclusions",
        ("bob", "/rank SVT-FML-1 3,1"): "'3' is not an inclusion number: choose from 1 to 2",
        ("bob", "/rank SVT-FML-1 1,1"): "1 is in the ranking twice",
        ("bob", "/rank SVT-FML-1 TOTE 1"): "has no TOTE with inclusions",
        ("bob", "/rank SVT-FML-1 99999999999"): "is not an inclusion number",
        ("amy", "/rank SVT-FML-1 1"): "no order SVT-FML-1 of yours",
        ("bob", "/rank NOPE-1 1"): "There is no order NOPE-1",
        ("gina", '/received SVT-FML ALB "민규 포카=3"'): "has not arrived yet",
        ("gina", "/allocate SVT-FML ALB"): "has not arrived yet",
        ("gina", "/allocate SVT-FML ALB ties=coin"): "Ties are broken by lottery or claim_time",
        ("gina", "/allocate SVT-FML"): "Usage: /allocate",
        ("gina", "/allocation SVT-FML ALB"): "was not allocated yet",
        ("gina", "/allocation SVT-FML ALB shred"): "Usage: /allocation",
        ("gina", "/lottery SVT-FML seed short"): "8 to 128 printable characters",
        ("olga", "/lottery SVT-FML seed"): "run by another GOM",
    }
    for (who, text), expected in refusals.items():
        reply = await say(app, who, text)
        assert reply.text.startswith("⚠️") and expected in reply.text, (text, reply.text)
    assert await _counts(app) == before

    ranked = await say(app, "bob", "/rank SVT-FML-1 2")
    assert "Your ranking: Wonwoo PC" in ranked.text
    tapped = await say(app, "bob", "/rank SVT-FML-1 ALB +1")
    assert "Your ranking: Wonwoo PC > 민규 포카" in tapped.text
    shown = await say(app, "bob", "/rank SVT-FML-1")
    assert "Your ranking: Wonwoo PC > 민규 포카" in shown.text and shown.buttons[-1][0].label == "Start over"
    changed = await say(app, "bob", "/change SVT-FML-1 ALB 2")
    assert not changed.text.startswith("⚠️"), changed.text
    kept = await say(app, "bob", "/rank SVT-FML-1")
    assert "Your ranking: Wonwoo PC > 민규 포카" in kept.text, kept.text


async def _counts(app: App) -> dict[str, int]:
    async with app.core.reader() as uow:
        return {
            model.__tablename__: int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (
                Inclusion,
                InclusionRanking,
                InclusionSettings,
                Allocation,
                AllocatedUnit,
                OutboxMessage,
            )
        }


async def _actor(app: App, name: str = "gina") -> Actor:
    return await identify(app.core.uow(), "console", name, name, name)
