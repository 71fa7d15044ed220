"""A posted masterlist is kept up to date: one message edited in place through the outbox,
at most one refresh waiting per post however many orders come, rendered from the database
when sent, so a restart loses nothing; where a platform cannot edit, a new list now and
then. On both databases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select

from channels.base import Channel
from channels.dispatcher import Dispatcher
from channels.telegram import TelegramChannel
from core.config import TelegramSettings
from core.db.models import Identity, LinkedChannel, MasterlistPost, OutboxMessage
from core.lookups import load_go
from core.outbox import claim_due
from core.privacy.identities import sealed_address, stored_id
from core.quantities import LineRequest
from core.render import Rendered
from core.services import ordering
from main import App
from tests.conftest import assert_checks_pass, buyer, link_email, open_go, say
from tests.fakes.telegram_api import FakeTelegram, Message
from tests.integration.test_masterlist import CODE, order
from tests.integration.test_staff_notices import tick_on_two_workers

GROUP = -1001234


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
    others = [m for m in fake.chat(chat) if m not in shown and (chat, m.message_id) in fake.messages]
    assert not [m for m in others if "masterlist" in m.text], others
    return shown


async def refresh(app: App, dispatcher: Dispatcher) -> None:
    await app.ticker.tick()
    await dispatcher.run_once()


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
    actors = await asyncio.gather(*(buyer(app, f"fan{n}") for n in range(200)))
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
    await open_go(app, cap=300, window=2)
    await link_group(app, "telegram", str(GROUP))
    actors = await asyncio.gather(*(buyer(app, f"fan{n}") for n in range(40)))
    both = [LineRequest("ALB", "A", 1), LineRequest("ALB", "B", 1)]  # two lines of the list each
    await asyncio.gather(*(ordering.place_order(app.core.uow(), a, CODE, both) for a in actors))
    async with telegram_outbox(app) as (fake, dispatcher):
        await say(app, "gina", f"/masterlist {CODE} post")
        await dispatcher.run_once()
        before = await posted(app, fake)
        assert len(before) >= 2 and all(len(m.text) <= 4096 for m in before)
        await say(app, "gina", f"/markpaid {CODE}-1 51.80")
        app.core.clock.advance(hours=3)  # every other claim's payment window ends
        fake.messages.pop((GROUP, before[0].message_id))  # an admin deleted the first part meanwhile
        await refresh(app, dispatcher)

        first, *rest = await posted(app, fake)
        assert first.message_id not in (m.message_id for m in before)  # sent anew
        assert "2 claim(s) · 1 buyer(s)" in first.shown and "2. Buyer #1" in first.shown
        assert rest == before[1:] and all(m.text == "⋯" and m.edits == 1 for m in rest)


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


async def masterlist_messages(app: App) -> list[str]:
    async with app.core.reader() as uow:
        rows = await uow.session.execute(
            select(OutboxMessage.status)
            .where(OutboxMessage.masterlist_post_id.is_not(None))
            .order_by(OutboxMessage.id)
        )
        return list(rows.scalars())


async def test_a_double_tapped_post_queues_one_message(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await link_group(app, "telegram", str(GROUP))
    replies = await asyncio.gather(*(say(app, "gina", f"/masterlist {CODE} post") for _ in range(3)))
    assert all("goes to 1 linked channel" in r.text for r in replies)
    await app.ticker.tick()
    assert await masterlist_messages(app) == ["pending"]
    async with telegram_outbox(app) as (fake, dispatcher):
        await dispatcher.run_once()
        assert len(await posted(app, fake)) == 1
    await assert_checks_pass(app)


async def test_a_group_that_removed_the_bot_is_not_tried_again_every_tick(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await link_group(app, "telegram", str(GROUP))
    async with telegram_outbox(app) as (fake, dispatcher):
        await dispatcher.run_once()  # the GO's announcement
        fake.blocked.add(GROUP)
        await say(app, "gina", f"/masterlist {CODE} post")
        await dispatcher.run_once()
        await order(app, "bob")
        await refresh(app, dispatcher)
        await refresh(app, dispatcher)
    assert await masterlist_messages(app) == ["failed"]
    assert "can no longer post" in (await say(app, "gina", f"/masterlist {CODE} post")).text
