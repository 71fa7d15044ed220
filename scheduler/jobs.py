"""The scheduler: APScheduler 3.x only ticks; each tick asks the core what is due.

Nothing is kept here between ticks (DESIGN rule 3): the due work is found in the
database each time, so a restart, a missed tick or a second worker changes nothing.
``Ticker.tick()`` runs once at start to catch up on whatever fell due while gomflow was
down, then every ``tick_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.app import Core
from core.services import (
    broadcasts,
    digest,
    due,
    handovers,
    late_fees,
    masterlist,
    notices,
    refunds,
    staff_notices,
)

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    done: dict[str, Any] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


class Ticker:
    def __init__(self, core: Core, interval_seconds: float | None = None) -> None:
        self._core = core
        self._interval = interval_seconds or core.settings.tick_seconds
        self._scheduler: AsyncIOScheduler | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        settings = core.settings
        lead = timedelta(hours=settings.payment_reminder_hours)
        leads = due.parse_leads(settings.deadline_reminders)
        window = settings.decision_window_hours
        # Order matters: close and expire before reminding, so nobody is reminded of a
        # deadline or a payment window that has just ended.
        self.jobs: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("close_due_group_orders", lambda: due.close_due_group_orders(core.uow())),
            ("fail_undecided_group_orders", lambda: due.fail_undecided_group_orders(core.uow(), window)),
            ("expire_unpaid_orders", lambda: due.expire_unpaid_orders(core.uow())),
            ("remind_unpaid_orders", lambda: due.remind_unpaid_orders(core.uow(), lead)),
            ("remind_deadlines", lambda: due.remind_deadlines(core.uow(), leads)),
            # a GO's status before its milestones: a channel reads that it opened before it sold out
            ("announce_statuses", lambda: due.announce_statuses(core.uow())),
            ("announce_milestones", lambda: due.announce_milestones(core.uow())),
            ("tell_waitlist_ended", lambda: notices.tell_waitlist_ended(core.uow())),
            ("tell_scheduler_decisions", lambda: staff_notices.tell_scheduler_decisions(core.uow(), window)),
            ("tell_staff_milestones", lambda: staff_notices.tell_staff_milestones(core.uow())),
            ("send_digests", lambda: digest.send_digests(core.uow())),
            ("release_due_broadcasts", lambda: broadcasts.release_due_broadcasts(core.uow())),
            ("expire_payment_requests", lambda: due.expire_due(core.uow())),
            # after the requests expire: a recipient who did not pay gives the claim back
            ("expire_handover_offers", lambda: handovers.expire_offers(core.uow())),
            ("lapse_unpaid_handovers", lambda: handovers.lapse_unpaid(core.uow())),
            # after the expiries: a claim released this tick runs up no fee
            ("charge_late_fees", lambda: late_fees.charge_late_fees(core.uow())),
            ("send_pending_refunds", lambda: refunds.run_pending_refunds(core.uow, core.payment_gateways)),
            # last: a posted masterlist shows what every job above changed
            ("refresh_masterlists", lambda: masterlist.refresh_masterlists(core.uow())),
        ]

    async def tick(self) -> TickReport:
        """Run every job once; one failing job is logged and does not stop the others."""
        report = TickReport()
        for name, job in self.jobs:
            try:
                report.done[name] = await job()
            except Exception:  # the outermost boundary of a job
                log.exception("scheduled job %s failed; it runs again at the next tick", name)
                report.failed.append(name)
        return report

    def start(self) -> None:
        """Tick every ``interval`` seconds on the running event loop."""
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self._scheduled_tick,
            "interval",
            seconds=self._interval,
            id="tick",
            coalesce=True,  # after a pause, one tick, not a burst of missed ones
            max_instances=1,
            misfire_grace_time=None,
        )
        self._scheduler.start()
        log.info("scheduler ticking every %gs", self._interval)

    async def _scheduled_tick(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            await self.tick()
        finally:
            self._in_flight.discard(task)

    def shutdown(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop ticking, letting a tick under way finish first (each job commits or rolls
        back on its own): shutting APScheduler down cancels a running job mid-statement,
        and it reports that with a traceback."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()
        await asyncio.sleep(0)  # a tick the scheduler started just now registers itself first
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=timeout)
        self.shutdown()
