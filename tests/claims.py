"""Claims for the handover and backout tests: mina holds SVT-FML-1, jae and kai may take it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bots.chat import ChatReply
from core import policy
from core.db.models import (
    BuyerQuota,
    Handover,
    Identity,
    Order,
    OutboxMessage,
    Payment,
    Refund,
    User,
)
from core.policy import BackoutRule, GOPolicy
from main import App
from tests.conftest import buyer, open_go, say

NUMBER = "SVT-FML-1"


def ok(reply: ChatReply) -> str:
    assert not reply.text.startswith("⚠️"), reply.text
    return reply.text


def refused(reply: ChatReply) -> str:
    assert reply.text.startswith("⚠️"), reply.text
    return reply.text


def policy_setter(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A function that sets the policy every GO runs under, as /policy will."""

    def use(backout: BackoutRule, fee_minor: int = 0) -> None:
        async def fixed(uow: Any, go: Any) -> GOPolicy:
            return GOPolicy(backout=backout, backout_fee_minor=fee_minor)

        monkeypatch.setattr(policy, "policy_of", fixed)

    return use


async def claim(app: App, *, limit: int | None = None, paid: bool = False, qty: int = 2) -> None:
    """mina holds SVT-FML-1 (qty × S$25.90), paid if asked; jae and kai have written once."""
    await open_go(app, moq=1, cap=10, limit=limit)
    for name in ("mina", "jae", "kai"):
        await buyer(app, name)
    ok(await say(app, "mina", f"/order SVT-FML ALB:A {qty}"))
    if paid:
        ok(await say(app, "gina", f"/markpaid {NUMBER} {2590 * qty // 100}.{2590 * qty % 100:02d} transfer"))


async def user_id(app: App, name: str) -> int:
    async with app.core.reader() as uow:
        found = await uow.session.scalar(select(User.id).where(User.display_name == name))
        assert found is not None
        return found


async def the_order(app: App) -> Order:
    async with app.core.reader() as uow:
        order = await uow.session.scalar(select(Order).where(Order.number == NUMBER))
        assert order is not None
        return order


async def the_handover(app: App) -> Handover:
    async with app.core.reader() as uow:
        found = await uow.session.scalar(select(Handover).order_by(Handover.id.desc()).limit(1))
        assert found is not None
        return found


async def quotas(app: App) -> dict[str, int]:
    async with app.core.reader() as uow:
        rows = await uow.session.execute(
            select(User.display_name, BuyerQuota.reserved).join(User, User.id == BuyerQuota.buyer_id)
        )
        return {name: reserved for name, reserved in rows if reserved}


async def refunds(app: App) -> list[tuple[int, int]]:
    """(refund, payment) amounts in minor units, oldest first."""
    async with app.core.reader() as uow:
        rows = await uow.session.execute(
            select(Refund.amount_minor, Payment.amount_minor)
            .join(Payment, Payment.id == Refund.payment_id)
            .order_by(Refund.id)
        )
        return [(r, p) for r, p in rows]


async def notices(app: App, name: str, template: str) -> list[dict[str, Any]]:
    async with app.core.reader() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage.context)
            .join(Identity, Identity.id == OutboxMessage.identity_id)
            .join(User, User.id == Identity.user_id)
            .where(User.display_name == name, OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        )
        return [json.loads(c) for c in rows]


async def offer(app: App, to: str = "jae") -> int:
    ok(await say(app, "mina", f"/handover {NUMBER} @{to}"))
    return (await the_handover(app)).id
