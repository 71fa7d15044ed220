"""The inbound limit's token bucket, on a clock the test moves."""

from __future__ import annotations

import pytest

from core.throttle import Admission, InboundLimit


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_admitted_then_told_once_to_slow_down_then_dropped() -> None:
    limit = InboundLimit(rate=2, burst=3, clock=Ticks())

    verdicts = [limit.admit("telegram:1") for _ in range(6)]

    assert verdicts == [Admission.ADMIT] * 3 + [Admission.SLOW_DOWN] + [Admission.DROP] * 2
    assert limit.dropped == 2


def test_one_sender_over_the_limit_leaves_another_untouched() -> None:
    limit = InboundLimit(rate=1, burst=1, clock=Ticks())
    limit.admit("telegram:1")
    limit.admit("telegram:1")

    assert limit.admit("telegram:2") is Admission.ADMIT
    assert limit.admit("discord:1") is Admission.ADMIT  # a platform's ids are its own


def test_the_bucket_refills_at_the_rate_and_a_new_flood_is_told_again() -> None:
    ticks = Ticks()
    limit = InboundLimit(rate=4, burst=2, clock=ticks)
    for _ in range(5):
        limit.admit("sms:+6591234567")

    ticks.now += 0.25  # one token back
    assert limit.admit("sms:+6591234567") is Admission.ADMIT
    assert limit.admit("sms:+6591234567") is Admission.SLOW_DOWN
    ticks.now += 10  # a long pause refills to the burst, no more
    assert [limit.admit("sms:+6591234567") for _ in range(3)][-1] is Admission.SLOW_DOWN


def test_slow_down_is_answered_for_one_recorded_update_only_once() -> None:
    limit = InboundLimit()
    limit.tell("telegram", "42")

    assert limit.slowed("telegram", "42") is True
    assert limit.slowed("telegram", "42") is False
    assert limit.slowed("telegram", "43") is False


def test_the_table_of_senders_stays_bounded() -> None:
    limit = InboundLimit(rate=1, burst=1, clock=Ticks(), max_senders=100)
    for n in range(1_000):
        limit.admit(f"telegram:{n}")

    assert len(limit._buckets) == 100


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (-1, 5), (1, 0)])
def test_a_limit_that_admits_nothing_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="inbound limit"):
        InboundLimit(rate=rate, burst=burst)
