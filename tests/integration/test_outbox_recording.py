"""Each delivery is recorded as it completes, and one worker never sends a message twice.

What bounds the repeats after a crash (docs/delivery-guarantees.md): at any instant at
most ``concurrency`` messages have been accepted by the platform but not yet recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from sqlalchemy import func, select

from channels.base import MessageRefused
from channels.dispatcher import Dispatcher
from core.app import Core
from core.clock import FrozenClock
from core.db.models import Identity, OutboxMessage
from core.render import Rendered
from main import App
from tests.conftest import buyer
from tests.fakes.crowd import deliver_all, outbox_counts

CONCURRENCY = 4


class AuditingChannel:
    """Accepts everything; before each send it counts the sends accepted but not yet recorded."""

    name = "fake"

    def __init__(self, core: Core) -> None:
        self._core = core
        self.accepted = 0
        self.most_unrecorded = 0
        self.keys: list[str] = []

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        accepted = self.accepted  # read first: the count below can only make it smaller
        async with self._core.reader() as uow:
            recorded = await uow.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
            )
        self.most_unrecorded = max(self.most_unrecorded, accepted - int(recorded or 0))
        self.keys.append(key)
        self.accepted += 1


class GatedChannel:
    """Holds every send to ``held`` until ``gate`` opens; counts the sends of each address."""

    name = "fake"

    def __init__(self, held: str) -> None:
        self.held = held
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.calls: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        self.calls[address] += 1
        if address == self.held:
            self.started.set()
            await self.gate.wait()
        self.accepted[address] += 1


async def queue(app: App, addresses: list[str], per_address: int = 1) -> None:
    owner = await buyer(app, "owner")
    async with app.core.uow() as uow:
        identities = [
            Identity(
                user_id=owner.user_id,
                channel="fake",
                external_id=address,
                handle=None,
                reachable=True,
                created_at=uow.now,
                kind="person",
            )
            for address in addresses
        ]
        uow.session.add_all(identities)
        await uow.session.flush()
        for identity in identities:
            for n in range(per_address):
                await uow.notify(
                    identity.id, "muted", {"muted": True}, dedupe_key=f"{identity.external_id}:{n}"
                )
        await uow.commit()


async def wait_until(condition: object, timeout: float = 60.0) -> None:
    """Poll an async condition until it holds; generous, for a busy machine."""
    assert callable(condition)
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.01)


async def test_never_more_than_the_sends_in_flight_are_accepted_but_unrecorded(any_app: App) -> None:
    await queue(any_app, [f"p{i}" for i in range(100)], per_address=2)
    channel = AuditingChannel(any_app.core)
    dispatcher = Dispatcher(any_app.core, any_app.bot.renderer, {"fake": channel}, concurrency=CONCURRENCY)
    await deliver_all(any_app.core, dispatcher, timeout=120)
    assert await outbox_counts(any_app.core) == {"sent": 200}
    # The send doing the counting holds one slot, so at most CONCURRENCY - 1 others can.
    assert channel.most_unrecorded <= CONCURRENCY - 1, channel.most_unrecorded
    assert len(set(channel.keys)) == 200 and all(0 < len(key) <= 25 for key in channel.keys)


async def test_a_message_still_being_sent_is_not_claimed_again_when_its_lease_runs_out(
    any_app: App, clock: FrozenClock
) -> None:
    await queue(any_app, ["slow"])
    channel = GatedChannel(held="slow")
    dispatcher = Dispatcher(any_app.core, any_app.bot.renderer, {"fake": channel}, concurrency=CONCURRENCY)
    run = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.wait_for(channel.started.wait(), 60)
        clock.advance(seconds=any_app.core.settings.outbox_lease_seconds * 2)  # its lease is over
        await queue(any_app, ["quick"])  # wakes the dispatcher, which claims what is due

        async def quick_sent() -> bool:
            return channel.accepted["quick"] == 1

        await wait_until(quick_sent)
        assert channel.calls["slow"] == 1  # due again in the database, but still held here
        channel.gate.set()

        async def all_sent() -> bool:
            return await outbox_counts(any_app.core) == {"sent": 2}

        await wait_until(all_sent)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    assert channel.calls == Counter({"slow": 1, "quick": 1})


async def test_a_message_whose_lease_ran_out_before_its_turn_is_given_back_unsent(any_app: App) -> None:
    await queue(any_app, ["slow", "next"])
    channel = GatedChannel(held="slow")
    lease = 0.5
    dispatcher = Dispatcher(
        any_app.core, any_app.bot.renderer, {"fake": channel}, concurrency=1, lease_seconds=lease
    )
    run = asyncio.create_task(dispatcher.run())
    try:
        await asyncio.wait_for(channel.started.wait(), 60)
        # Both were claimed before "slow" started, so "next", waiting for the one slot, holds
        # a lease that is over once this much time has passed: then let "slow" finish.
        over = time.monotonic() + lease
        while time.monotonic() <= over:
            await asyncio.sleep(0.01)
        channel.gate.set()

        async def all_sent() -> bool:
            return await outbox_counts(any_app.core) == {"sent": 2}

        await wait_until(all_sent)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    assert channel.calls == Counter({"slow": 1, "next": 1})
    assert dispatcher.stats.deferred >= 1  # given back once, then claimed and sent
    async with any_app.core.reader() as uow:
        rows = await uow.session.execute(
            select(Identity.external_id, OutboxMessage.attempts).join(
                Identity, Identity.id == OutboxMessage.identity_id
            )
        )
        attempts = {address: n for address, n in rows.all()}
    assert attempts == {"slow": 1, "next": 1}  # the attempt given back is not counted


class RefusingChannel:
    """The platform refuses one address's message itself (say, its markup), accepts the rest."""

    name = "fake"

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.calls: Counter[str] = Counter()

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        self.calls[address] += 1
        if address == self.refused:
            raise MessageRefused("Bad Request: can't parse entities")


async def test_a_message_the_platform_refuses_fails_at_once_and_the_person_stays_reachable(
    any_app: App,
) -> None:
    await queue(any_app, ["ok", "bad"])
    channel = RefusingChannel("bad")
    dispatcher = Dispatcher(any_app.core, any_app.bot.renderer, {"fake": channel}, concurrency=CONCURRENCY)
    await deliver_all(any_app.core, dispatcher, timeout=120)
    assert await outbox_counts(any_app.core) == {"sent": 1, "failed": 1}
    assert channel.calls == {"ok": 1, "bad": 1}  # not tried again: it would be refused again
    async with any_app.core.reader() as uow:
        error, reachable = (
            await uow.session.execute(
                select(OutboxMessage.last_error, Identity.reachable)
                .join(Identity, Identity.id == OutboxMessage.identity_id)
                .where(Identity.external_id == "bad")
            )
        ).one()
    assert "can't parse entities" in (error or "") and reachable
