"""What happened in this process, told to whoever listens: the core's side of ``/metrics``.

The core records plain events (an order placed, a payment credited, a batch of the order
desk) with no monitoring library of its own; ``web/metrics.py`` listens and keeps the
Prometheus counters. With nobody listening, recording costs one empty loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from core.errors import GomflowError
from core.views import OrderView


class Commits(Protocol):
    """A unit of work, as far as a metric needs it (``core.uow`` is not imported here: the
    desk, which the unit of work uses, records through this module)."""

    def after_commit(self, callback: Callable[[], None]) -> None: ...


# event name, its labels, its value (1 for a count; a size or seconds otherwise)
Listener = Callable[[str, Mapping[str, str], float], None]

ORDER_PLACED = "order_placed"
ORDER_REFUSED = "order_refused"  # label: code (core.errors)
PAYMENT = "payment"  # label: provider; counted once the credit is committed
DESK_BATCH = "desk_batch"  # value: orders and plans in one batch
DESK_SECONDS = "desk_seconds"  # value: the batch's time in the database
SENT = "sent"  # label: channel
SEND_ERROR = "send_error"  # labels: channel, kind (unreachable, refused, retry, rate_limited)

_listeners: list[Listener] = []


def listen(listener: Listener) -> Callable[[], None]:
    """Hear every event from now on; call what is returned to stop."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def record(event: str, value: float = 1.0, **labels: str) -> None:
    """Tell every listener; a listener that fails never fails the work it describes."""
    for listener in list(_listeners):
        try:
            listener(event, labels, value)
        except Exception:  # pragma: no cover - a broken listener is its own problem
            continue


def status_changed(uow: Commits, entity: str, status: str, row: Any) -> None:
    """Called by every status change: money credited counts once its transaction commits."""
    if entity == "payment" and status == "succeeded" and _listeners:
        provider = str(getattr(row, "provider", "") or "unknown")
        uow.after_commit(lambda: record(PAYMENT, provider=provider))


def order_outcome(outcome: object) -> None:
    """An order the desk answered: placed, or refused with its code."""
    if not _listeners:
        return
    if isinstance(outcome, OrderView):
        record(ORDER_PLACED)
    elif isinstance(outcome, GomflowError):
        record(ORDER_REFUSED, code=outcome.code)


def desk_batch(size: int, seconds: float) -> None:
    """One batch of the order desk committed: how many it carried, how long it took."""
    if _listeners:
        record(DESK_BATCH, float(size))
        record(DESK_SECONDS, seconds)
