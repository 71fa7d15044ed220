"""The inbound limit: a token bucket per sender, so one flood cannot crowd out everyone else.

Each sender (a platform and the platform's id for them) may send ``burst`` messages at
once and ``rate`` a second after that. The first message over the limit is answered
"slow down" (``SLOW_DOWN``); the rest are dropped until the bucket refills. Dropped
messages are still recorded, as handled, so a restart does not replay them
(``core.inbound.record``). The decision is made where an update is recorded, before it
waits for a worker: a flooder's surplus never holds a place in the queue, so the others'
messages are handled as if the flood were not there.

Nothing is written for it: buckets live in memory, per process. A sender idle long enough
to refill is forgotten first when the table is full, which loses nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

DEFAULT_RATE = 5.0  # messages a second, sustained
DEFAULT_BURST = 20  # messages at once (a GOM pasting a set-up, a person tapping through menus)
MAX_SENDERS = 100_000
MAX_TOLD = 10_000


class Admission(Enum):
    ADMIT = "admit"
    SLOW_DOWN = "slow_down"  # over the limit: answered once, with a request to slow down
    DROP = "drop"  # over the limit and already told: recorded as handled, not answered


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    told: bool = False  # "slow down" was answered since the last admitted message


class InboundLimit:
    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_senders: int = MAX_SENDERS,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("the inbound limit needs a rate above 0 and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_senders = max_senders
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._told: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.dropped = 0  # how many messages were dropped (for the benchmark and metrics)

    def admit(self, sender: str) -> Admission:
        """Take one message from ``sender``: admitted, answered "slow down", or dropped."""
        now = self._clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = self._buckets[sender] = _Bucket(float(self.burst), now)
            while len(self._buckets) > self._max_senders:
                self._buckets.popitem(last=False)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            self._buckets.move_to_end(sender)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.told = False
            return Admission.ADMIT
        self.dropped += bucket.told
        if bucket.told:
            return Admission.DROP
        bucket.told = True
        return Admission.SLOW_DOWN

    def tell(self, source: str, external_id: str) -> None:
        """Remember that this recorded update is to be answered "slow down" (``slowed``)."""
        self._told[(source, external_id)] = None
        while len(self._told) > MAX_TOLD:
            self._told.popitem(last=False)

    def slowed(self, source: str, external_id: str) -> bool:
        """Whether this update is the one to answer "slow down" (once: it is forgotten)."""
        key = (source, external_id)
        if key not in self._told:
            return False
        del self._told[key]
        return True
