"""Two real ``gomflow run`` workers on one PostgreSQL, in front of the local Telegram fake.

* A burst of webhook updates spread over both, some sent to both: each handled once, no
  oversell, a conversation continued on whichever worker gets the next message,
  ``gomflow check`` green.
* A broadcast drained while two workers run: each message sent once, and the combined
  send rate within the limit the fake enforces (no 429).
* The leader killed with SIGKILL: the other takes over the scheduler and long polling
  within seconds, and a deadline that passed during the handover closes its GO once.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, update

from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import AuditEntry, GroupOrder, InboundUpdate, Order
from core.services import broadcasts
from core.services.accounts import register_gom
from main import App, bootstrap
from tests.conftest import NO_POSTGRES, POSTGRES_URL, fresh_database_url, gom, open_go
from tests.e2e.test_command_line import gomflow
from tests.fakes.crowd import outbox_counts, seed_buyers
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.workers_rig import (
    DATA_KEY,
    GINA,
    WAIT,
    Rig,
    Worker,
    both_ready,
    busiest_second,
    post,
    until,
)

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    fake = FakeTelegram()
    await fake.start()
    url = await fresh_database_url("postgres", tmp_path)
    app = bootstrap(Settings(database_url=url, data_keys=DATA_KEY), write=lambda _: None)
    await upgrade(app.core.db)
    rig = Rig(tmp_path, fake, url, app)
    try:
        yield rig
    finally:
        await rig.stop()
        await app.core.close()
        await fake.stop()
    for worker in rig.workers:  # killed ones included: nothing may have gone wrong in any
        assert "Traceback" not in worker.text(), worker.text()[-4000:]


async def test_a_burst_spread_over_two_workers_is_handled_once_each_and_never_oversells(rig: Rig) -> None:
    app, fake = rig.app, rig.fake
    await open_go(app, cap=10, limit=1)
    await register_gom(app.core.uow(), "telegram", str(GINA["id"]), "Gina")
    fans = [FakeTelegram.user(7000 + n, f"Fan {n}") for n in range(24)]
    burst = [fake.message_update(fan, text="/order SVT-FML ALB:A 1") for fan in fans]
    one, two = await rig.start("one"), await rig.start("two")
    async with aiohttp.ClientSession() as client:
        await both_ready(client, [one, two])
        sends = []
        for n, update in enumerate(burst):
            sends.append(post(client, (one, two)[n % 2], update))
            if n % 3 == 0:  # a retry that Telegram sent on: this one reaches both workers
                sends.append(post(client, (two, one)[n % 2], update))
        await asyncio.gather(*sends)

        async def settled() -> bool:
            async with app.core.reader() as uow:
                waiting = await uow.session.scalar(
                    select(func.count()).select_from(InboundUpdate).where(InboundUpdate.handled_at.is_(None))
                )
            return waiting == 0 and all(fake.chat(fan["id"]) for fan in fans)

        await until(settled, "every update handled and answered")

        # A conversation goes on on whichever worker gets the next message.
        steps = ["/newgo", "NEW-GO", "A new group order"]
        for n, text in enumerate(steps):
            before = len(fake.chat(1001))
            await post(client, (one, two)[n % 2], fake.message_update(GINA, text=text))
            await until(_more_than(fake, before), f"an answer to {text!r}")
        assert "(3/7)" in fake.last(1001).text, fake.last(1001).text

    async with app.core.reader() as uow:
        orders = await uow.session.scalar(select(func.count()).select_from(Order))
        recorded = await uow.session.scalar(select(func.count()).select_from(InboundUpdate))
    assert orders == 10  # the capacity, not one more
    assert recorded == len(burst) + len(steps)  # each update stored once, whichever worker got it
    answers = Counter(str(call.params["chat_id"]) for call in fake.calls_to("sendMessage"))
    twice = {
        fan["id"]: [m.text for m in fake.chat(fan["id"])] for fan in fans if answers[str(fan["id"])] != 1
    }
    assert not twice, (answers, twice)  # one answer per fan: handled once (and what a second said)
    checked = gomflow("check", cwd=rig.tmp_path, env=dict(os.environ, GOMFLOW_DATABASE_URL=rig.url))
    assert checked.returncode == 0, checked.stdout + checked.stderr


RATE = 50  # messages per second: the fake's ceiling, low so the test is short
# gomflow's: the fake times requests from two busy processes by when its own loop gets to
# them, so gomflow is told 4/5 of it (the pacer's precision: tests/unit/test_send_schedule.py)
TOLD = RATE * 4 // 5
RECIPIENTS = 300


async def test_a_broadcast_drained_with_two_workers_goes_once_to_each_within_the_limit(rig: Rig) -> None:
    app, fake = rig.app, rig.fake
    fake.global_per_second = RATE
    fake.enforce_limits = True
    await open_go(app, cap=RECIPIENTS + 10)
    await seed_buyers(app.core, "SVT-FML", RECIPIENTS, "telegram", lambda i: str(50_000 + i))
    gina = await gom(app)
    await broadcasts.prepare_broadcast(app.core.uow(), gina, "SVT-FML", "all", "Restock!", confirm_over=10**6)
    limits = {"GOMFLOW_RATE_LIMITS": f"telegram={TOLD}/1s"}
    one, two = await rig.start("one", extra=limits), await rig.start("two", extra=limits)
    async with aiohttp.ClientSession() as client:
        await both_ready(client, [one, two])
    await until(lambda: _all_sent(app, RECIPIENTS), "the broadcast sent", timeout=WAIT + RECIPIENTS / TOLD)
    sent = [c for c in fake.calls_to("sendMessage") if "Restock!" in str(c.params.get("text"))]
    per_chat = Counter(c.params["chat_id"] for c in sent)
    assert len(per_chat) == RECIPIENTS and set(per_chat.values()) == {1}  # each exactly once
    assert fake.violations == 0  # no 429: the two together stayed within the limit
    assert all(c.status == 200 for c in sent)
    assert busiest_second([c.at for c in sent]) <= RATE


def _more_than(fake: FakeTelegram, count: int) -> Callable[[], bool]:
    return lambda: len(fake.chat(1001)) > count


async def _all_sent(app: App, count: int) -> bool:
    return await outbox_counts(app.core, broadcasts_only=True) == {"sent": count}


async def test_when_the_leader_is_killed_the_other_takes_over_and_closes_a_due_go_once(rig: Rig) -> None:
    app, fake = rig.app, rig.fake
    await open_go(app, cap=10)
    fast = {"GOMFLOW_TICK_SECONDS": "0.5"}
    workers = [await rig.start(name, webhook=False, extra=fast) for name in ("one", "two")]
    async with aiohttp.ClientSession() as client:
        roles = await both_ready(client, workers)
        first, second = workers if roles[0] == "leader" else workers[::-1]
        before = len(fake.calls_to("getUpdates"))
        await until(lambda: len(fake.calls_to("getUpdates")) > before, "the leader polling")

        # The GO's deadline passes just after the leader dies, before anyone took over.
        async with app.core.uow() as uow:
            deadline = uow.now + timedelta(seconds=1)
            await uow.session.execute(
                update(GroupOrder).where(GroupOrder.code == "SVT-FML").values(deadline=deadline)
            )
            await uow.commit()
        first.process.send_signal(signal.SIGKILL)
        await first.process.wait()
        killed_at = asyncio.get_running_loop().time()
        await until(lambda: _is(second, client, "leader"), "the second worker leading", timeout=15)
        took_over = asyncio.get_running_loop().time() - killed_at

        fake.push(fake.message_update(GINA, text="/help"))  # polling moved with the leader
        await until(lambda: bool(fake.chat(1001)), "an answer by long polling", timeout=15)

        async def closed() -> bool:
            async with app.core.reader() as uow:
                status = await uow.session.scalar(
                    select(GroupOrder.status).where(GroupOrder.code == "SVT-FML")
                )
            return str(status) != "open"

        await until(closed, "the due GO closed by the new leader", timeout=15)
        await asyncio.sleep(1.5)  # three more ticks: nothing may close it again
    async with app.core.reader() as uow:
        go_id = await uow.session.scalar(select(GroupOrder.id).where(GroupOrder.code == "SVT-FML"))
        closings = await uow.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.entity == "group_order",
                AuditEntry.entity_id == go_id,
                AuditEntry.from_status == "open",
            )
        )
    assert closings == 1
    assert took_over < 10, took_over
    assert "is now the leader" in second.text()
    print(f"the follower led {took_over:.1f}s after the leader was killed")


async def _is(worker: Worker, client: aiohttp.ClientSession, role: str) -> bool:
    return await worker.role(client) == role
