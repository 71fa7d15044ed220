"""Several real ``gomflow run`` workers on one PostgreSQL, in front of the local Telegram
fake: what the worker tests and ``bench/workers.py`` share."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from main import App
from tests.fakes.telegram_api import FakeTelegram
from web.telegram import PATH, SECRET_HEADER

ROOT = Path(__file__).resolve().parents[2]
DATA_KEY = base64.urlsafe_b64encode(b"workers-" * 4).decode()  # made up, for this test only
SECRET = "workers-" + "test-secret"
GINA = FakeTelegram.user(1001, "Gina")
WAIT = 60.0  # seconds: generous, a busy machine is slow


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    port: int
    log: Path

    async def role(self, client: aiohttp.ClientSession) -> str | None:
        """What its /readyz says it is, or None while it does not answer."""
        try:
            async with client.get(f"http://127.0.0.1:{self.port}/readyz") as reply:
                body = await reply.json()
                return str(body["role"]) if reply.status == 200 else None
        except (aiohttp.ClientError, ValueError, KeyError):
            return None

    def text(self) -> str:
        return self.log.read_text(errors="replace")


async def until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> None:
    """Wait for ``condition()`` (a value or an awaitable) to be true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


class Rig:
    """The database, the Telegram fake and the workers of one test."""

    def __init__(self, tmp_path: Path, fake: FakeTelegram, url: str, app: App) -> None:
        self.tmp_path = tmp_path
        self.fake = fake
        self.url = url
        self.app = app
        self.workers: list[Worker] = []

    async def start(self, name: str, *, webhook: bool = True, extra: dict[str, str] | None = None) -> Worker:
        port = free_port()
        env = dict(
            os.environ,
            GOMFLOW_DATABASE_URL=self.url,
            GOMFLOW_DATA_KEY=DATA_KEY,
            GOMFLOW_HTTP_PORT=str(port),
            GOMFLOW_LOG_LEVEL="INFO",
            GOMFLOW_LEADER_RETRY_SECONDS="0.3",
            GOMFLOW_DB_POOL_SIZE="4",
            GOMFLOW_DB_MAX_OVERFLOW="4",
            TELEGRAM_BOT_TOKEN=self.fake.token,
            TELEGRAM_API_BASE_URL=self.fake.base_url,
        )
        env.update(extra or {})
        if webhook:
            env.update(TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}{PATH}", TELEGRAM_WEBHOOK_SECRET=SECRET)
        log = self.tmp_path / f"{name}.log"
        worker = Worker(await spawn(self.tmp_path, env, log), port, log)
        self.workers.append(worker)
        return worker

    async def stop(self) -> None:
        for worker in self.workers:
            if worker.process.returncode is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                await asyncio.wait_for(worker.process.wait(), 30)
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()


async def post(client: aiohttp.ClientSession, worker: Worker, update: dict[str, Any]) -> int:
    """Deliver an update to one worker as Telegram does: again until it answers 200."""
    for _ in range(200):
        try:
            url = f"http://127.0.0.1:{worker.port}{PATH}"
            async with client.post(url, json=update, headers={SECRET_HEADER: SECRET}) as reply:
                if reply.status == 200:
                    return 200
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"worker on port {worker.port} never took update {update['update_id']}")


async def both_ready(client: aiohttp.ClientSession, workers: list[Worker]) -> list[str]:
    roles: list[str | None] = []

    async def ready() -> bool:
        roles[:] = [await w.role(client) for w in workers]
        return None not in roles and roles.count("leader") == 1

    await until(ready, "both workers ready, one of them the leader")
    return [str(r) for r in roles]


def busiest_second(times: list[float]) -> int:
    """The most sends inside any one-second window."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def spawn(cwd: Path, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """A real ``gomflow run --no-console``, its log in a file (an unread pipe can stop it)."""
    with log.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "main.py"), "run", "--no-console",
            cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
