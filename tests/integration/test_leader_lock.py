"""The leader lock on a real PostgreSQL: two holders in one process, each on its own
connection, as two workers would be."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import text

from core.leader import LeaderLock, Leadership, OutboxNotifier, migration_lock, session_engine
from tests.conftest import NO_POSTGRES

POSTGRES_URL = os.environ.get("GOMFLOW_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
KEY = 0x676F6D666C6F77FF  # not the real leader key: a running gomflow on this database is not disturbed


def url() -> str:
    assert POSTGRES_URL is not None
    return POSTGRES_URL


async def terminate_holder(key: int) -> int:
    """Kill the server session holding ``key``, as a dropped connection would end it."""
    engine = session_engine(url())
    try:
        async with engine.connect() as connection:
            killed = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND granted AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": key},
            )
            await connection.commit()
            return int(killed or 0)
    finally:
        await engine.dispose()


async def test_only_one_of_two_holders_gets_the_lock_until_it_lets_go() -> None:
    first, second = LeaderLock(url(), key=KEY), LeaderLock(url(), key=KEY)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.check()  # still ours, asked again
        assert not await second.check()
        await first.release()
        assert not await first.check()
        assert await second.try_acquire()
        assert not await first.try_acquire()
    finally:
        await first.close()
        await second.close()


async def test_a_dropped_lock_connection_is_noticed_and_the_other_takes_over() -> None:
    first, second = LeaderLock(url(), key=KEY), LeaderLock(url(), key=KEY)
    try:
        assert await first.try_acquire()
        assert await terminate_holder(KEY) == 1  # the server ends the leader's session
        assert await second.try_acquire()  # the lock went with it
        assert not await first.check()  # and the old holder does not think it still leads
        assert not first.held
        assert not await first.try_acquire()
    finally:
        await first.close()
        await second.close()


async def test_leadership_passes_to_the_follower_within_its_retry_interval() -> None:
    stop = asyncio.Event()
    leader = Leadership(url(), retry_seconds=0.2, check_seconds=0.2, key=KEY)
    follower = Leadership(url(), retry_seconds=0.2, check_seconds=0.2, key=KEY)
    try:
        assert await asyncio.wait_for(leader.acquire(stop), 10)
        assert leader.role == "leader"
        waiting = asyncio.create_task(follower.acquire(stop))
        await asyncio.sleep(0.5)
        assert not waiting.done() and follower.role == "follower"
        watching = asyncio.create_task(leader.lost(stop))
        await terminate_holder(KEY)
        assert await asyncio.wait_for(watching, 10)  # the leader noticed it lost the lock
        assert leader.role == "follower"
        assert await asyncio.wait_for(waiting, 10)
        assert follower.role == "leader"
    finally:
        stop.set()
        await leader.close()
        await follower.close()


async def test_on_sqlite_the_one_process_always_leads() -> None:
    stop = asyncio.Event()
    alone = Leadership("sqlite+aiosqlite:///unused.db")
    assert alone.leading
    assert await alone.acquire(stop)
    stop.set()
    assert not await alone.lost(stop)
    await alone.close()


async def test_migrations_wait_for_each_other() -> None:
    order: list[str] = []

    async def migrate(name: str) -> None:
        async with migration_lock(url()):
            order.append(f"{name} in")
            await asyncio.sleep(0.2)
            order.append(f"{name} out")

    await asyncio.wait_for(asyncio.gather(migrate("a"), migrate("b")), 20)
    assert order[0].split()[0] == order[1].split()[0]  # one finished before the other began
    assert order[2].split()[0] == order[3].split()[0]


async def test_a_follower_that_queues_outbox_messages_wakes_the_leader() -> None:
    stop, woken = asyncio.Event(), asyncio.Event()
    leader = Leadership(url(), retry_seconds=0.2, check_seconds=0.2, key=KEY, on_notify=woken.set)
    follower = Leadership(url(), retry_seconds=0.2, check_seconds=0.2, key=KEY)
    engine = session_engine(url())
    notifier = OutboxNotifier(engine, follower, gap=0.01)
    try:
        assert await asyncio.wait_for(leader.acquire(stop), 10)
        notifier()  # as the follower's unit of work does after committing outbox rows
        notifier()  # a second one meanwhile rides on the first NOTIFY
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        stop.set()
        await notifier.close()
        await engine.dispose()
        await leader.close()
        await follower.close()
