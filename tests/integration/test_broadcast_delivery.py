"""Broadcasts through a local fake platform that enforces its published limits.

The platform is one fixture (``platform``): the fake Discord REST API and the fake
Telegram Bot API, each counting any request that crosses its limits.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.base import Channel
from channels.discord import DiscordChannel
from channels.dispatcher import Dispatcher
from channels.limits import ChannelLimits, Rate
from channels.telegram import TelegramChannel
from core.config import Settings, TelegramSettings
from core.db.migrate import upgrade
from core.db.models import Identity, OutboxMessage
from core.outbox import TRANSACTIONAL
from core.services import broadcasts
from main import App, bootstrap
from tests.conftest import gom, open_go
from tests.fakes.crowd import deliver_all, outbox_counts, seed_buyers
from tests.fakes.discord_api import TOKEN, FakeDiscordAPI
from tests.fakes.telegram_api import FakeTelegram

BLOCKED = str(10**17 + 7)


@dataclass
class Platform:
    name: str
    channel: Channel
    limits: ChannelLimits
    address: Callable[[int], str]  # the i-th buyer's address on the platform
    delivered: Callable[[], list[str]]  # addresses of accepted messages, repeats included
    violations: Callable[[], int]
    requests: Callable[[], int]
    requests_per_message: int
    fake: FakeDiscordAPI | FakeTelegram


def told(rate: int) -> Rate:
    """The overall ceiling gomflow is given: 4/5 of the fake's. The fake times each request
    when this busy test process's loop gets to it, so a stall bunches requests that left
    evenly; the pacer keeps the ceiling to the percent by the times it gave the turns
    (tests/unit/test_send_schedule.py), and bench.broadcast measures it at full rate."""
    return Rate(rate * 4 // 5, 1)


async def discord_platform(rate: int, **fake_options: object) -> Platform:
    fake = FakeDiscordAPI(global_limit=(rate, 1.0), channel_limit=(5, 5.0), **fake_options)  # type: ignore[arg-type]
    await fake.start()
    return Platform(
        name="discord",
        channel=DiscordChannel(TOKEN, fake.base_url),
        limits=ChannelLimits(told(rate), Rate(5, 5), Rate(5, 5)),
        address=lambda i: str(10**17 + i),
        delivered=lambda: [channel.removeprefix("dm") for channel, _ in fake.delivered],
        violations=lambda: fake.violations,
        requests=lambda: fake.requests,
        requests_per_message=2,  # a DM channel opened, then the message
        fake=fake,
    )


async def telegram_platform(rate: int) -> Platform:
    """The fake Bot API keeps Telegram's per-chat and per-group limits; the overall ceiling
    is raised (from about 30/s) only so 5,000 messages fit in a test run."""
    fake = FakeTelegram(global_per_second=rate)
    fake.enforce_limits = True
    await fake.start()
    return Platform(
        name="telegram",
        channel=TelegramChannel(TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url)),
        limits=ChannelLimits(told(rate), Rate(1, 1), Rate(20, 60)),
        address=lambda i: str(7_000_000 + i),
        delivered=lambda: [str(c.params["chat_id"]) for c in fake.calls_to("sendMessage") if c.status == 200],
        violations=lambda: fake.violations,
        requests=lambda: len(fake.calls_to("sendMessage")),
        requests_per_message=1,
        fake=fake,
    )


@pytest.fixture(params=["discord", "telegram"])
async def platform(request: pytest.FixtureRequest) -> AsyncIterator[Platform]:
    """A high configured ceiling keeps the 5,000-message run short on a small machine."""
    chosen = await (
        discord_platform(rate=1000) if request.param == "discord" else telegram_platform(rate=1000)
    )
    yield chosen
    await chosen.channel.close()  # type: ignore[attr-defined]
    await chosen.fake.stop()


@pytest.fixture
async def live_app(tmp_path: Path) -> AsyncIterator[App]:
    """A real clock: rate limits, retries and backoff all run in real time here."""
    app = bootstrap(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gomflow.db"), write=lambda _: None)
    await upgrade(app.core.db)
    yield app
    await app.core.db.dispose()


@pytest.fixture
async def slow_platform() -> AsyncIterator[Platform]:
    chosen = await discord_platform(rate=100)
    yield chosen
    await chosen.channel.close()  # type: ignore[attr-defined]
    await chosen.fake.stop()


@pytest.fixture
async def faulty_platform() -> AsyncIterator[Platform]:
    chosen = await discord_platform(rate=500, fault_rate=0.3, blocked_users={BLOCKED})
    yield chosen
    await chosen.channel.close()  # type: ignore[attr-defined]
    await chosen.fake.stop()


def dispatcher_for(app: App, platform: Platform, **options: object) -> Dispatcher:
    return Dispatcher(
        app.core,
        app.bot.renderer,
        {platform.name: platform.channel},
        limits={platform.name: platform.limits},
        **options,  # type: ignore[arg-type]
    )


async def queue_broadcast(app: App, body: str = "Payment window closes soon!") -> broadcasts.BroadcastView:
    gina = await gom(app)
    return await broadcasts.prepare_broadcast(
        app.core.uow(), gina, "SVT-FML", "all", body, confirm_over=10**6
    )


async def test_5000_message_broadcast_is_delivered_exactly_once_without_crossing_limits(
    live_app: App, platform: Platform
) -> None:
    app = live_app
    await open_go(app)
    await seed_buyers(app.core, "SVT-FML", 5000, platform.name, platform.address)
    view = await queue_broadcast(app)
    assert view.recipients == 5000 and view.by_channel == {platform.name: 5000}

    dispatcher = dispatcher_for(app, platform)
    seconds = await deliver_all(app.core, dispatcher, timeout=90)

    delivered = platform.delivered()
    assert Counter(delivered).most_common(1)[0][1] == 1
    assert sorted(delivered) == sorted(platform.address(i) for i in range(5000))
    assert platform.violations() == 0
    assert await outbox_counts(app.core) == {"sent": 5000}
    assert platform.requests() == 5000 * platform.requests_per_message  # no 429, no repeat
    print(f"5000 messages in {seconds:.1f}s on {platform.name} against a ceiling of 1000 requests/s")


async def test_queueing_the_same_broadcast_twice_queues_each_recipient_once(
    live_app: App, platform: Platform
) -> None:
    app = live_app
    await open_go(app)
    await seed_buyers(app.core, "SVT-FML", 50, platform.name, platform.address)
    gina = await gom(app)
    draft = await broadcasts.prepare_broadcast(app.core.uow(), gina, "SVT-FML", "all", "Hi", confirm_over=10)
    assert draft.status == "draft" and (await outbox_counts(app.core)) == {}
    await broadcasts.confirm_broadcast(app.core.uow(), gina, draft.id)
    async with app.core.uow() as uow:  # a crash between queueing and marking it queued
        from core.db.models import Broadcast

        row = await uow.session.get_one(Broadcast, draft.id)
        row.status = "scheduled"
        row.send_at = uow.now
        await uow.commit()
    assert await broadcasts.release_due_broadcasts(app.core.uow()) == 1
    assert await outbox_counts(app.core) == {"pending": 50}


async def test_transactional_message_overtakes_a_broadcast_backlog(
    live_app: App, slow_platform: Platform
) -> None:
    app, platform = live_app, slow_platform
    await open_go(app)
    await seed_buyers(app.core, "SVT-FML", 400, platform.name, platform.address)
    await queue_broadcast(app)
    async with app.core.reader() as uow:
        first = await uow.session.scalar(select(Identity.id).where(Identity.channel == platform.name))
    assert first is not None
    dispatcher = dispatcher_for(app, platform)
    delivery = asyncio.create_task(deliver_all(app.core, dispatcher, timeout=60))
    async with asyncio.timeout(60):  # the broadcast under way, however slow the machine
        while len(platform.fake.delivered) < 50:
            await asyncio.sleep(0.01)
    queued_at = time.monotonic()
    async with app.core.uow() as uow:
        await uow.notify(
            first,
            "order_expired",
            {"number": "SVT-FML-1", "go_code": "SVT-FML", "go_title": "T"},
            dedupe_key="urgent",
            priority=TRANSACTIONAL,
        )
        await uow.commit()
    while not any("expired" in content for _, content in platform.fake.delivered):
        await asyncio.sleep(0.01)
    latency = time.monotonic() - queued_at
    broadcast_left = 400 - sum(1 for _, c in platform.fake.delivered if "Payment window" in c)
    await delivery
    assert latency < 1.5, latency
    assert broadcast_left > 100  # it really went ahead of most of the backlog
    assert platform.violations() == 0


async def test_faults_and_a_blocked_recipient_lose_nothing_and_never_spin(
    live_app: App, faulty_platform: Platform
) -> None:
    app, platform = live_app, faulty_platform
    await open_go(app)
    await seed_buyers(app.core, "SVT-FML", 200, platform.name, platform.address)
    await queue_broadcast(app)
    dispatcher = dispatcher_for(app, platform, backoff_seconds=0.02, max_attempts=30)
    await deliver_all(app.core, dispatcher, timeout=60)

    delivered = platform.delivered()
    expected = {platform.address(i) for i in range(200)} - {BLOCKED}
    assert sorted(delivered) == sorted(expected)  # every one, exactly once
    assert platform.fake.faults > 30
    assert await outbox_counts(app.core) == {"sent": 199, "failed": 1}
    async with app.core.reader() as uow:
        blocked = await uow.session.scalar(select(Identity).where(Identity.external_id == BLOCKED))
        assert blocked is not None and blocked.reachable is False
        failed = await uow.session.scalar(select(OutboxMessage).where(OutboxMessage.status == "failed"))
        assert failed is not None and "50007" in (failed.last_error or "")

    # A later message to the blocked buyer is failed at once, without asking Discord again.
    requests = platform.fake.requests
    async with app.core.uow() as uow:
        await uow.notify(
            blocked.id,
            "order_expired",
            {"number": "N", "go_code": "G", "go_title": "T"},
            dedupe_key="after-block",
        )
        await uow.commit()
    await dispatcher.run_once()
    assert platform.fake.requests == requests
    assert await outbox_counts(app.core) == {"sent": 199, "failed": 2}
