"""A worker process of the scale benchmark: its own core and order desk on a shared database.

Kept apart from ``bench.scale`` so a new process imports only the core, not every bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.common import percentile
from core.app import Core, build_core
from core.config import Settings
from core.errors import GomflowError
from core.heap import settled_heap
from core.quantities import parse_line_pairs
from core.services.accounts import Actor
from core.services.ordering import place_order


@dataclass
class Run:
    """One timed drop: how many answers a second, and how long each buyer waited."""

    answered: int
    seconds: float
    latencies_ms: list[float]
    cpu_seconds: float = 0.0  # this process's CPU (every thread) while it ran

    @property
    def cpu_us_per_answer(self) -> float:
        return self.cpu_seconds / self.answered * 1e6 if self.answered else 0.0

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def p99(self) -> float:
        return percentile(sorted(self.latencies_ms), 0.99)


async def timed(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> Run:
    """Run ``one(i)`` for every i from ``concurrency`` tasks; time each call."""
    queue = iter(range(count))
    latencies: list[float] = []

    async def task() -> None:
        for index in queue:
            started = time.perf_counter()
            await one(index)
            latencies.append((time.perf_counter() - started) * 1000)

    with settled_heap():  # as `gomflow run` serves once started
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(task() for _ in range(concurrency)))
        return Run(count, time.perf_counter() - started, latencies, time.process_time() - cpu)


async def desk_drop(
    core: Core, actors: Sequence[Actor], wishes: Sequence[str], code: str, concurrency: int
) -> Run:
    requests = [parse_line_pairs(w.split()) for w in wishes]

    async def one(index: int) -> None:
        with contextlib.suppress(GomflowError):  # counted as answered: a refusal is an answer
            await place_order(core.uow(), actors[index], code, requests[index])

    return await timed(len(actors), concurrency, one)


def run(
    url: str,
    code: str,
    people: list[tuple[int, str]],
    wishes: list[str],
    concurrency: int,
    ready: Any,
    start: Any,
    results: Any,
) -> None:
    """Order for ``people`` once ``start`` is set; put (began, ended, CPU s, latencies)."""

    async def drop() -> tuple[float, float, float, list[float]]:
        core = build_core(Settings(database_url=url))
        actors = [Actor(user_id, 0, "console", name, False, False) for user_id, name in people]
        try:
            ready.put(os.getpid())
            await asyncio.to_thread(start.wait)
            began, cpu = time.time(), time.process_time()
            timing = await desk_drop(core, actors, wishes, code, concurrency)
            return began, time.time(), time.process_time() - cpu, timing.latencies_ms
        finally:
            await core.close()

    results.put(asyncio.run(drop()))
