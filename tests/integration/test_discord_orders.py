"""A whole group order on Discord, driven through discord.py against the loopback fake:
slash commands typed by a GOM and three buyers, the GO card's select and buttons, a
double click, ephemeral personal answers, autocomplete and a deferred answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.discord.sync import sync_commands
from core.clock import FrozenClock
from core.services.accounts import register_gom
from tests.conftest import BACKENDS
from tests.fakes.discord_api import TOKEN
from tests.integration.discord_harness import BUYERS, CHANNEL, GOM_ID, GUILD, discord_gomflow

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


async def test_sync_publishes_the_command_table_as_typed_slash_commands(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        assert h.gw.sync_requests == 0  # connecting does not sync
        count = await sync_commands(TOKEN, h.fake.base_url, int(GUILD))
        synced = {c["name"]: c for c in h.gw.synced[GUILD]}
        assert count == len(synced) and {"order", "go", "newgo", "paid"} <= set(synced)
        order = {o["name"]: o for o in synced["order"]["options"]}
        assert order["code"]["autocomplete"] and order["item"]["autocomplete"]
        assert order["qty"]["type"] == 4 and order["qty"]["min_value"] == 1
        status = {o["name"]: o for o in synced["status"]["options"]}["status"]
        assert [c["value"] for c in status["choices"]] == [
            "ordered",
            "arrived",
            "packing",
            "shipping",
            "completed",
        ]
        platform = {o["name"]: o for o in synced["linkchannel"]["options"]}["platform"]
        assert platform["type"] == 3 and platform["required"]
        assert synced["open"]["default_member_permissions"] == str(1 << 5)
        assert "default_member_permissions" not in synced["order"]
        paid = {o["name"]: o for o in synced["paid"]["options"]}
        assert paid["screenshot"]["type"] == 11


async def test_a_whole_group_order_by_slash_commands_and_components(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        gw = h.gw
        await register_gom(h.app.core.uow(), "discord", GOM_ID, "Gina")
        for step in (
            gw.slash(GOM_ID, "newgo", {"more": 'SVT "Seventeen FML" currency=SGD moq=2 cap=10 deadline=+3d'}),
            gw.slash(
                GOM_ID,
                "additem",
                {
                    "code": "SVT",
                    "item": "ALB",
                    "price": "25.90",
                    "details": '"FML album" versions="A:Faded,B:Fallen"',
                },
            ),
            gw.slash(GOM_ID, "paymethods", {"code": "SVT", "method": "manual"}),
            gw.slash(GOM_ID, "open", {"code": "SVT"}),
        ):
            answer = await gw.interact(step)
            assert answer.ephemeral and not answer.content.startswith("⚠️"), answer.content
        # the card, in the server's channel: public, an embed with progress, deadline and a select
        card = await gw.interact(gw.slash(BUYERS[0], "go", {"code": "SVT"}, guild=GUILD, channel=CHANNEL))
        assert not card.ephemeral
        assert "▱" in card.text and "<t:" in card.text and "SVT" in card.text
        assert [o["value"] for o in card.options()] == ["ALB:A", "ALB:B"]
        (pick,) = card.custom_ids()
        # a buyer picks a version: the quantity panel is theirs alone
        panel = await gw.interact(gw.component(BUYERS[0], pick, values=["ALB:B"], guild=GUILD))
        assert panel.ephemeral and panel.type == 4 and "Quantity: **1**" in panel.content
        plus = next(i for i in panel.custom_ids() if i.startswith("o:qt"))
        stepped = await gw.interact(gw.component(BUYERS[0], plus, guild=GUILD))
        assert stepped.type == 7 and "Quantity: **2**" in stepped.content
        confirm = next(i for i in stepped.custom_ids() if i.startswith("o:cf"))
        # a double click: two interactions, one order
        first = await gw.send(gw.component(BUYERS[0], confirm, guild=GUILD))
        second = await gw.send(gw.component(BUYERS[0], confirm, guild=GUILD))
        answers = [(await gw.last(s.id, 1))[0] for s in (first, second)]
        placed = [a for a in answers if "Order" in a.content and a.type == 7]
        assert len(placed) == 1, [a.content for a in answers]
        # two more buyers order by slash command; every personal answer is ephemeral
        for who in BUYERS[1:]:
            answer = await gw.interact(
                gw.slash(who, "order", {"code": "SVT", "item": "ALB:A", "qty": 1}, guild=GUILD)
            )
            assert answer.ephemeral and "⚠️" not in answer.content, answer.content
        mine = await gw.interact(gw.slash(BUYERS[0], "myorders", guild=GUILD))
        assert mine.ephemeral and "SVT" in mine.content, mine.content
        progress = await gw.interact(gw.slash(GOM_ID, "progress", {"code": "SVT"}))
        assert "4" in progress.content
        assert gw.late == 0 and all(r.seconds < 3 for s in gw.sent.values() for r in s.responses[:1])


async def test_autocomplete_suggests_codes_and_choices_and_explains_an_unknown_go(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        gw = h.gw
        await register_gom(h.app.core.uow(), "discord", GOM_ID, "Gina")
        for step in (
            gw.slash(GOM_ID, "newgo", {"more": 'SVT "Seventeen" currency=SGD moq=2 cap=10 deadline=+3d'}),
            gw.slash(
                GOM_ID,
                "additem",
                {
                    "code": "SVT",
                    "item": "ALB",
                    "price": "25.90",
                    "details": '"FML album" versions="A:Faded,B:Fallen"',
                },
            ),
            gw.slash(GOM_ID, "paymethods", {"code": "SVT", "method": "manual"}),
            gw.slash(GOM_ID, "open", {"code": "SVT"}),
        ):
            await gw.interact(step)
        codes = await gw.interact(gw.autocomplete(BUYERS[0], "order", {"code": "S"}, "code"))
        assert codes.type == 8 and [c["value"] for c in codes.options()] == ["SVT"]
        items = await gw.interact(
            gw.autocomplete(BUYERS[0], "order", {"code": "SVT", "item": "ALB:"}, "item")
        )
        assert [c["value"] for c in items.options()] == ["ALB:A", "ALB:B"]
        unknown = await gw.interact(gw.autocomplete(BUYERS[0], "order", {"code": "NOPE", "item": ""}, "item"))
        (only,) = unknown.options()
        assert "NOPE" in only["name"]


async def test_a_slow_answer_is_deferred_then_sent(backend: str, tmp_path: Path, clock: FrozenClock) -> None:
    """With no time allowed before deferring, an answer that needs the database is deferred
    (Discord shows "thinking…") and then sent as an edit of the deferred response."""
    async with discord_gomflow(backend, tmp_path, clock, defer_after=0.0) as h:
        gw = h.gw
        sent = await gw.send(gw.slash(BUYERS[0], "myorders", guild=GUILD))
        deferred, edit = await gw.last(sent.id, 2)
        assert deferred.kind == "callback" and deferred.type == 5 and deferred.ephemeral
        assert edit.kind == "edit" and edit.content and "⚠️" not in edit.content
