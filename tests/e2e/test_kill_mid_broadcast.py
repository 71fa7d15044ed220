"""Kill gomflow with SIGKILL in the middle of a broadcast, start it again: nothing lost.

A real ``gomflow run`` process delivers to the fake Discord API running here. A send
keeps its concurrency slot until its delivery is recorded, so the only messages that can
be sent again after the restart are those in flight at the kill: at most
``CONCURRENCY``, by construction, however slow the machine. Discord's nonce then keeps
even those from showing twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import pytest

from core.config import Settings
from core.db.migrate import upgrade
from core.services import broadcasts
from main import bootstrap
from tests.conftest import BACKENDS, fresh_database_url, gom, open_go
from tests.e2e.test_command_line import free_port, gomflow, spawn_gomflow_run
from tests.fakes.crowd import outbox_counts, seed_buyers
from tests.fakes.discord_api import TOKEN, FakeDiscordAPI

BUYERS = 1000
RATE = 250  # requests per second the fake allows
# what gomflow is told: the fake times each request when its own loop, in this busy test
# process, gets to it, so requests paced evenly can reach it bunched after a stall; the
# limiter's precision against an exact ceiling is tested in-process (test_rate_limits.py)
CONFIGURED = RATE * 4 // 5
CONCURRENCY = 16  # sends in flight at once: the most that can go out again after the kill


async def start_gomflow(
    tmp_path: Path, database_url: str, api_base: str, log: Path
) -> asyncio.subprocess.Process:
    """``gomflow run`` delivering to the fake; its log goes to a file, which never fills up and
    stops the process the way an unread pipe would."""
    env = dict(
        os.environ,
        GOMFLOW_DATABASE_URL=database_url,
        GOMFLOW_HTTP_PORT=str(free_port()),
        GOMFLOW_OUTBOX_LEASE_SECONDS="2",
        GOMFLOW_DISPATCH_CONCURRENCY=str(CONCURRENCY),
        GOMFLOW_RATE_LIMITS=f"discord={CONFIGURED}/1s,5/5s,5/5s",
        DISCORD_BOT_TOKEN=TOKEN,
        DISCORD_API_BASE=api_base,
        GOMFLOW_LOG_LEVEL="WARNING",
    )
    return await spawn_gomflow_run(tmp_path, env, log)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_sigkill_mid_broadcast_loses_nothing_and_resends_at_most_the_sends_in_flight(
    tmp_path: Path, backend: str
) -> None:
    fake = FakeDiscordAPI(global_limit=(RATE, 1.0), channel_limit=(5, 5.0))
    api_base = await fake.start()
    database_url = await fresh_database_url(backend, tmp_path)
    app = bootstrap(Settings(database_url=database_url), write=lambda _: None)
    try:
        await upgrade(app.core.db)
        await open_go(app)
        await seed_buyers(app.core, "SVT-FML", BUYERS, "discord", lambda i: str(10**17 + i))
        gina = await gom(app)
        await broadcasts.prepare_broadcast(
            app.core.uow(), gina, "SVT-FML", "all", "Restock!", confirm_over=10**6
        )

        loop = asyncio.get_running_loop()
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        first = await start_gomflow(tmp_path, database_url, api_base, first_log)
        try:
            deadline = loop.time() + 120  # generous: a busy machine is slow
            while len(fake.delivered) < BUYERS // 3:
                assert first.returncode is None, first_log.read_text()
                assert loop.time() < deadline, (len(fake.delivered), first_log.read_text()[-3000:])
                await asyncio.sleep(0.02)
            first.send_signal(signal.SIGKILL)
            await first.wait()
        finally:
            if first.returncode is None:
                first.kill()
        at_kill = len(fake.delivered)
        assert at_kill < BUYERS

        second = await start_gomflow(tmp_path, database_url, api_base, second_log)
        try:
            deadline = loop.time() + 120
            while (await outbox_counts(app.core, broadcasts_only=True)) != {"sent": BUYERS}:
                assert second.returncode is None, second_log.read_text()
                assert loop.time() < deadline, (
                    await outbox_counts(app.core, broadcasts_only=True),
                    second_log.read_text()[-3000:],
                )
                await asyncio.sleep(0.05)
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 30)
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()

        delivered = Counter(channel for channel, _ in fake.delivered)
        assert set(delivered) == {f"dm{10**17 + i}" for i in range(BUYERS)}  # nobody lost
        sends = Counter(nonce for _, nonce in fake.posted)
        assert None not in sends and len(sends) == BUYERS  # every send carried its message's nonce
        resent = sum(n - 1 for n in sends.values())
        assert resent <= CONCURRENCY, resent  # only what was in flight when the process died
        assert max(delivered.values()) == 1  # and Discord's nonce showed none of those twice
        checked = gomflow("check", cwd=tmp_path, env=dict(os.environ, GOMFLOW_DATABASE_URL=database_url))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert await outbox_counts(app.core, broadcasts_only=True) == {"sent": BUYERS}
        assert fake.violations == 0
        logs = first_log.read_text() + second_log.read_text()
        assert "Traceback" not in logs, logs[-6000:]
        print(f"killed after {at_kill} of {BUYERS}; sent again after restart: {resent} (bound {CONCURRENCY})")
    finally:  # also when an assertion fails: nothing left open for the next test
        await app.core.db.dispose()
        await fake.stop()
