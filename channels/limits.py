"""Sending rates per channel, per recipient and per group chat, and the limiter that keeps them.

Each limit is ``count`` messages per ``seconds``. The limiter spaces messages evenly
(``seconds / count`` apart, plus a small headroom). It plans (``reserve``) so the
dispatcher can see how far ahead a channel is booked; at the moment of sending, one pacer
per channel hands out turns (``wait_turn``) by a ``Schedule`` per key: evenly spaced by
plan, so a pacer that wakes late catches up instead of losing the time for good, and never
more than ``count`` turns in any window of ``seconds`` (plus the headroom) by the times the
turns were actually given, however late or bunched they were.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

HEADROOM = 0.03  # run 3% under each ceiling so network jitter cannot push a window over it
CATCH_UP = 0.02  # how far behind its plan a late pacer may be (a share of the window) and catch up


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
    """The turns of one rate: when the next may go, and taking one.

    The plan moves by the spacing from where the last turn was planned, not from when it
    was given, so the time a late pacer loses is made up (at most ``CATCH_UP`` of a window,
    so a quiet spell does not let a burst through). What keeps the platform's ceiling is the
    window: the last ``count`` turns as given, and no turn while ``count`` of them fall
    within ``seconds`` plus the headroom.
    """

    __slots__ = ("given", "planned", "rate")

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self.planned = float("-inf")
        self.given: deque[float] = deque(maxlen=rate.count)

    @property
    def window(self) -> float:
        return self.rate.seconds * (1 + HEADROOM)

    def ready(self, units: int) -> float:
        """The earliest time ``units`` turns may be taken at once."""
        given, keep = self.given, self.rate.count - units  # turns that may stay in the window
        if not given or len(given) <= keep:
            return self.planned
        if keep < 0:  # costs more than the whole window: alone in it
            return max(self.planned, given[-1] + self.window)
        return max(self.planned, given[len(given) - keep - 1] + self.window)

    def take(self, units: int, now: float) -> None:
        self.given.extend([now] * units)
        behind = now - self.rate.seconds * CATCH_UP
        self.planned = max(self.planned, behind) + self.rate.spacing * units

    def idle(self, now: float) -> bool:
        """Forgettable: nothing it remembers limits a turn from now on."""
        return self.planned <= now and (not self.given or self.given[-1] + self.window <= now)


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
        self._queues: dict[str, deque[tuple[list[Key], int, asyncio.Future[None]]]] = {}
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

    async def wait_turn(self, channel: str, address: str, group: bool, cost: int = 1) -> None:
        """Wait for this message's turn to go, by actual send times; first come, first served.

        One pacer per channel hands out the turns in arrival order, so waiting senders never
        race for a free moment (where an unlucky one could lose again and again).
        """
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(channel, deque()).append((self._keys(channel, address, group), cost, turn))
        pacer = self._pacers.get(channel)
        if pacer is None or pacer.done():
            self._pacers[channel] = asyncio.create_task(self._pace(channel))
        await turn

    async def _pace(self, channel: str) -> None:
        queue = self._queues[channel]
        while queue:
            keys, cost, turn = queue[0]
            if turn.cancelled():
                queue.popleft()
                continue
            now = self._clock()
            schedules = [(self._schedule(key, rate), _units(key, cost)) for key, rate in keys]
            ready = max([self._paused.get(channel, 0.0)] + [s.ready(units) for s, units in schedules])
            if ready > now:
                await asyncio.sleep(ready - now)
                continue
            queue.popleft()
            for schedule, units in schedules:
                schedule.take(units, now)
            turn.set_result(None)

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


def _units(key: tuple[str, str], cost: int) -> int:
    """What a message costs against a key: ``cost`` on the whole channel, 1 in its chat."""
    return cost if key[1] == "" else 1
