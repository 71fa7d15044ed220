"""Several identical gomflow workers on one PostgreSQL: the leader's work, and ``--workers N``.

Every worker serves HTTP (platform and payment webhooks, pay pages, health) and handles
whatever reaches it; the database deduplicates inbound updates and holds every
conversation's state, so it does not matter which worker gets the next message. What
must run once at a time runs only in the leader (``core.leader``): the scheduler's ticks,
the outbox dispatcher, and the inbound adapters that pull rather than get pushed —
Telegram long polling, the Discord gateway, the email listener and IMAP polling (each
adapter says so with ``leader_only``).

The outbox is dispatched by the leader alone, so each platform's rate limit is kept by
one pacer, as with a single process: the combined send rate of N workers is the
leader's. Followers that queue messages wake it with a NOTIFY.

``gomflow run --workers N`` is a small supervisor: it migrates once, then starts N
children (``gomflow run --no-console``) sharing the HTTP port (SO_REUSEPORT: the kernel
spreads connections over them), restarts a child that exits, and stops them all on
SIGTERM or Ctrl-C. Any other supervisor (systemd, a container platform) may start the
workers itself instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from channels.dispatcher import Dispatcher
from scheduler.jobs import Ticker

log = logging.getLogger("gomflow")

RESTART_MAX = 30.0  # seconds: the longest wait before starting a child that keeps failing
QUICK_EXIT = 10.0  # seconds: a child that exits sooner than this counts as failing to start
STOP_GRACE = 30.0  # seconds a child gets to stop before it is killed


def leader_only(adapter: object) -> bool:
    """Whether an inbound adapter pulls its messages (polling, a gateway, a listener port),
    so that only the leader may run it; adapters say so with a ``leader_only`` attribute."""
    return bool(getattr(adapter, "leader_only", False))


@contextlib.asynccontextmanager
async def leader_work(
    ticker: Ticker,
    dispatcher: Dispatcher,
    adapters: Sequence[tuple[str, Callable[[], AbstractAsyncContextManager[object]]]],
) -> AsyncIterator[None]:
    """Run the leader-only work for one turn as leader; stop all of it on exit.

    ``adapters`` are (name, a fresh adapter's ``running``) pairs: an adapter is built anew
    for each turn, so one stopped when leadership was lost is never restarted.
    """
    async with contextlib.AsyncExitStack() as stack:
        for name, running in adapters:
            try:
                await stack.enter_async_context(running())
            except Exception as exc:
                log.error("%s: not started: %s", name, exc)
            else:
                log.info("%s: receiving and sending", name)
        # Catch up first: deadlines, expiries and reminders that fell due while nobody led.
        await ticker.tick()
        ticker.start()
        outbox = asyncio.create_task(dispatcher.run(), name="outbox")
        try:
            yield
        finally:
            await ticker.stop()
            outbox.cancel()
            # let it unwind (a claim in progress is given back) before anything closes
            await asyncio.gather(outbox, return_exceptions=True)


def refuse_workers(count: int, database_url: str) -> str | None:
    """Why ``--workers count`` cannot run on this database, or None."""
    if count < 1:
        return "--workers needs a number of at least 1"
    if count > 1 and not database_url.startswith(("postgres://", "postgresql")):
        return (
            f"--workers {count} needs PostgreSQL (GOMFLOW_DATABASE_URL=postgresql://…): "
            "SQLite is one file on one machine, and one process already uses it fully"
        )
    return None


async def supervise(count: int, command: Sequence[str], env: dict[str, str]) -> int:
    """Keep ``count`` children of ``command`` running until SIGTERM or SIGINT; 0 once stopped.

    Each child gets ``GOMFLOW_WORKER`` (its number, for its log lines) and shares the HTTP
    port (``GOMFLOW_HTTP_REUSE_PORT``). A child that exits is started again, after a pause
    that doubles while it keeps failing quickly.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)

    async def keep(number: int) -> None:
        failures = 0
        child_env = dict(env, GOMFLOW_WORKER=str(number), GOMFLOW_HTTP_REUSE_PORT="true")
        while not stop.is_set():
            started = loop.time()
            child = await asyncio.create_subprocess_exec(
                *command, env=child_env, stdin=asyncio.subprocess.DEVNULL
            )
            log.info("worker %d started (pid %d)", number, child.pid)
            if await _until_exit_or(stop, child):
                await _stop_child(number, child)
                return
            failures = failures + 1 if loop.time() - started < QUICK_EXIT else 0
            pause = min(RESTART_MAX, 0.5 * 2**failures)
            log.warning(
                "worker %d (pid %d) exited with %s; starting it again in %.1fs",
                number, child.pid, child.returncode, pause,
            )  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    log.info("starting %d workers", count)
    await asyncio.gather(*(keep(n) for n in range(1, count + 1)))
    log.info("all workers stopped")
    return 0


async def _until_exit_or(stop: asyncio.Event, child: asyncio.subprocess.Process) -> bool:
    """Wait for the child to exit (False) or for ``stop`` (True)."""
    exited = asyncio.ensure_future(child.wait())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
    for waiter in (exited, stopping):
        waiter.cancel()
    return stop.is_set()


async def _stop_child(number: int, child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.wait(), STOP_GRACE)
        except TimeoutError:
            log.warning("worker %d did not stop within %gs; killing it", number, STOP_GRACE)
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()


def worker_name() -> str:
    """This process's worker number in its log lines, when a supervisor gave it one."""
    number = os.environ.get("GOMFLOW_WORKER", "")
    return f" worker-{number}" if number.isdigit() else ""
