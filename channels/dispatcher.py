"""Delivers the outbox: claims due messages, spaces them under each platform's limits,
renders them per channel and records the outcome.

* Claims are small and ordered by priority, and a channel that is already booked more
  than ``horizon`` seconds ahead is not claimed for, so a transactional message queued
  during a 10,000-message broadcast is claimed within about ``horizon`` seconds and goes
  next on its channel.
* A message whose chat is still inside its own limit goes back to the outbox, due when
  the chat is free, instead of holding up everyone else.
* A 429 pauses the channel for ``retry_after`` and puts the message back untried; 5xx and
  network errors retry with exponential backoff and jitter; a recipient who blocked the
  bot is marked unreachable and never tried again.
* Each delivery is recorded the moment the platform accepts it: one small statement,
  which rides in the order desk's next batch (sends that complete while a batch is being
  written share the next one; nothing waits for a timer or for another send). A send
  keeps its concurrency slot until its record is committed. So at any instant at most
  ``concurrency`` messages are accepted by a platform but not yet recorded, and after a
  crash only those can go out again (docs/delivery-guarantees.md).
* A message this process still holds is never claimed again, even if its lease ran out,
  and a message whose lease ran out before its turn came is given back unsent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from channels.base import (
    Channel,
    DeliveryError,
    EditingChannel,
    MessageRefused,
    OutsideWindow,
    RecipientUnreachable,
    WindowedChannel,
)
from channels.limits import ChannelLimits, Limiter, limits_from
from core import metrics
from core.app import Core
from core.outbox import (
    MAX_ATTEMPTS,
    PROMOTIONAL,
    Outgoing,
    claim_due,
    defer,
    mark_failed,
    mark_retry,
    mark_sent_many,
    release,
)
from core.render import Rendered, Renderer
from core.services import masterlist
from core.services.masterlist import LiveMessage
from core.services.service_window import inside, mark_waiting
from core.services.unsubscribe import unsubscribe_url

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    deferred: int = 0
    failed: int = 0
    waiting: int = 0  # outside the recipient's window with no template: parked, not failed


class Dispatcher:
    def __init__(
        self,
        core: Core,
        renderer: Renderer,
        channels: Mapping[str, Channel],
        poll_seconds: float = 5.0,
        *,
        limits: Mapping[str, ChannelLimits] | None = None,
        concurrency: int | None = None,
        batch: int = 20,
        horizon: float = 0.25,
        backoff_seconds: float = 2.0,
        max_attempts: int = MAX_ATTEMPTS,
        lease_seconds: float | None = None,
    ) -> None:
        self._core = core
        self._renderer = renderer
        self._channels = channels
        self._poll = poll_seconds
        self._batch = batch
        self._horizon = horizon
        self._backoff = backoff_seconds
        self._max_attempts = max_attempts
        lease = core.settings.outbox_lease_seconds if lease_seconds is None else lease_seconds
        self._lease = timedelta(seconds=lease)
        self.limiter = Limiter(limits if limits is not None else limits_from(core.settings.rate_limits))
        self._concurrency = concurrency or core.settings.dispatch_concurrency
        self._slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[str] = Counter()
        self._held: dict[int, float] = {}  # message id → when (monotonic) its lease runs out
        self._records: set[asyncio.Task[int]] = set()
        self.stats = DispatchStats()
        self._soonest: float | None = None  # when the earliest message put back falls due
        self._wake = asyncio.Event()
        core.outbox_listeners.append(self._wake.set)

    def wake(self) -> None:
        """Look at the outbox now: another worker queued messages (it said so by NOTIFY)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Deliver everything due now (waiting out rate limits); returns how many were delivered."""
        before = self.stats.sent
        await self._drain()
        return self.stats.sent - before

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                try:
                    await self._drain()
                except Exception:
                    log.exception("outbox delivery round failed; trying again shortly")
                timeout = self._poll
                if self._soonest is not None:
                    timeout = min(timeout, max(0.0, self._soonest - time.monotonic()))
                    if timeout <= 0:
                        self._soonest = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            for task in list(self._tasks):
                task.cancel()
            # Sends the platform already accepted are still recorded before the database closes.
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await asyncio.gather(*self._records, return_exceptions=True)

    async def _drain(self) -> None:
        while True:
            # Booked past the horizon, or more in flight than it is keeping up with: claim
            # nothing more for it now, so whatever is queued next (most urgent first) waits
            # at most about the horizon.
            saturated = [
                c
                for c in self._channels
                if self.limiter.backlog(c) > self._horizon or self._in_flight[c] >= 4 * self._batch
            ]
            claimed_at = time.monotonic()  # the lease starts no earlier than this
            claim = asyncio.ensure_future(
                claim_due(
                    self._core.uow(),
                    self._batch,
                    lease=self._lease,
                    exclude_channels=saturated,
                    exclude_ids=list(self._held),
                )
            )
            try:
                batch = await asyncio.shield(claim)
            except asyncio.CancelledError:  # stopping: the claim ends cleanly and is given back
                await asyncio.wait([claim])
                claimed = claim.result() if not claim.cancelled() and claim.exception() is None else []
                if claimed:
                    now = self._core.clock.now()
                    await _to_the_end(defer(self._core.uow(), [(m.id, now) for m in claimed]))
                raise
            if batch:
                await self._plan(batch, claimed_at + self._lease.total_seconds())
                continue
            if self._tasks:
                await self._idle(self._horizon / 2)
            elif saturated:
                soonest = min(self.limiter.backlog(c) for c in saturated)
                await asyncio.sleep(max(0.005, soonest - self._horizon))
            else:
                break

    async def _idle(self, seconds: float) -> None:
        """Wait until new messages are queued, every send in flight is done, or ``seconds`` pass.

        Not each single send: claiming again after every message would be a write per message.
        """
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(asyncio.wait(self._tasks))]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when="FIRST_COMPLETED")
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _plan(self, batch: list[Outgoing], lease_ends: float) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._concurrency)
        later: list[tuple[int, float]] = []
        for message in batch:
            channel = self._channels.get(message.channel)
            if channel is None:
                note = f"no {message.channel} transport is running"
                await _to_the_end(mark_retry(self._core.uow(), message, note, **self._retry_options()))
                self.stats.retried += 1
                continue
            free_at = self.limiter.chat_free_at(message.channel, message.address, message.group)
            wait = free_at - time.monotonic()
            if wait > self._horizon:
                later.append((message.id, wait))
                continue
            cost = _cost(channel, message.address)
            slot = self.limiter.reserve(message.channel, message.address, message.group, cost)
            task = asyncio.create_task(self._send(message, channel, slot, cost, lease_ends))
            self._tasks.add(task)
            self._in_flight[message.channel] += 1
            self._held[message.id] = lease_ends
            task.add_done_callback(partial(self._done, message))
        if later:
            self.stats.deferred += len(later)
            self._due_in(min(w for _, w in later))
            now = self._core.clock.now()
            await _to_the_end(defer(self._core.uow(), [(i, now + timedelta(seconds=w)) for i, w in later]))

    def _done(self, message: Outgoing, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight[message.channel] -= 1
        self._held.pop(message.id, None)

    async def _send(
        self, message: Outgoing, channel: Channel, slot: float, cost: int, lease_ends: float
    ) -> None:
        assert self._slots is not None
        await asyncio.sleep(max(0.0, slot - time.monotonic()))
        async with self._slots:  # held until the outcome is recorded: what bounds a crash's repeats
            live: LiveMessage | None = None
            shown: list[str] = []
            try:
                if message.post_id is not None:  # rendered from the database now, not when queued
                    live = await masterlist.live_message(self._core.reader(), message.post_id)
                    if live is None:  # the post was stopped: nothing to send
                        await self._record_sent(message, lease_ends)
                        return
                    message = replace(message, context=live.context)
                rendered = self._render(message)
                turn = await self.limiter.wait_turn(message.channel, message.address, message.group, cost)
                try:
                    if time.monotonic() >= lease_ends:
                        # Another worker may have claimed it since; sending now could make two.
                        turn.answered()  # nothing was sent
                        self.stats.deferred += 1
                        self._due_in(0.0)
                        await _to_the_end(release(self._core.uow(), message))
                        return
                    shown = await self._deliver(message, channel, rendered, live)
                finally:  # answered, refused or failed: the platform is done with its requests
                    turn.answered()
            except OutsideWindow as exc:
                if await _to_the_end(mark_waiting(self._core.uow(), message, str(exc))):
                    self.stats.waiting += 1
                else:  # they wrote meanwhile: it is due again now
                    self._due_in(0.0)
                return
            except RecipientUnreachable as exc:
                self.stats.failed += 1
                metrics.record(metrics.SEND_ERROR, channel=message.channel, kind="unreachable")
                await _to_the_end(mark_failed(self._core.uow(), message, str(exc), unreachable=True))
                return
            except MessageRefused as exc:  # the same message would be refused again
                self.stats.failed += 1
                metrics.record(metrics.SEND_ERROR, channel=message.channel, kind="refused")
                await _to_the_end(mark_failed(self._core.uow(), message, str(exc), unreachable=False))
                return
            except DeliveryError as exc:
                kind = "retry" if exc.retry_after is None else "rate_limited"
                metrics.record(metrics.SEND_ERROR, channel=message.channel, kind=kind)
                await self._retry_later(message, exc)
                return
            except Exception as exc:
                log.exception("delivering outbox message %s failed", message.id)
                self.stats.retried += 1
                metrics.record(metrics.SEND_ERROR, channel=message.channel, kind="retry")
                await _to_the_end(mark_retry(self._core.uow(), message, repr(exc), **self._retry_options()))
                return
            if live is not None:
                await self._record_post(message, live, shown, isinstance(channel, EditingChannel))
            await self._record_sent(message, lease_ends)
        self.stats.sent += 1
        metrics.record(metrics.SENT, channel=message.channel)

    async def _deliver(
        self, message: Outgoing, channel: Channel, rendered: Rendered, live: LiveMessage | None
    ) -> list[str]:
        """Send (or post, or edit in place) one message; the platform's ids of a post."""
        if live is not None and isinstance(channel, EditingChannel):
            if live.message_ids:
                shown = await channel.edit(message.address, live.message_ids, rendered, key=message.key)
            else:
                shown = await channel.post(message.address, rendered, key=message.key)
            for _ in shown[1:]:  # a list in several messages took a request each: book them
                self.limiter.reserve(message.channel, message.address, message.group)
            return shown
        if isinstance(channel, WindowedChannel) and not inside(
            message.last_inbound_at, self._core.clock.now(), channel.window
        ):
            await channel.send_template(message.address, message.template, rendered, key=message.key)
        else:
            await channel.send(message.address, rendered, key=message.key)
        return []

    async def _record_post(
        self, message: Outgoing, live: LiveMessage, shown: list[str], editable: bool
    ) -> None:
        """Remember which messages show a masterlist post now, and what they read."""
        assert message.post_id is not None
        try:
            await _to_the_end(
                masterlist.record_delivery(
                    self._core.uow(), message.post_id, shown, live.digest, editable=editable
                )
            )
        except Exception:  # the next refresh then posts anew instead of editing
            log.exception("masterlist post %s was sent but could not be recorded", message.post_id)

    async def _record_sent(self, message: Outgoing, lease_ends: float) -> None:
        """Record one accepted send now; a failed write is tried again while the lease holds."""
        pause = 0.05
        while True:
            record = asyncio.create_task(mark_sent_many(self._core.desk, [message.id]))
            self._records.add(record)
            record.add_done_callback(self._records.discard)
            try:
                await asyncio.shield(record)  # a shutdown still lets it commit
                return
            except Exception:
                if time.monotonic() + pause >= lease_ends:
                    log.exception("outbox message %s was sent but could not be recorded", message.id)
                    return  # its lease runs out and it is sent again: the one repeat left
                log.warning("recording outbox message %s failed; trying again", message.id, exc_info=True)
            await asyncio.sleep(pause)
            pause *= 2

    async def _retry_later(self, message: Outgoing, exc: DeliveryError) -> None:
        if exc.retry_after is None:
            self.stats.retried += 1
            await _to_the_end(mark_retry(self._core.uow(), message, str(exc), **self._retry_options()))
            return
        # A rate limit is not a failure: pause as the platform asks and try again untried.
        if exc.scope == "channel":
            self.limiter.pause(message.channel, exc.retry_after)
        self.stats.deferred += 1
        self._due_in(exc.retry_after)
        due = self._core.clock.now() + timedelta(seconds=exc.retry_after)
        await _to_the_end(defer(self._core.uow(), [(message.id, due)], reason=str(exc)[:500]))

    def _retry_options(self) -> dict[str, Any]:
        self._due_in(self._backoff)  # the first retry's delay; later ones wake the poll again
        return {"backoff_seconds": self._backoff, "max_attempts": self._max_attempts}

    def _due_in(self, seconds: float) -> None:
        """Remember to look again when a message put back falls due, not only at the next poll."""
        at = time.monotonic() + seconds + 0.05  # a moment after, so it is due when we look
        self._soonest = at if self._soonest is None else min(self._soonest, at)

    def _render(self, message: Outgoing) -> Rendered:
        language = message.language
        rendered = self._renderer.render(message.template, message.channel, message.context, language)
        if message.channel == "email":
            try:
                html = self._renderer.render(message.template, "email_html", message.context, language).text
            except KeyError:
                html = None
            rendered = Rendered(rendered.text, rendered.markup, html, self._unsubscribe_url(message))
        return rendered

    def _unsubscribe_url(self, message: Outgoing) -> str | None:
        """A promotional email carries its recipient's one-click unsubscribe link (RFC 8058)."""
        settings = self._core.settings
        if message.priority < PROMOTIONAL or message.group or not settings.secret_key:
            return None
        return unsubscribe_url(settings.public_base_url, settings.secret_key, message.identity_id)


async def _to_the_end(work: Awaitable[T]) -> T:
    """Finish one database write even when the dispatcher is stopped meanwhile.

    A transaction cut off mid-statement leaves a connection the pool can only discard
    (and complain about); the stop takes effect once the write has committed.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        if not task.cancelled() and task.exception() is not None:
            log.error("a dispatcher write failed while stopping", exc_info=task.exception())
        raise


def _cost(channel: Channel, address: str) -> int:
    """Requests one message takes; a transport may say more (``requests_for``), else 1."""
    requests_for = getattr(channel, "requests_for", None)
    return int(requests_for(address)) if requests_for is not None else 1
