"""The pacer's schedule, driven by a made-up clock: a pacer that wakes late every time."""

from __future__ import annotations

import bisect
import itertools
import random

import pytest

from channels.limits import HEADROOM, Rate, Schedule


def pace(rate: Rate, turns: int, lateness: float, *, units: int = 1, seed: int = 7) -> list[float]:
    """When each turn is given, if every wake-up comes up to ``lateness`` seconds late."""
    draw = random.Random(seed)
    schedule, now, given = Schedule(rate), 0.0, []
    for _ in range(turns):
        ready = schedule.ready(units)
        if ready > now:
            now = ready + draw.uniform(0, lateness)  # asyncio.sleep, then a busy loop
        schedule.take(units, now)
        given.extend([now] * units)
        now += draw.uniform(0, lateness / 4)  # the send itself
    return given


def most_in_any_window(given: list[float], seconds: float) -> int:
    return max(bisect.bisect_right(given, at + seconds - 1e-12) - i for i, at in enumerate(given))


@pytest.mark.parametrize("lateness", [0.0, 0.001, 0.004, 0.02])
def test_a_late_pacer_catches_up_yet_no_window_holds_more_than_the_ceiling(lateness: float) -> None:
    rate = Rate(300, 1.0)
    given = pace(rate, 3000, lateness)
    assert most_in_any_window(given, rate.seconds) <= rate.count
    achieved = (len(given) - 1) / (given[-1] - given[0])
    # late by up to 4 ms on every 3.4 ms turn, and still within a few percent of the ceiling
    assert achieved >= rate.count / (1 + HEADROOM) * 0.97, achieved


def test_one_a_second_stays_one_a_second_however_late_the_turns() -> None:
    rate = Rate(1, 1.0)
    given = pace(rate, 50, 0.3)
    gaps = [b - a for a, b in itertools.pairwise(given)]
    assert min(gaps) >= rate.seconds * (1 + HEADROOM) - 1e-9


def test_a_message_costing_two_requests_counts_twice_in_the_window() -> None:
    rate = Rate(50, 1.0)
    given = pace(rate, 400, 0.005, units=2)
    assert most_in_any_window(given, rate.seconds) <= rate.count
    assert (len(given) - 1) / (given[-1] - given[0]) >= rate.count / (1 + HEADROOM) * 0.95


def test_a_quiet_spell_does_not_let_a_burst_through() -> None:
    schedule = Schedule(Rate(300, 1.0))
    schedule.take(1, 0.0)
    now, burst = 60.0, 0  # a minute later: at most 2% of a window's turns at once
    while schedule.ready(1) <= now:
        schedule.take(1, now)
        burst += 1
    assert 1 <= burst <= 7
