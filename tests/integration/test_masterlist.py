"""The masterlist: shown by nickname, posted to linked channels and kept up to date there by
editing one message in place (through the outbox, at most one refresh waiting per post),
exported as CSV and PNG pages, on both databases."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from PIL import Image
from sqlalchemy import func, select

from channels.base import Channel
from channels.dispatcher import Dispatcher
from channels.telegram import TelegramChannel
from core.config import TelegramSettings
from core.db.models import AuditEntry, Identity, LinkedChannel, MasterlistPost, OutboxMessage
from core.lookups import load_go
from core.outbox import claim_due
from core.privacy.identities import sealed_address, stored_id
from core.quantities import LineRequest
from core.render import Rendered
from core.services import masterlist, ordering
from main import App
from tests.conftest import buyer, link_email, open_go, say
from tests.fakes.telegram_api import FakeTelegram, Message
from tests.integration.test_staff_notices import tick_on_two_workers

GROUP = -1001234
CODE = "SVT-FML"


async def link_group(app: App, platform: str, address: str, code: str = CODE) -> None:
    """A group the GOM linked (the platform's check that they run it is tested elsewhere)."""
    async with app.core.uow() as uow:
        go = await load_go(uow, code)
        identity = Identity(
            user_id=go.gom_id,
            channel=platform,
            external_id=stored_id(platform, address),
            address=sealed_address(platform, address),
            reachable=True,
            created_at=uow.now,
            kind="group",
        )
        uow.session.add(identity)
        await uow.session.flush()
        uow.session.add(
            LinkedChannel(go_id=go.id, identity_id=identity.id, created_at=uow.now, status="confirmed")
        )
        await uow.commit()


@asynccontextmanager
async def telegram_outbox(app: App) -> AsyncIterator[tuple[FakeTelegram, Dispatcher]]:
    fake = FakeTelegram()
    await fake.start()
    channel = TelegramChannel(TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url))
    channels: dict[str, Channel] = {**app.channels, "telegram": channel}
    try:
        yield fake, Dispatcher(app.core, app.bot.renderer, channels)
    finally:
        await channel.close()
        await fake.stop()


async def order(app: App, who: str, quantity: int = 1, version: str = "A") -> str:
    actor = await buyer(app, who)
    placed = await ordering.place_order(app.core.uow(), actor, CODE, [LineRequest("ALB", version, quantity)])
    return placed.number


async def waiting_refreshes(app: App) -> int:
    async with app.core.reader() as uow:
        count = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.masterlist_post_id.is_not(None), OutboxMessage.status == "pending")
        )
    return int(count or 0)


async def posted(app: App, fake: FakeTelegram, chat: int = GROUP) -> list[Message]:
    """The messages that show the masterlist in ``chat``, as the post recorded them (the
    group also gets the GO's announcements); and no other message there is one."""
    async with app.core.reader() as uow:
        ids = json.loads(await uow.session.scalar(select(MasterlistPost.message_ids)) or "[]")
    shown = [fake.messages[(chat, int(i))] for i in ids]
    others = [m for m in fake.chat(chat) if m not in shown]
    assert not [m for m in others if "masterlist" in m.text], others
    return shown


async def refresh(app: App, dispatcher: Dispatcher) -> None:
    await app.ticker.tick()
    await dispatcher.run_once()


# --- what it shows ----------------------------------------------------------------------


async def test_the_masterlist_shows_nicknames_and_payment_status_never_who_buyers_are(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=20)
    assert "Your nickname is now 민지 🐰" in (await say(app, "bob.tan.secret", "/nickname 민지 🐰")).text
    first = await order(app, "bob.tan.secret", 2)
    await order(app, "amy+88@mail.example")  # no nickname: a number by claim order
    third = await order(app, "cho_private_handle", 1, "B")
    await say(app, "cho_private_handle", "/nickname 민지🐰")  # the same nickname, told apart
    await say(app, "gina", f"/markpaid {first} 51.80")
    await say(app, "gina", f"/markpaid {third} 10")

    shown = (await say(app, "gina", f"/masterlist {CODE}")).text

    assert "1. 민지 🐰 — FML album (Faded Mono Life) ×2 ✅ paid" in shown, shown
    assert "2. Buyer #2 — FML album (Faded Mono Life) ×1 ⏳ unpaid" in shown
    assert "3. 민지🐰 (2) — FML album (Fallen Misfit) ×1 🌓 part paid" in shown
    assert "3 claim(s) · 3 buyer(s) · 4 unit(s), 2 paid" in shown
    for personal in ("bob", "tan", "secret", "amy", "mail.example", "cho", "private", "handle"):
        assert personal not in shown.lower(), personal


async def test_cancelled_and_expired_claims_leave_the_list_and_numbers_stay_put(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=20, window=2)
    first = await order(app, "bob")
    await order(app, "amy")
    await say(app, "gina", f"/markpaid {await order(app, 'cho')} 25.90")
    assert "is cancelled" in (await say(app, "bob", f"/cancel {first}")).text
    app.core.clock.advance(hours=3)  # amy's payment window ends
    await app.ticker.tick()

    shown = (await say(app, "gina", f"/masterlist {CODE}")).text

    assert "1. Buyer #3 — FML album (Faded Mono Life) ×1 ✅ paid" in shown, shown
    assert "Buyer #1" not in shown and "Buyer #2" not in shown


async def test_bad_nicknames_are_refused_and_write_nothing(any_app: App) -> None:
    app = any_app
    await say(app, "bob", "/nickname Bobby")
    for bad in (
        "@everyone",
        "https://evil.example",
        "join t.me/x",
        "mina.kr",
        "<b>boss</b>",
        "**big**",
        "[click](x)",
        "+65 9123 4567",
        "bob@mail.example",
        "x",
        "a" * 25,
        "Buyer #1",
        "buyer 7",
        "zero\u200bwidth",
        "right\u202eleft",  # cleaned away, then still fine? no: the override goes, the name stays
    ):
        reply = await say(app, "bob", f"/nickname {bad}")
        if bad == "right\u202eleft":
            assert "rightleft" in reply.text  # a bidi override is dropped like in any name
            await say(app, "bob", "/nickname Bobby")
            continue
        assert reply.text.startswith("⚠️"), (bad, reply.text)
    assert "Your nickname is Bobby" in (await say(app, "bob", "/nickname")).text
    async with app.core.reader() as uow:
        changes = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "nickname")
        )
    assert changes == 3  # Bobby, rightleft, Bobby again


async def test_only_the_gos_team_sees_posts_or_exports_it(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await open_go(app, "OTHER-GO", owner="olga")
    await order(app, "bob")
    assert "another GOM" in (await say(app, "olga", f"/masterlist {CODE}")).text
    assert "another GOM" in (await say(app, "olga", f"/masterlist {CODE} csv")).text
    assert "no group order NOPE" in (await say(app, "gina", "/masterlist NOPE")).text
    assert "Usage" in (await say(app, "gina", f"/masterlist {CODE} dance")).text
    assert "Page must be" in (await say(app, "gina", f"/masterlist {CODE} image 0")).text
    assert "1 image page(s)" in (await say(app, "gina", f"/masterlist {CODE} image 2")).text
    assert "No channel is linked" in (await say(app, "gina", f"/masterlist {CODE} post")).text
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(MasterlistPost)) == 0


# --- exports ------------------------------------------------------------------------------


async def test_csv_export_has_a_row_per_claim_and_no_contacts(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=20)
    await say(app, "bob", "/nickname =cmd|calc")  # refused: a formula cannot get in
    await say(app, "bob", "/nickname -Bobby")
    await order(app, "bob", 2)
    await order(app, "amy")

    reply = await say(app, "gina", f"/masterlist {CODE} csv")

    assert reply.document is not None and reply.document.filename == "SVT-FML-masterlist.csv"
    text = reply.document.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["#", "buyer", "item", "version", "quantity", "payment"]
    assert rows[1] == ["1", "'-Bobby", "FML album", "Faded Mono Life", "2", "unpaid"]
    assert rows[2] == ["2", "Buyer #2", "FML album", "Faded Mono Life", "1", "unpaid"]
    assert "amy" not in text and "bob" not in text.lower().replace("bobby", "")


async def test_image_export_is_a_readable_png_a_page_at_a_time(app: App) -> None:
    await open_go(app, cap=300)
    actors = [await buyer(app, f"fan{n}") for n in range(120)]
    await asyncio.gather(
        *(ordering.place_order(app.core.uow(), a, CODE, [LineRequest("ALB", "A", 1)]) for a in actors)
    )

    first = await say(app, "gina", f"/masterlist {CODE} image")
    last = await say(app, "gina", f"/masterlist {CODE} image 3")

    assert "page 1 of 3" in first.text and f"/masterlist {CODE} image 2" in first.text
    for reply, rows in ((first, masterlist.ROWS_PER_IMAGE), (last, 20)):
        assert reply.image is not None
        picture = Image.open(io.BytesIO(reply.image))
        picture.verify()
        picture = Image.open(io.BytesIO(reply.image))
        assert picture.format == "PNG" and picture.width == 1080
        assert 34 * rows < picture.height < 34 * rows + 400
        assert len(reply.image) < 400_000


# --- posted and kept up to date ---------------------------------------------------------


async def test_a_posted_list_is_one_message_edited_as_orders_change(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=20)
    await link_group(app, "telegram", str(GROUP))
    bob = await order(app, "bob")
    async with telegram_outbox(app) as (fake, dispatcher):
        reply = await say(app, "gina", f"/masterlist {CODE} post")
        assert "goes to 1 linked channel(s)" in reply.text
        await dispatcher.run_once()
        [message] = await posted(app, fake)
        assert "1. Buyer #1" in message.shown and message.edits == 0

        await order(app, "amy")
        await refresh(app, dispatcher)
        await say(app, "gina", f"/markpaid {bob} 25.90")
        await refresh(app, dispatcher)
        await say(app, "amy", f"/cancel {CODE}-2")
        await refresh(app, dispatcher)
        await refresh(app, dispatcher)  # nothing changed: nothing sent

        assert await posted(app, fake) == [message]
        assert message.edits == 3
        assert "1. Buyer #1 — FML album (Faded Mono Life) ×1 ✅ paid" in message.shown
        assert "Buyer #2" not in message.shown
        assert [c.method for c in fake.calls].count("editMessageText") == 3


async def test_a_burst_of_200_orders_queues_one_refresh_not_200(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=300)
    await link_group(app, "telegram", str(GROUP))
    actors = [await buyer(app, f"fan{n}") for n in range(200)]
    async with telegram_outbox(app) as (fake, dispatcher):
        await say(app, "gina", f"/masterlist {CODE} post")
        await dispatcher.run_once()

        async def ticks() -> None:
            for _ in range(5):
                await app.ticker.tick()
                await asyncio.sleep(0)

        await asyncio.gather(
            ticks(),
            *(ordering.place_order(app.core.uow(), a, CODE, [LineRequest("ALB", "A", 1)]) for a in actors),
        )
        await app.ticker.tick()
        assert await waiting_refreshes(app) == 1
        await dispatcher.run_once()
        await refresh(app, dispatcher)

        messages = await posted(app, fake)
        assert 2 <= len(messages) <= 4  # 200 lines do not fit in 4,096 characters
        assert all(len(m.text) <= 4096 for m in messages)
        assert sum(m.edits for m in messages) <= 1
        shown = "\n".join(m.shown for m in messages)
        assert "200 claim(s)" in shown and "200. Buyer #200" in shown


async def test_two_workers_ticking_at_once_queue_one_refresh(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await link_group(app, "telegram", str(GROUP))
    await say(app, "gina", f"/masterlist {CODE} post")
    async with telegram_outbox(app) as (fake, dispatcher):
        await dispatcher.run_once()
        await order(app, "bob")
        await tick_on_two_workers(app)
        assert await waiting_refreshes(app) == 1
        await dispatcher.run_once()
        await tick_on_two_workers(app)
        assert await waiting_refreshes(app) == 0
        [message] = await posted(app, fake)
        assert message.edits == 1


async def test_a_restart_mid_refresh_loses_nothing(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await link_group(app, "telegram", str(GROUP))
    await say(app, "gina", f"/masterlist {CODE} post")
    async with telegram_outbox(app) as (fake, dispatcher):
        await dispatcher.run_once()
        await order(app, "bob")
        await app.ticker.tick()
        # a worker claims the refresh and dies before sending it
        claimed = await claim_due(app.core.uow(), 10)
        assert [m.post_id for m in claimed if m.post_id is not None]
        await order(app, "amy")  # and the list changes meanwhile
        await app.ticker.tick()
        assert await waiting_refreshes(app) == 1  # still the one, leased

        app.core.clock.advance(seconds=61)  # the lease runs out
        await dispatcher.run_once()

        [message] = await posted(app, fake)
        assert message.edits == 1 and "Buyer #2" in message.shown  # read when sent, not when queued
        await refresh(app, dispatcher)
        assert message.edits == 1


async def test_a_long_list_spans_messages_and_shrinks_back_into_the_first(app: App) -> None:
    await open_go(app, cap=300)
    await link_group(app, "telegram", str(GROUP))
    actors = [await buyer(app, f"fan{n}") for n in range(130)]
    numbers = [
        p.number
        for p in await asyncio.gather(
            *(ordering.place_order(app.core.uow(), a, CODE, [LineRequest("ALB", "A", 1)]) for a in actors)
        )
    ]
    async with telegram_outbox(app) as (fake, dispatcher):
        await say(app, "gina", f"/masterlist {CODE} post")
        await dispatcher.run_once()
        before = await posted(app, fake)
        assert len(before) == 2
        for number, who in list(zip(numbers, actors, strict=True))[1:]:
            await ordering.cancel_order(app.core.uow(), who, number)
        fake.messages.pop((GROUP, before[0].message_id))  # an admin deleted the first part meanwhile
        await refresh(app, dispatcher)

        first, second = await posted(app, fake)
        assert first.message_id not in (m.message_id for m in before)  # sent anew
        assert "1 claim(s)" in first.shown and "1. Buyer #1" in first.shown
        assert second is before[1] and second.text == "⋯" and second.edits == 1


async def test_where_the_platform_cannot_edit_a_new_list_goes_out_at_most_every_few_hours(
    any_app: App,
) -> None:
    app = any_app
    await open_go(app)
    await link_email(app, "gina", CODE, "fans@example.com")
    sent: list[Rendered] = []

    class Mailbox:
        name = "email"

        async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
            sent.append(message)

    dispatcher = Dispatcher(app.core, app.bot.renderer, {**app.channels, "email": Mailbox()})
    await dispatcher.run_once()  # the confirmation link went before
    sent.clear()
    await say(app, "gina", f"/masterlist {CODE} post")
    await dispatcher.run_once()
    await order(app, "bob")
    await refresh(app, dispatcher)
    app.core.clock.advance(hours=2)
    await refresh(app, dispatcher)
    lists = [m for m in sent if "masterlist" in m.text]
    assert len(lists) == 1 and "No claims yet" in lists[0].text

    app.core.clock.advance(hours=5)
    await refresh(app, dispatcher)
    await refresh(app, dispatcher)
    lists = [m for m in sent if "masterlist" in m.text]
    assert len(lists) == 2 and "1. Buyer #1" in lists[1].text


async def test_a_stopped_list_is_no_longer_refreshed(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await link_group(app, "telegram", str(GROUP))
    await say(app, "gina", f"/masterlist {CODE} post")
    async with telegram_outbox(app) as (fake, dispatcher):
        await dispatcher.run_once()
        await order(app, "bob")
        await app.ticker.tick()
        assert "no longer refreshed" in (await say(app, "gina", f"/masterlist {CODE} stop")).text
        await dispatcher.run_once()  # the refresh already queued finds the post stopped
        await refresh(app, dispatcher)
        [message] = await posted(app, fake)
        assert message.edits == 0 and "No claims yet" in message.shown

        assert "goes to 1 linked channel" in (await say(app, "gina", f"/masterlist {CODE} post")).text
        await dispatcher.run_once()
        assert message.edits == 1 and "Buyer #1" in message.shown
    async with app.core.reader() as uow:
        post = await uow.session.scalar(select(MasterlistPost))
    assert post is not None and json.loads(post.message_ids) == ["1"] and post.editable is True


async def test_a_helper_sees_the_list_but_only_the_gom_posts_it(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await link_group(app, "telegram", str(GROUP))
    await say(app, "hana", "/start")
    await say(app, "gina", "/helper add @hana")
    assert "masterlist" in (await say(app, "hana", f"/masterlist {CODE}")).text
    assert "may not send or manage broadcasts" in (await say(app, "hana", f"/masterlist {CODE} post")).text
    assert "another GOM" not in (await say(app, "hana", f"/masterlist {CODE} csv")).text
