"""The dispatcher keeps per-channel, per-chat and per-group ceilings, proved by a counting fake."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.dispatcher import Dispatcher
from channels.limits import ChannelLimits, Rate, limits_from, parse_rate
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import Identity
from core.render import Rendered
from core.sending import MessageRefused
from main import App, bootstrap
from platforms import rate_limits
from tests.conftest import buyer
from tests.fakes.crowd import deliver_all, outbox_counts


class CountingChannel:
    """Accepts everything and counts sliding-window breaches of the limits it is given."""

    name = "fake"

    def __init__(self, limits: ChannelLimits) -> None:
        self.limits = limits
        self.times: dict[str, list[float]] = defaultdict(list)
        self.all: list[float] = []

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        now = time.monotonic()
        self.all.append(now)
        self.times[address].append(now)

    @staticmethod
    def breaches(times: list[float], rate: Rate | None) -> int:
        if rate is None:
            return 0
        times = sorted(times)
        return sum(
            1 for i in range(rate.count, len(times)) if times[i] - times[i - rate.count] < rate.seconds
        )

    def violations(self) -> int:
        found = self.breaches(self.all, self.limits.overall)
        for address, times in self.times.items():
            found += self.breaches(
                times, self.limits.per_group if address.startswith("g") else self.limits.per_chat
            )
        return found


@pytest.fixture
async def live_app(tmp_path: Path) -> AsyncIterator[App]:
    app = bootstrap(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gomflow.db"), write=lambda _: None)
    await upgrade(app.core.db)
    yield app
    await app.core.db.dispose()


async def queue_messages(app: App, names: list[str], *, each: int) -> None:
    """``each`` messages queued for every one of ``names`` on the fake platform (a name
    starting with g is a group chat)."""
    owner = await buyer(app, "owner")
    async with app.core.uow() as uow:
        identities = [
            Identity(
                user_id=owner.user_id,
                channel="fake",
                external_id=name,
                handle=None,
                reachable=True,
                created_at=uow.now,
                kind="group" if name.startswith("g") else "person",
            )
            for name in names
        ]
        uow.session.add_all(identities)
        await uow.session.flush()
        for identity in identities:
            for n in range(each):
                await uow.notify(
                    identity.id, "muted", {"muted": True}, dedupe_key=f"{identity.external_id}:{n}"
                )
        await uow.commit()


async def test_chats_and_groups_each_get_no_more_than_their_own_ceiling(live_app: App) -> None:
    limits = ChannelLimits(overall=Rate(40, 1), per_chat=Rate(2, 1), per_group=Rate(1, 1))
    channel = CountingChannel(limits)
    names = [f"p{i}" for i in range(10)] + ["g0", "g1", "g2"]
    await queue_messages(live_app, names, each=4)
    dispatcher = Dispatcher(live_app.core, live_app.bot.renderer, {"fake": channel}, limits={"fake": limits})
    seconds = await deliver_all(live_app.core, dispatcher, timeout=30)
    assert await outbox_counts(live_app.core) == {"sent": 52}
    assert {address: len(times) for address, times in channel.times.items()} == dict.fromkeys(names, 4)
    assert channel.violations() == 0
    assert seconds >= 3.0  # four messages to one group at one a second take three seconds at least


class SlowNetworkChannel(CountingChannel):
    """A platform behind a network that holds each request a while on its way in and on
    the answer's way back; it counts a request when it arrives. Some it refuses."""

    def __init__(self, limits: ChannelLimits) -> None:
        super().__init__(limits)
        self._draw = random.Random(19)

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        await asyncio.sleep(self._draw.uniform(0, 0.15))  # on its way in
        await super().send(address, message, key=key)  # received: counted from here
        refused = address.endswith("7")
        await asyncio.sleep(self._draw.uniform(0, 0.15))  # the answer on its way back
        if refused:
            raise MessageRefused("Bad Request: message text is empty")


async def test_no_window_the_platform_counts_holds_more_than_the_ceiling_whatever_the_network(
    live_app: App,
) -> None:
    """Requests held up to 150 ms each way arrive bunched: spaced by when they were sent, a
    window of arrivals held more than the ceiling. Refused ones still count, and free their
    place once answered (nothing stalls)."""
    limits = ChannelLimits(overall=Rate(10, 1))
    channel = SlowNetworkChannel(limits)
    await queue_messages(live_app, [f"p{i}" for i in range(40)], each=1)
    dispatcher = Dispatcher(live_app.core, live_app.bot.renderer, {"fake": channel}, limits={"fake": limits})
    await deliver_all(live_app.core, dispatcher, timeout=60)
    assert await outbox_counts(live_app.core) == {"sent": 36, "failed": 4}
    assert len(channel.all) == 40
    assert channel.violations() == 0


def test_rates_are_read_from_configuration() -> None:
    assert parse_rate("20/60s") == Rate(20, 60) == parse_rate("20/1m")
    assert parse_rate("-") is None
    limits = limits_from("telegram=100/1s;discord=,,2/10s", rate_limits())
    assert limits["telegram"].overall == Rate(100, 1) and limits["telegram"].per_group == Rate(20, 60)
    assert limits["discord"].overall is None and limits["discord"].per_group == Rate(2, 10)
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate("fast")
