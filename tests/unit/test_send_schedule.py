"""The pacer's schedule, driven by a made-up clock: a pacer that wakes late every time, and a
network that holds each request for a while before the platform counts it."""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from channels import limits
from channels.limits import HEADROOM, ChannelLimits, Limiter, Rate, Schedule, Turn


@dataclass
class Paced:
    """When each request went, and when the platform received it (what it counts)."""

    sent: list[float] = field(default_factory=list)
    received: list[float] = field(default_factory=list)


def pace(
    rate: Rate, turns: int, lateness: float, *, units: int = 1, delay: float = 0.0, seed: int = 7
) -> Paced:
    """Turns given by ``Schedule`` when every wake-up comes up to ``lateness`` late, and each
    request is answered up to ``delay`` after it went, received anywhere in between."""
    draw = random.Random(seed)
    schedule, now, paced = Schedule(rate), 0.0, Paced()
    answers: list[float] = []  # answer times of the requests in flight (a heap)
    for _ in range(turns):
        while True:
            while answers and answers[0] <= now:  # the answers that came in meanwhile
                schedule.answer(units, heapq.heappop(answers))
            ready = schedule.ready(units)
            if ready <= now:
                break
            if ready == float("inf") or (answers and answers[0] < ready):
                now = max(now, answers[0])  # woken by an answer
            else:
                now = ready + draw.uniform(0, lateness)  # asyncio.sleep, then a busy loop
        schedule.take(units, now)
        answered = now + draw.uniform(0, delay)
        heapq.heappush(answers, answered)
        paced.sent.extend([now] * units)
        paced.received.extend([draw.uniform(now, answered)] * units)
        now += draw.uniform(0, lateness / 4)  # handing the request over
    paced.received.sort()
    return paced


def most_in_any_window(times: list[float], seconds: float) -> int:
    return max(bisect.bisect_right(times, at + seconds - 1e-12) - i for i, at in enumerate(times))


def rate_of(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


@pytest.mark.parametrize("lateness", [0.0, 0.001, 0.004, 0.02])
def test_a_late_pacer_catches_up_yet_no_window_holds_more_than_the_ceiling(lateness: float) -> None:
    rate = Rate(300, 1.0)
    paced = pace(rate, 3000, lateness)
    assert most_in_any_window(paced.received, rate.seconds) <= rate.count
    # late by up to 4 ms on every 3.4 ms turn, and still within a few percent of the ceiling
    assert rate_of(paced.sent) >= rate.count / (1 + HEADROOM) * 0.97


@pytest.mark.parametrize("delay", [0.005, 0.05, 0.3])
def test_however_long_the_network_holds_requests_no_window_the_platform_counts_is_over(
    delay: float,
) -> None:
    """Requests the network holds up to ``delay`` arrive bunched; spacing them by send times
    alone let one window hold 201 of 200 when a request was held 30 ms (``bench.workers``)."""
    rate = Rate(200, 1.0)
    paced = pace(rate, 4000, 0.002, delay=delay)
    assert most_in_any_window(paced.received, rate.seconds) <= rate.count
    # what a network's delay costs: a window is counted from each answer, not each send
    assert rate_of(paced.sent) >= rate.count / (rate.seconds + delay) * 0.95


def test_one_a_second_stays_one_a_second_however_late_the_turns() -> None:
    rate = Rate(1, 1.0)
    paced = pace(rate, 50, 0.3, delay=0.2)
    gaps = [b - a for a, b in itertools.pairwise(paced.received)]
    assert min(gaps) >= rate.seconds


def test_a_message_costing_two_requests_counts_twice_in_the_window() -> None:
    rate = Rate(50, 1.0)
    paced = pace(rate, 400, 0.005, units=2, delay=0.02)
    assert most_in_any_window(paced.received, rate.seconds) <= rate.count
    assert rate_of(paced.sent) >= rate.count / (1 + HEADROOM) * 0.95


def test_requests_still_in_flight_hold_the_window_until_answered() -> None:
    schedule = Schedule(Rate(3, 1.0))
    for at in (0.0, 0.34, 0.68):
        assert schedule.ready(1) <= at
        schedule.take(1, at)
    assert schedule.ready(1) == float("inf")  # three unanswered: the platform may count them any time
    schedule.answer(1, 5.0)  # the first, answered at last
    assert schedule.ready(1) == pytest.approx(6.0, abs=0.01)  # a window after that answer


def test_a_quiet_spell_does_not_let_a_burst_through() -> None:
    schedule = Schedule(Rate(300, 1.0))
    schedule.take(1, 0.0)
    schedule.answer(1, 0.01)
    now, burst = 60.0, 0  # a minute later: at most 2% of a window's turns at once
    while schedule.ready(1) <= now:
        schedule.take(1, now)
        schedule.answer(1, now)
        burst += 1
    assert 1 <= burst <= 7


async def test_a_sender_stopped_as_its_turn_comes_gives_the_turn_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A turn handed to a sender that is cancelled before it wakes is never sent with: it
    must not hold its place in the window for ever (the next sender would wait for good)."""
    senders: list[asyncio.Task[Turn]] = []

    class CancelledAsGiven(Turn):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            if len(senders) == 1:  # the first: cancelled between its turn and its waking
                asyncio.get_running_loop().call_soon(senders[0].cancel)

    monkeypatch.setattr(limits, "Turn", CancelledAsGiven)
    limiter = Limiter({"fake": ChannelLimits(overall=Rate(1, 0.05))})
    senders.append(asyncio.create_task(limiter.wait_turn("fake", "p1", False)))
    with pytest.raises(asyncio.CancelledError):
        await senders[0]
    turn = await asyncio.wait_for(limiter.wait_turn("fake", "p2", False), timeout=10)
    turn.answered()
