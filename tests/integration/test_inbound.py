"""A repeated inbound id is recognised, on every backend, even when repeats race."""

from __future__ import annotations

import asyncio

from core.inbound import claim_delivery, forget_delivery
from main import App


async def test_each_inbound_id_is_claimed_exactly_once(any_app: App) -> None:
    results = await asyncio.gather(
        *(claim_delivery(any_app.core.uow(), "telegram", "update-7") for _ in range(20))
    )
    assert results.count(True) == 1
    assert await claim_delivery(any_app.core.uow(), "telegram", "update-8") is True
    assert await claim_delivery(any_app.core.uow(), "stripe", "update-7") is True  # ids are per source


async def test_a_forgotten_claim_can_be_claimed_again(any_app: App) -> None:
    assert await claim_delivery(any_app.core.uow(), "telegram-tap", "42:abc") is True
    await forget_delivery(any_app.core.uow(), "telegram-tap", "42:abc")
    assert await claim_delivery(any_app.core.uow(), "telegram-tap", "42:abc") is True
    assert await claim_delivery(any_app.core.uow(), "telegram-tap", "42:abc") is False
