"""A repeated inbound id is recognised, on every backend, even when repeats race."""

from __future__ import annotations

import asyncio

import pytest

from core.inbound import claim_delivery
from main import App


async def test_each_inbound_id_is_claimed_exactly_once(any_app: App) -> None:
    results = await asyncio.gather(
        *(claim_delivery(any_app.core.uow(), "telegram", "update-7") for _ in range(20))
    )
    assert results.count(True) == 1
    assert await claim_delivery(any_app.core.uow(), "telegram", "update-8") is True
    assert await claim_delivery(any_app.core.uow(), "stripe", "update-7") is True  # ids are per source


async def test_a_claimed_order_is_placed_once_and_a_used_button_says_so(any_app: App) -> None:
    """The claim rides with the order: placed or refused, the second use is answered as a repeat."""
    from core.errors import AlreadyClaimed, OutOfStock
    from core.quantities import LineRequest
    from core.services import ordering
    from tests.conftest import buyer, open_go

    await open_go(any_app, items=('POB 3 "Photocard" stock=1',))
    bob, amy = await buyer(any_app, "bob"), await buyer(any_app, "amy")
    line = [LineRequest("POB", None, 1)]
    first, second = await asyncio.gather(
        ordering.place_order(any_app.core.uow(), bob, "SVT-FML", line, claim=("tap", "b1")),
        ordering.place_order(any_app.core.uow(), bob, "SVT-FML", line, claim=("tap", "b1")),
        return_exceptions=True,
    )
    assert not isinstance(first, Exception) and isinstance(second, AlreadyClaimed)
    with pytest.raises(OutOfStock):
        await ordering.place_order(any_app.core.uow(), amy, "SVT-FML", line, claim=("tap", "a1"))
    with pytest.raises(AlreadyClaimed, match="Already on it"):
        await ordering.place_order(any_app.core.uow(), amy, "SVT-FML", line, claim=("tap", "a1"))
