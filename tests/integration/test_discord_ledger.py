"""The GOM's bookkeeping commands on Discord, through discord.py against the loopback fake:
/approve keeps a single approval as short as before and takes ``all CODE`` too."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.discord.sync import sync_commands
from core.clock import FrozenClock
from core.services.accounts import register_gom
from tests.conftest import BACKENDS
from tests.fakes.discord_api import TOKEN
from tests.integration.discord_harness import GOM_ID, GUILD, discord_gomflow

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


async def test_approve_all_and_markpaid_by_slash_command(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        await sync_commands(TOKEN, h.fake.base_url, int(GUILD))
        synced = {c["name"]: c for c in h.gw.synced[GUILD]}
        approve = {o["name"]: o for o in synced["approve"]["options"]}
        assert approve["order"]["required"]
        assert not approve["proof"].get("required") and not approve["details"].get("required")
        assert "markpaid" in synced
        gw = h.gw
        await register_gom(h.app.core.uow(), "discord", GOM_ID, "Gina")
        newgo = {"more": 'SVT "Seventeen FML" currency=SGD moq=2 cap=10 deadline=+3d'}
        created = await gw.interact(gw.slash(GOM_ID, "newgo", newgo))
        assert not created.content.startswith("⚠️"), created.content
        batch = await gw.interact(gw.slash(GOM_ID, "approve", {"order": "all", "details": "SVT"}))
        assert "No proofs wait for review in SVT" in batch.content, batch.content
        unknown = await gw.interact(gw.slash(GOM_ID, "markpaid", {"order": "SVT-9", "details": "10 cash"}))
        assert "There is no order SVT-9" in unknown.content, unknown.content
