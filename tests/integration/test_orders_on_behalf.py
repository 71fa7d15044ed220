"""A GOM or helper places or changes an order for a buyer (one who wrote on Instagram):
through the order desk like every order, for a buyer gomflow knows or a new named one,
recorded with who placed it for whom; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from core.db.models import AuditEntry, Identity, Order, User
from core.quantities import parse_line_pairs
from core.services.ordering import change_order
from main import App
from tests.books import assert_books, refused_or
from tests.conftest import buyer, gom, open_go, say
from tests.integration.test_payment_races import buyer_cancels
from tests.integration.test_payments import ok

BUYERS = 10


async def audited(app: App, action: str) -> list[tuple[str, str]]:
    """(who acted, detail) of every audit row of an order with this action."""
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(User.display_name, AuditEntry.detail)
                .join(User, User.id == AuditEntry.actor_id)
                .where(AuditEntry.entity == "order", AuditEntry.action == action)
                .order_by(AuditEntry.id)
            )
        ).all()
    return [(who, detail) for who, detail in rows]


async def owner_of(app: App, number: str) -> str:
    async with app.core.reader() as uow:
        name = await uow.session.scalar(
            select(User.display_name).join(Order, Order.buyer_id == User.id).where(Order.number == number)
        )
    return str(name)


async def test_gom_orders_for_a_known_buyer_and_a_new_named_one(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await buyer(app, "bob")

    for_bob = ok(await say(app, "gina", "/orderfor SVT-FML @bob ALB:A 1"))
    assert "SVT-FML-1" in for_bob.text and "for bob" in for_bob.text
    assert await owner_of(app, "SVT-FML-1") == "bob"
    assert "SVT-FML-1" in (await say(app, "bob", "/myorders")).text

    for_mina = ok(await say(app, "gina", '/orderfor SVT-FML new:"Mina Kim 민지" ALB:B 2'))
    assert "SVT-FML-2" in for_mina.text and "Mina Kim 민지" in for_mina.text
    assert await owner_of(app, "SVT-FML-2") == "Mina Kim 민지"
    async with app.core.reader() as uow:
        mina = await uow.session.scalar(select(User.id).where(User.display_name == "Mina Kim 민지"))
        assert await uow.session.scalar(select(func.count()).where(Identity.user_id == mina)) == 0

    ok(await say(app, "gina", "/change SVT-FML-1 ALB:B 2"))
    placed = await audited(app, "placed")
    assert [who for who, _ in placed] == ["gina", "gina"]
    assert "for bob" in placed[0][1] and "for Mina Kim 민지" in placed[1][1]
    [(who, detail)] = await audited(app, "changed")
    assert who == "gina" and "for bob" in detail
    await assert_books(app)


async def test_orders_for_others_are_refused_cleanly(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await open_go(app, "OTHER-GO", owner="olga")
    await buyer(app, "bob")
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    cases = {
        "/orderfor SVT-FML": "Usage: /orderfor CODE BUYER ITEM QTY",
        "/orderfor SVT-FML @nobody ALB:A 1": "nobody",
        "/orderfor SVT-FML new: ALB:A 1": "name",
        f"/orderfor SVT-FML new:{'x' * 200} ALB:A 1": "name",
        "/orderfor OTHER-GO @bob ALB:A 1": "run by another GOM",
        "/orderfor SVT-FML new:Zed ALB:A 99": "",
        "/change SVT-FML-1 ALB:A 1 ALB:Z 1": "",
    }
    for text, expected in cases.items():
        reply = await say(app, "gina", text)
        assert reply.text.startswith("⚠️") and expected in reply.text, (text, reply.text)
    assert (await say(app, "dan", "/orderfor SVT-FML @bob ALB:A 1")).text.startswith("⚠️")
    assert (await say(app, "dan", "/change SVT-FML-1 ALB:B 1")).text.startswith("⚠️")
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 1
        assert await uow.session.scalar(select(func.count()).where(User.display_name == "Zed")) == 0
    await assert_books(app)


async def gom_changes(app: App, number: str) -> str:
    """The GOM's /change for the buyer, called straight to race the buyer's /cancel."""
    changing = change_order(app.core.uow(), await gom(app), number, parse_line_pairs(["ALB:B", "2"]))
    return await refused_or(changing, "cancelled", "changed")


async def test_gom_changes_an_order_while_its_buyer_cancels_it(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=BUYERS * 3, moq=1)
    fans = [await buyer(app, f"fan{i}") for i in range(BUYERS)]
    for i in range(BUYERS):
        ok(await say(app, "gina", f"/orderfor SVT-FML @fan{i} ALB:A 1"))
    outcomes = await asyncio.gather(
        *(
            asyncio.gather(gom_changes(app, f"SVT-FML-{i + 1}"), buyer_cancels(app, fan, f"SVT-FML-{i + 1}"))
            for i, fan in enumerate(fans)
        )
    )
    assert {cancelled for _, cancelled in outcomes} == {"cancelled"}
    async with app.core.reader() as uow:
        statuses = set((await uow.session.scalars(select(Order.status))).all())
    assert statuses == {"cancelled"}
    await assert_books(app)
