"""Sending rates per channel, per recipient and per group chat, and the limiter that keeps them.

Each limit is ``count`` messages per ``seconds``. The limiter spaces messages evenly
(``seconds / count`` apart, plus a small headroom). It plans (``reserve``) so the
dispatcher can see how far ahead a channel is booked; at the moment of sending, one pacer
per channel hands out turns (``wait_turn``) by a ``Schedule`` per key: evenly spaced by
plan, so a pacer that wakes late catches up instead of losing the time for good, and never
more than ``count`` requests that the platform may count in one window of ``seconds``.

That window is kept by when the platform *answered* each request, not when it was sent:
the platform counts a request when it receives it, which is after we sent it and before
we read its answer, however long the network held it. A new turn goes only while at most
``count`` minus its own requests are still unanswered or were answered less than a window
ago, so no window the platform can measure holds more than ``count`` — whatever the
network's delays, which a headroom on the send times can only guess at.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

HEADROOM = 0.01  # space turns 1% under each ceiling (the window by answers is what keeps it)
CATCH_UP = 0.02  # how far behind its plan a late pacer may be (a share of the window) and catch up
MARGIN = 0.001  # seconds: a request answered exactly a window ago may share its edge with a new one


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float

    @property
    def spacing(self) -> float:
        return self.seconds / self.count * (1 + HEADROOM)

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}s"


@dataclass(frozen=True)
class ChannelLimits:
    overall: Rate | None = None  # everything the bot sends on this platform
    per_chat: Rate | None = None  # one person
    per_group: Rate | None = None  # one group chat, channel or mailing list


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_rate(text: str) -> Rate | None:
    """``30/1s``, ``20/60s``, ``20/1m``; ``-`` or empty means no limit."""
    if text.strip() in {"", "-", "none"}:
        return None
    match = _RATE.match(text)
    if not match or int(match.group(1)) <= 0 or float(match.group(2)) <= 0:
        raise ValueError(f"'{text}' is not a rate; write it like 30/1s or 20/60s")
    return Rate(int(match.group(1)), float(match.group(2)) * _UNIT_SECONDS[match.group(3)])


def limits_from(text: str, base: Mapping[str, ChannelLimits] | None = None) -> dict[str, ChannelLimits]:
    """Apply overrides like ``telegram=30/1s,1/1s,20/60s;discord=100/1s`` to ``base``.

    ``base`` is each platform's published limits (``platforms.rate_limits()``). The three
    rates are overall, per chat and per group; omitted ones keep their base value.
    """
    limits = dict(base or {})
    for part in filter(None, (p.strip() for p in text.split(";"))):
        channel, sep, rates = part.partition("=")
        if not sep:
            raise ValueError(f"'{part}' should look like telegram=30/1s,1/1s,20/60s")
        current = limits.get(channel.strip(), ChannelLimits())
        fields = ("overall", "per_chat", "per_group")
        changes = {name: parse_rate(value) for name, value in zip(fields, rates.split(","), strict=False)}
        limits[channel.strip()] = replace(current, **changes)
    return limits


FORGET_OVER = 4096  # schedules kept before the idle ones are forgotten

Key = tuple[tuple[str, str], Rate]  # (channel, chat or "" for the whole channel), its rate


class Schedule:
    """The turns of one rate: when the next may go, taking one, and its requests answered.

    The plan moves by the spacing from where the last turn was planned, not from when it
    was given, so the time a late pacer loses is made up (at most ``CATCH_UP`` of a window,
    so a quiet spell does not let a burst through). What keeps the platform's ceiling is the
    window of answers: requests still in flight, and those answered within the last
    ``seconds``, leave room for at most ``count`` in all.
    """

    __slots__ = ("answered", "in_flight", "planned", "rate")

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self.planned = float("-inf")
        self.in_flight = 0  # requests given a turn and not answered yet
        # when the latest requests were answered, oldest first (appended as they come, so in
        # order); more than ``count`` of them never matter
        self.answered: deque[float] = deque(maxlen=rate.count)

    def ready(self, units: int) -> float:
        """The earliest time ``units`` requests may go at once; infinity while that waits
        for requests in flight to be answered."""
        # answered requests that may still be in the window beside these (a message costing
        # more than the whole window goes alone)
        room = max(0, self.rate.count - units) - self.in_flight
        if room < 0:
            return float("inf")
        answered = self.answered
        if len(answered) <= room:
            return self.planned
        return max(self.planned, answered[len(answered) - room - 1] + self.rate.seconds + MARGIN)

    def take(self, units: int, now: float) -> None:
        self.in_flight += units
        behind = now - self.rate.seconds * CATCH_UP
        self.planned = max(self.planned, behind) + self.rate.spacing * units

    def answer(self, units: int, now: float) -> None:
        """The platform answered (or refused, or never got) ``units`` requests by ``now``."""
        self.in_flight -= units
        self.answered.extend([now] * units)

    def idle(self, now: float) -> bool:
        """Forgettable: nothing it remembers limits a turn from now on."""
        window_over = not self.answered or self.answered[-1] + self.rate.seconds + MARGIN <= now
        return self.in_flight == 0 and self.planned <= now and window_over


class Turn:
    """A message's turn to go: say when the platform answered its requests (``answered``),
    whatever the answer, so the window counts them from then. Saying it twice is harmless."""

    __slots__ = ("_channel", "_limiter", "_taken")

    def __init__(self, limiter: Limiter, channel: str, taken: list[tuple[Schedule, int]]) -> None:
        self._limiter, self._channel, self._taken = limiter, channel, taken

    def answered(self) -> None:
        taken, self._taken = self._taken, []
        if taken:
            self._limiter._answered(self._channel, taken)


class Limiter:
    """Evenly spaced sending per key; keys are the channel, and the chat within it."""

    def __init__(
        self, limits: Mapping[str, ChannelLimits], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = dict(limits)
        self._clock = clock
        self._booked: dict[tuple[str, str], float] = {}  # key -> next free planned time
        self._schedules: dict[tuple[str, str], Schedule] = {}
        self._forget_over = FORGET_OVER
        self._queues: dict[str, deque[tuple[list[Key], int, asyncio.Future[Turn]]]] = {}
        self._wakes: dict[str, asyncio.Future[None]] = {}  # a pacer waiting for an answer or a time
        self._pacers: dict[str, asyncio.Task[None]] = {}
        self._paused: dict[str, float] = {}

    def limits(self, channel: str) -> ChannelLimits:
        return self._limits.get(channel, ChannelLimits())

    def _keys(self, channel: str, address: str, group: bool) -> list[Key]:
        limits = self.limits(channel)
        keys = []
        if limits.overall is not None:
            keys.append(((channel, ""), limits.overall))
        chat = limits.per_group if group else limits.per_chat
        if chat is not None:
            keys.append(((channel, address), chat))
        return keys

    def backlog(self, channel: str) -> float:
        """Seconds until the channel has a free slot (its booked queue, or a pause after a 429)."""
        now = self._clock()
        free = max(self._booked.get((channel, ""), now), self._paused.get(channel, now))
        return max(0.0, free - now)

    def chat_free_at(self, channel: str, address: str, group: bool) -> float:
        """When this chat's own limit would let the next message go (monotonic seconds)."""
        now = self._clock()
        limits = self.limits(channel)
        chat = limits.per_group if group else limits.per_chat
        if chat is None:
            return now
        return max(now, self._booked.get((channel, address), now))

    def reserve(self, channel: str, address: str, group: bool, cost: int = 1) -> float:
        """Book the earliest slot that keeps every limit; returns it (monotonic seconds).

        ``cost`` is how many requests the message takes against the channel's overall limit
        (a first Discord DM also opens the DM channel).
        """
        keys = self._keys(channel, address, group)
        booked = [self._booked.get(k, 0.0) for k, _ in keys]
        at = max([self._clock(), self._paused.get(channel, 0.0), *booked])
        for key, rate in keys:
            self._booked[key] = at + rate.spacing * _units(key, cost)
        return at

    async def wait_turn(self, channel: str, address: str, group: bool, cost: int = 1) -> Turn:
        """Wait for this message's turn to go, first come, first served; the caller says
        when the platform answered (``Turn.answered``), sent or not.

        One pacer per channel hands out the turns in arrival order, so waiting senders never
        race for a free moment (where an unlucky one could lose again and again).
        """
        turn: asyncio.Future[Turn] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(channel, deque()).append((self._keys(channel, address, group), cost, turn))
        pacer = self._pacers.get(channel)
        if pacer is None or pacer.done():
            self._pacers[channel] = asyncio.create_task(self._pace(channel))
        try:
            return await turn
        except asyncio.CancelledError:  # stopped as the turn came: nothing will be sent with it
            if turn.done() and not turn.cancelled():
                turn.result().answered()
            raise

    async def _pace(self, channel: str) -> None:
        queue, loop = self._queues[channel], asyncio.get_running_loop()
        while queue:
            keys, cost, turn = queue[0]
            if turn.cancelled():
                queue.popleft()
                continue
            now = self._clock()
            schedules = [(self._schedule(key, rate), _units(key, cost)) for key, rate in keys]
            ready = max([self._paused.get(channel, 0.0)] + [s.ready(units) for s, units in schedules])
            if ready > now:  # until then, or until an answer moves it
                wake = self._wakes[channel] = loop.create_future()
                timer = None if ready == float("inf") else loop.call_later(ready - now, _settle, wake)
                await wake
                if timer is not None:
                    timer.cancel()
                continue
            queue.popleft()
            for schedule, units in schedules:
                schedule.take(units, now)
            turn.set_result(Turn(self, channel, schedules))

    def _answered(self, channel: str, taken: list[tuple[Schedule, int]]) -> None:
        """A turn's requests answered: counted in their windows from now, and the
        channel's pacer woken, since its next turn may be free now."""
        now = self._clock()
        for schedule, units in taken:
            schedule.answer(units, now)
        wake = self._wakes.pop(channel, None)
        if wake is not None:
            _settle(wake)

    def _schedule(self, key: tuple[str, str], rate: Rate) -> Schedule:
        schedule = self._schedules.get(key)
        if schedule is None:
            if len(self._schedules) >= self._forget_over:  # a broadcast's recipients, long done
                now = self._clock()
                self._schedules = {k: s for k, s in self._schedules.items() if not s.idle(now)}
                self._forget_over = max(FORGET_OVER, 2 * len(self._schedules))
            schedule = self._schedules[key] = Schedule(rate)
        return schedule

    def pause(self, channel: str, seconds: float) -> None:
        """The platform said slow down (429 with retry_after): nothing goes on it until then."""
        until = self._clock() + seconds
        self._paused[channel] = max(self._paused.get(channel, 0.0), until)
        booked = self._booked.get((channel, ""), 0.0)
        self._booked[(channel, "")] = max(booked, until)


def _settle(wake: asyncio.Future[None]) -> None:
    if not wake.done():
        wake.set_result(None)


def _units(key: tuple[str, str], cost: int) -> int:
    """What a message costs against a key: ``cost`` on the whole channel, 1 in its chat."""
    return cost if key[1] == "" else 1
