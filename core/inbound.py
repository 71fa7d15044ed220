"""Inbound idempotency and durability (DESIGN rule 5).

Two records serve two kinds of delivery:

* ``processed_inbound`` remembers ids whose work commits in the caller's transaction
  (payment provider event ids, a button's one-time nonce): ``first_delivery`` says
  whether this is the first time.
* ``inbound_updates`` keeps whole chat-platform updates. An update is recorded (``record``)
  before the platform is told we have it, so a crash after the acknowledgement cannot lose
  it; it is marked handled in the same transaction as its effect, so a crash before that
  commit leaves it waiting to be handled again, and a crash after it never repeats it.

Marking rides on whatever commits while an update is being handled: the adapter wraps the
handling in ``handling(source, id)``, and the first unit of work (or order-desk order)
that commits inside it marks the update handled in the same transaction. Work that may
safely be repeated and is not the update's effect (recognising the sender) runs
``aside()`` so it does not use up the mark. An update whose handling writes nothing is
marked by ``finish`` after its reply.

Where nothing waits for an update to be stored (a Discord interaction: the gateway
acknowledges events by its heartbeat, not by our answer, and one left unanswered expires
in seconds), it can be stored with its effect instead of before it: ``handling`` is given
its ``payload``, and the first commit inserts it already handled in place of the mark. A
repeat then finds it stored and rolls back like any second handling (``repeated``), and
the update costs one transaction instead of two.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import InboundUpdate
from core.db.raw import Plan, Statement, run_session
from core.throttle import Admission, InboundLimit

T = TypeVar("T")

MAX_ID = 200


# This module sits below the order desk and the unit of work (both mark updates through
# it), so it names what it needs of them as protocols rather than importing them.


class PlanRunner(Protocol):
    """What the order desk offers here: run a plan in its next committed batch."""

    async def run(self, plan: Callable[[datetime], Plan[T]]) -> T: ...


class OpenWork(Protocol):
    """A unit of work's open transaction and its time."""

    @property
    def session(self) -> AsyncSession: ...

    @property
    def now(self) -> datetime: ...


class WorkWithDesk(Protocol):
    """A unit of work that can hand plans to the order desk."""

    @property
    def desk(self) -> PlanRunner: ...


class Work(OpenWork, Protocol):
    """A unit of work still to be entered."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


CLAIM = (
    "INSERT INTO processed_inbound (source, external_id, processed_at) VALUES (?, ?, ?) "
    "ON CONFLICT (source, external_id) DO NOTHING"
)
RECORD = (
    "INSERT INTO inbound_updates (source, external_id, payload, received_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (source, external_id) DO NOTHING RETURNING id"
)
RECORD_HANDLED = (
    "INSERT INTO inbound_updates (source, external_id, payload, received_at, handled_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, external_id) DO NOTHING RETURNING id"
)
MARK = "UPDATE inbound_updates SET handled_at = ? WHERE source = ? AND external_id = ? AND handled_at IS NULL"


def claim_plan(source: str, external_id: str, now: datetime) -> Plan[bool]:
    claimed = yield Statement(CLAIM, (source, external_id[:MAX_ID], now), "count")
    return bool(claimed == 1)


async def claim_delivery(uow: WorkWithDesk, source: str, external_id: str) -> bool:
    """Record a delivery on its own, for adapters whose work commits separately.

    Claims go through the order desk, batched with whatever else is being written.
    """
    return bool(await uow.desk.run(lambda now: claim_plan(source, external_id, now)))


async def first_delivery(uow: OpenWork, source: str, external_id: str) -> bool:
    """Record ``external_id`` inside the caller's open unit of work; False if already seen.

    Call it in the same transaction as the work the delivery causes, so the record and
    the work commit (or roll back) together.
    """
    return await run_session(uow.session, claim_plan(source, external_id, uow.now))


# --- durable updates ----------------------------------------------------------------------


@dataclass(slots=True)
class Handling:
    """The inbound update being handled in this task; ``marked`` once its mark committed,
    ``waiting`` when it could not take effect and must be handled again (``leave_waiting``).
    ``payload``: the update as received, when it was not stored before its handling (it
    is stored with its effect); ``repeated`` once that found it handled already."""

    source: str
    external_id: str
    marked: bool = False
    waiting: bool = False
    payload: str | None = None
    repeated: bool = False


_HANDLING: ContextVar[Handling | None] = ContextVar("gomflow_inbound_handling", default=None)


def current() -> Handling | None:
    """The update whose handling still needs its mark, if any (see ``handling``)."""
    handling = _HANDLING.get()
    return None if handling is None or handling.marked else handling


@contextlib.contextmanager
def handling(source: str, external_id: str, payload: str | None = None) -> Iterator[Handling]:
    """Handle one recorded update: the first commit inside marks it handled. With its
    ``payload``, an update not stored yet: the first commit stores it, handled."""
    state = Handling(source, external_id[:MAX_ID], payload=payload)
    token = _HANDLING.set(state)
    try:
        yield state
    finally:
        _HANDLING.reset(token)


def leave_waiting() -> None:
    """The update being handled could not take effect for a reason that may pass (say the
    database failed while recording a payment): do not mark it handled. It is handled
    again at the next start, and counted by ``unhandled_inbound`` meanwhile."""
    handling = current()
    if handling is not None:
        handling.waiting = True


@contextlib.contextmanager
def aside() -> Iterator[None]:
    """Work inside a handling that is safe to repeat and is not its effect: it does not mark."""
    token = _HANDLING.set(None)
    try:
        yield
    finally:
        _HANDLING.reset(token)


def record_plan(
    source: str, updates: Sequence[tuple[str, str]], now: datetime, dropped: Sequence[bool] = ()
) -> Plan[list[bool]]:
    """Insert each (external id, payload); True for each one not seen before. A dropped
    one is inserted already handled, so nothing handles it again (not even a restart)."""
    fresh = []
    for n, (external_id, payload) in enumerate(updates):
        if n < len(dropped) and dropped[n]:
            params: tuple[object, ...] = (source, external_id[:MAX_ID], payload, now, now)
            inserted = yield Statement(RECORD_HANDLED, params, "scalar")
        else:
            inserted = yield Statement(RECORD, (source, external_id[:MAX_ID], payload, now), "scalar")
        fresh.append(inserted is not None)
    return fresh


def mark_plan(source: str, external_id: str, now: datetime) -> Plan[bool]:
    """Mark an update handled; False when it already was (someone else handled it)."""
    marked = yield Statement(MARK, (now, source, external_id[:MAX_ID]), "count")
    return bool(marked == 1)


def settle_plan(source: str, external_id: str, payload: str | None, now: datetime) -> Plan[bool]:
    """Mark an update handled, or, given the ``payload`` of one not stored yet, store it
    handled; False when it was handled already (a repeat)."""
    if payload is None:
        return (yield from mark_plan(source, external_id, now))
    params = (source, external_id[:MAX_ID], payload, now, now)
    return (yield Statement(RECORD_HANDLED, params, "scalar")) is not None


async def record(
    desk: PlanRunner,
    source: str,
    updates: Sequence[tuple[str, str]],
    *,
    limit: InboundLimit | None = None,
    senders: Sequence[str | None] = (),
) -> list[bool]:
    """Commit updates before they are acknowledged; True for each one to handle: not seen
    before, and not dropped by the inbound ``limit``.

    ``senders`` names who sent each update, for the limit (None: never limited, such as a
    payment Telegram took). An update over its sender's limit is still recorded, but as
    handled, and reported as not to handle, like a repeat; the first one over the limit is
    handled, as "slow down" (``InboundLimit.slowed``). One statement per update in one
    order-desk batch, so a burst costs one transaction.
    """
    if not updates:
        return []
    verdicts = [
        limit.admit(f"{source}:{sender}") if limit is not None and sender is not None else Admission.ADMIT
        for sender in (*senders, *([None] * (len(updates) - len(senders))))
    ]
    dropped = [verdict is Admission.DROP for verdict in verdicts]
    fresh = await desk.run(lambda now: record_plan(source, updates, now, dropped))
    for (external_id, _), verdict, new in zip(updates, verdicts, fresh, strict=True):
        if new and verdict is Admission.SLOW_DOWN and limit is not None:
            limit.tell(source, external_id[:MAX_ID])
    return [new and not gone for new, gone in zip(fresh, dropped, strict=True)]


async def admit(
    desk: PlanRunner, source: str, external_id: str, payload: str, *, limit: InboundLimit, sender: str
) -> bool:
    """The inbound ``limit`` for an update stored with its effect (``handling`` with its
    payload) rather than by ``record``: False for one dropped, which is stored here,
    handled; the first one over the limit is handled, as "slow down", like ``record``'s."""
    verdict = limit.admit(f"{source}:{sender}")
    if verdict is Admission.DROP:
        await desk.run(lambda now: record_plan(source, [(external_id, payload)], now, [True]))
        return False
    if verdict is Admission.SLOW_DOWN:
        limit.tell(source, external_id[:MAX_ID])
    return True


async def mark(uow: OpenWork, state: Handling) -> bool:
    """Inside ``uow``'s open transaction: mark the update handled (or store it, handled);
    False if it already was."""
    settled = await run_session(
        uow.session, settle_plan(state.source, state.external_id, state.payload, uow.now)
    )
    state.repeated = not settled
    return settled


async def finish(desk: PlanRunner, state: Handling) -> None:
    """After an update's reply: mark it handled if nothing it did carried the mark (and it
    is not left waiting). One not stored yet is stored now: handled, or left waiting."""
    if state.marked:
        return
    source, external_id, payload = state.source, state.external_id, state.payload
    if state.waiting:
        if payload is not None:
            await desk.run(lambda now: record_plan(source, [(external_id, payload)], now))
            state.payload = None
        return
    if not await desk.run(lambda now: settle_plan(source, external_id, payload, now)):
        state.repeated = True
    state.marked = True


async def unhandled(uow: Work, source: str) -> list[tuple[str, str]]:
    """(external id, payload) of every update received but not handled, in receipt order."""
    async with uow:
        rows = await uow.session.execute(
            select(InboundUpdate.external_id, InboundUpdate.payload)
            .where(InboundUpdate.source == source, InboundUpdate.handled_at.is_(None))
            .order_by(InboundUpdate.id)
        )
        return [(external_id, payload) for external_id, payload in rows]


async def unhandled_inbound(session: AsyncSession) -> int:
    """How many recorded updates wait to be handled (for ``gomflow check``: a running
    gomflow works them off; after a clean stop it should be none)."""
    count = await session.scalar(
        select(func.count()).select_from(InboundUpdate).where(InboundUpdate.handled_at.is_(None))
    )
    return int(count or 0)
