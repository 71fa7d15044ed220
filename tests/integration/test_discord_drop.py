"""A drop on Discord: 200 buyers order at once through the fake's interactions. Nobody
oversells, and every buyer gets an answer (in time, or deferred and then sent).

Each buyer writes for the first time: the sign-up, the interaction's record and the
order share one trip to the order desk, so the burst stays within Discord's 3 seconds
on a loaded machine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.clock import FrozenClock
from core.services.accounts import register_gom
from tests.conftest import BACKENDS, assert_checks_pass, count_desk_trips
from tests.integration.discord_harness import GOM_ID, GUILD, discord_gomflow

BUYERS = 200
CAPACITY = 150


@pytest.mark.parametrize("backend", BACKENDS)
async def test_two_hundred_buyers_at_once_never_oversell_and_all_get_an_answer(
    backend: str, tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        gw = h.gw
        await register_gom(h.app.core.uow(), "discord", GOM_ID, "Gina")
        for step in (
            gw.slash(
                GOM_ID, "newgo", {"more": f'DROP "Drop" currency=SGD moq=1 cap={CAPACITY} deadline=+3d'}
            ),
            gw.slash(GOM_ID, "additem", {"code": "DROP", "item": "ALB", "price": "20", "details": '"Album"'}),
            gw.slash(GOM_ID, "paymethods", {"code": "DROP", "method": "manual"}),
            gw.slash(GOM_ID, "open", {"code": "DROP"}),
        ):
            assert "⚠️" not in (await gw.interact(step)).content
        orders = [
            gw.slash(str(10_000 + i), "order", {"code": "DROP", "item": "ALB", "qty": 1}, guild=GUILD)
            for i in range(BUYERS)
        ]
        trips = count_desk_trips(h.app, monkeypatch)
        sent = await asyncio.gather(*(gw.send(o) for o in orders))
        finals = await gw.settled(sent)
        assert len(trips) == BUYERS  # one trip to the order desk each: sign-up, record and order
        assert gw.late == 0  # every first answer came within Discord's 3 seconds
        assert all(s.responses[0].ephemeral and f.content for s, f in zip(sent, finals, strict=True))
        placed = [f for f in finals if not f.content.startswith("⚠️")]
        refused = [f for f in finals if f.content.startswith("⚠️")]
        assert len(placed) == CAPACITY and len(refused) == BUYERS - CAPACITY
        assert all("full" in f.content.lower() or "left" in f.content.lower() for f in refused), refused[
            0
        ].content
        await assert_checks_pass(h.app)
