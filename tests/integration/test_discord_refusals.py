"""What Discord users get wrong, and what they may not do: clear ephemeral answers, and
nothing half-written. Driven through discord.py against the loopback fake."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from bots.discord.adapter import DiscordBot
from core import inbound
from core.clock import FrozenClock
from core.db.models import LinkedChannel, Order, PaymentProof
from core.services.accounts import identify, register_gom
from core.services.ordering import my_orders
from tests.conftest import BACKENDS
from tests.fakes.discord_api import TOKEN, FakeDiscordAPI
from tests.fakes.discord_gateway import DM_CHANNELS
from tests.integration.discord_harness import BUYERS, CHANNEL, GOM_ID, GUILD, Harness, discord_gomflow

pytestmark = pytest.mark.parametrize("backend", BACKENDS)
MANAGE_CHANNELS = 1 << 4


async def open_svt(h: Harness) -> None:
    gw = h.gw
    await register_gom(h.app.core.uow(), "discord", GOM_ID, "Gina")
    for step in (
        gw.slash(GOM_ID, "newgo", {"more": 'SVT "Seventeen" currency=SGD moq=2 cap=10 deadline=+3d'}),
        gw.slash(
            GOM_ID, "additem", {"code": "SVT", "item": "ALB", "price": "25.90", "details": '"FML album"'}
        ),
        gw.slash(GOM_ID, "paymethods", {"code": "SVT", "method": "manual"}),
        gw.slash(GOM_ID, "open", {"code": "SVT"}),
    ):
        answer = await gw.interact(step)
        assert not answer.content.startswith("⚠️"), answer.content


async def count(h: Harness, model: type) -> int:
    async with h.app.core.reader() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_bad_input_gets_clear_ephemeral_answers_and_writes_nothing(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        gw = h.gw
        await open_svt(h)
        wrong_type = await gw.interact(
            gw.slash(BUYERS[0], "order", {"code": "SVT", "item": "ALB", "qty": "two"})
        )
        assert wrong_type.ephemeral and "qty must be a whole number" in wrong_type.content
        unknown = await gw.interact(gw.slash(BUYERS[0], "order", {"code": "SVT", "colour": "red"}))
        assert unknown.ephemeral and "no option 'colour'" in unknown.content
        in_dm = await gw.interact(gw.slash(GOM_ID, "linkchannel", {"code": "SVT", "platform": "discord"}))
        assert in_dm.ephemeral and "needs a server" in in_dm.content
        stale = await gw.interact(gw.component(BUYERS[0], "t:gone-long-ago", guild=GUILD))
        assert stale.ephemeral and "expired" in stale.content
        gone = await gw.interact(gw.component(BUYERS[0], "o:cf NOPE ALB 1 2590 abcdefgh", guild=GUILD))
        assert gone.ephemeral and "NOPE" in gone.content
        late = await gw.send(gw.slash(BUYERS[0], "order", {"code": "SVT", "item": "ALB", "qty": 1}, age=5.0))
        answered_in_time = await gw.interact(gw.slash(BUYERS[1], "help"))  # handled after the late one
        assert "/order" in answered_in_time.content and not late.responses
        assert await count(h, Order) == 0 and await count(h, LinkedChannel) == 0


async def test_a_discord_role_grants_no_gomflow_rights_and_buyers_cannot_press_gom_buttons(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        gw = h.gw
        await open_svt(h)
        admin = await gw.interact(
            gw.slash(BUYERS[0], "close", {"code": "SVT"}, guild=GUILD, permissions=1 << 3)
        )
        assert admin.ephemeral and "for GOMs" in admin.content
        button = await gw.interact(gw.component(BUYERS[0], "c:/approve SVT-1", guild=GUILD))
        assert button.ephemeral and "for GOMs" in button.content


async def test_a_proof_attached_to_paid_is_reviewed_by_the_gom_with_buttons(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        gw = h.gw
        await open_svt(h)
        placed = await gw.interact(gw.slash(BUYERS[0], "order", {"code": "SVT", "item": "ALB", "qty": 1}))
        assert placed.ephemeral and "⚠️" not in placed.content, placed.content
        buyer = await identify(h.app.core.uow(), "discord", BUYERS[0], "b")
        (order,) = await my_orders(h.app.core.reader(), buyer)
        not_image = await gw.interact(
            gw.slash(
                BUYERS[0], "paid", {"order": order.number}, attachment=("notes.txt", b"hi", "text/plain")
            )
        )
        assert not_image.ephemeral and "as an image" in not_image.content
        assert await count(h, PaymentProof) == 0
        proof = await gw.interact(
            gw.slash(
                BUYERS[0], "paid", {"order": order.number}, attachment=("transfer.png", png(), "image/png")
            )
        )
        assert proof.ephemeral and "⚠️" not in proof.content, proof.content
        assert await count(h, PaymentProof) == 1
        review = await gw.interact(gw.slash(GOM_ID, "proof", {"order": order.number}))
        assert review.data["_files"] == ["files[0]"]  # the screenshot, for the GOM's eyes only
        approve = next(i for i in review.custom_ids() if "/approve" in i)
        refused = await gw.interact(gw.component(BUYERS[1], approve, guild=GUILD))
        assert refused.ephemeral and "for GOMs" in refused.content
        approved = await gw.interact(gw.component(GOM_ID, approve))
        assert approved.ephemeral and "⚠️" not in approved.content, approved.content
        (after,) = await my_orders(h.app.core.reader(), buyer, include_ended=True)
        assert after.status == "paid"


async def test_a_channel_is_linked_only_by_someone_discord_lets_manage_it(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        gw, fake = h.gw, h.fake
        await open_svt(h)
        fake.add_guild(GUILD, "1", {GUILD: 0, "managers": MANAGE_CHANNELS})
        fake.add_channel(CHANNEL, GUILD, [])
        fake.add_member(GUILD, GOM_ID, [])
        link = {"code": "SVT", "platform": "discord"}
        refused = await gw.interact(gw.slash(GOM_ID, "linkchannel", link, guild=GUILD, channel=CHANNEL))
        assert refused.ephemeral and "Discord says you may not" in refused.content
        assert await count(h, LinkedChannel) == 0
        fake.add_member(GUILD, GOM_ID, ["managers"])
        linked = await gw.interact(gw.slash(GOM_ID, "linkchannel", link, guild=GUILD, channel=CHANNEL))
        assert linked.ephemeral and "⚠️" not in linked.content, linked.content
        listed = await gw.interact(gw.slash(GOM_ID, "channels", {"code": "SVT"}))
        assert CHANNEL in listed.content
        # an announcement reaches the linked channel, pinging nobody
        message = "Restock at @everyone's favourite shop"
        sent = await gw.interact(
            gw.slash(GOM_ID, "broadcast", {"code": "SVT", "audience": "channels", "message": message})
        )
        assert "⚠️" not in sent.content, sent.content
        deadline = time.monotonic() + 60
        while not any(channel == CHANNEL for channel, _ in fake.delivered):
            assert time.monotonic() < deadline, "the announcement never reached the channel"
            await h.app.dispatcher.run_once()
        (body,) = [p for p in fake.payloads if "Restock" in p["content"]]
        assert body["allowed_mentions"] == {"parse": []}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def test_interactions_left_unanswered_by_a_stop_are_closed_at_the_next_start(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        core = h.app.core
        old, young = h.gw.next_id(age=600.0), h.gw.next_id()  # made 10 minutes ago, and now
        stored = [(old, '{"type": 2}'), (young, '{"type": 2}')]
        assert await inbound.record(core.desk, "discord", stored) == [True, True]
        async with DiscordBot(h.app.bot, TOKEN, h.fake.base_url, guild_ready_timeout=0.1).running():
            # the young one may be another gomflow's work in progress: it is left alone
            assert await inbound.unhandled(core.reader(), "discord") == [(young, '{"type": 2}')]
        assert await count(h, Order) == 0


async def test_a_dm_proof_stored_before_a_stop_is_answered_at_the_next_start(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    """A direct message has no deadline, and it may be a payment screenshot: one stored but
    not handled when the process stopped is answered once the bot is back, not dropped."""
    async with discord_gomflow(backend, tmp_path, clock) as h:
        gw, fake = h.gw, h.fake
        await open_svt(h)
        placed = await gw.interact(gw.slash(BUYERS[0], "order", {"code": "SVT", "item": "ALB", "qty": 1}))
        assert "⚠️" not in placed.content, placed.content
        gw.files["bank.png"] = png()
        dm = str(DM_CHANNELS + int(BUYERS[0]))
        stored = {
            "type": "dm",
            "user": int(BUYERS[0]),
            "name": "User",
            "handle": f"user{BUYERS[0]}",
            "channel": int(dm),
            "content": "paid just now",
            "attachment": {
                "url": f"{gw.base_url}/attachments/bank.png",
                "filename": "bank.png",
                "content_type": "image/png",
                "size": len(gw.files["bank.png"]),
            },
        }
        message_id = gw.next_id(age=600.0)  # the stop came ten minutes ago
        assert await inbound.record(h.app.core.desk, "discord", [(message_id, json.dumps(stored))]) == [True]
        async with DiscordBot(h.app.bot, TOKEN, h.fake.base_url, guild_ready_timeout=0.1).running():
            await wait_for_delivery(fake, dm, 1)
        answer = [content for channel, content in fake.delivered if channel == dm][-1]
        assert "⚠️" not in answer, answer
        assert await count(h, PaymentProof) == 1
        assert await inbound.unhandled(h.app.core.reader(), "discord") == []


async def test_a_screenshot_sent_as_a_dm_is_taken_as_proof_for_the_newest_unpaid_order(
    backend: str, tmp_path: Path, clock: FrozenClock
) -> None:
    async with discord_gomflow(backend, tmp_path, clock) as h:
        gw, fake = h.gw, h.fake
        await open_svt(h)
        placed = await gw.interact(gw.slash(BUYERS[0], "order", {"code": "SVT", "item": "ALB", "qty": 1}))
        assert "⚠️" not in placed.content, placed.content
        dm = await gw.direct_message(BUYERS[0], "", ("notes.txt", b"hi", "text/plain"))
        await wait_for_delivery(fake, dm, 1)
        assert "as an image" in fake.delivered[-1][1] and await count(h, PaymentProof) == 0
        await gw.direct_message(BUYERS[0], "paid just now", ("bank.png", png(), "image/png"))
        await wait_for_delivery(fake, dm, 2)
        answer = [content for channel, content in fake.delivered if channel == dm][-1]
        assert "⚠️" not in answer, answer
        assert await count(h, PaymentProof) == 1
        body = fake.payloads[-1]
        assert body["allowed_mentions"] == {"parse": []}


async def wait_for_delivery(fake: FakeDiscordAPI, channel: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while sum(1 for c, _ in fake.delivered if c == channel) < count:
        assert time.monotonic() < deadline, "the bot never answered the DM"
        await asyncio.sleep(0.01)
