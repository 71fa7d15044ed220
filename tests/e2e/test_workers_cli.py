"""``gomflow run --workers N``: N children sharing one port, restarted when one dies,
stopped together; refused on SQLite."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import NO_POSTGRES, POSTGRES_URL, fresh_database_url
from tests.e2e.test_command_line import ROOT, free_port, gomflow
from tests.fakes.workers_rig import DATA_KEY, until


def test_several_workers_on_sqlite_are_refused_with_the_reason(tmp_path: Path) -> None:
    env = dict(os.environ, GOMFLOW_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/g.db")
    result = gomflow("run", "--workers", "2", cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "--workers 2 needs PostgreSQL" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "g.db").exists()  # refused before anything was written


@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
async def test_two_workers_share_the_port_one_leads_and_a_dead_one_comes_back(tmp_path: Path) -> None:
    url = await fresh_database_url("postgres", tmp_path)
    port = free_port()
    log = tmp_path / "workers.log"
    env = dict(
        os.environ,
        GOMFLOW_DATABASE_URL=url,
        GOMFLOW_DATA_KEY=DATA_KEY,
        GOMFLOW_HTTP_PORT=str(port),
        GOMFLOW_LOG_LEVEL="INFO",
        GOMFLOW_LEADER_RETRY_SECONDS="0.3",
    )
    with log.open("wb") as sink:
        supervisor = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "main.py"), "run", "--workers", "2",
            cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    roles: set[str] = set()

    async def both_roles_answer() -> bool:
        # a new connection each time: the kernel spreads them over the workers on the port
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as client:
            try:
                async with client.get(f"http://127.0.0.1:{port}/readyz") as reply:
                    if reply.status == 200:
                        roles.add((await reply.json())["role"])
            except aiohttp.ClientError:
                pass
        return roles == {"leader", "follower"}

    try:
        await until(both_roles_answer, "a leader and a follower answering on one port")
        started = re.findall(r"worker 1 started \(pid (\d+)\)", log.read_text())
        os.kill(int(started[0]), signal.SIGKILL)
        await until(
            lambda: len(re.findall(r"worker 1 started", log.read_text())) == 2, "worker 1 started again"
        )
        supervisor.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(supervisor.wait(), 60) == 0
    finally:
        if supervisor.returncode is None:
            supervisor.kill()
            await supervisor.wait()
    text = log.read_text()
    assert "all workers stopped" in text and "Traceback" not in text, text[-4000:]
