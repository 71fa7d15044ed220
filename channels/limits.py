"""Sending rates per channel, per recipient and per group chat, and the limiter that keeps them.

Each limit is ``count`` messages per ``seconds``. The limiter spaces messages evenly
(``seconds / count`` apart, plus a small headroom), which keeps every sliding window of
``seconds`` at or under ``count`` however the platform counts. It plans (``reserve``)
so the dispatcher can see how far ahead a channel is booked; at the moment of sending,
one pacer per channel hands out turns by actual time (``wait_turn``), so a task that runs
late cannot bunch up with the next one.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

HEADROOM = 0.03  # run 3% under each ceiling so network jitter cannot push a window over it


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


Key = tuple[tuple[str, str], float]  # (channel, chat or "" for the whole channel), spacing


class Limiter:
    """Evenly spaced sending per key; keys are the channel, and the chat within it."""

    def __init__(
        self, limits: Mapping[str, ChannelLimits], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = dict(limits)
        self._clock = clock
        self._booked: dict[tuple[str, str], float] = {}  # key -> next free planned time
        self._sent: dict[tuple[str, str], float] = {}  # key -> when its last turn was given
        self._queues: dict[
            str, deque[tuple[list[tuple[tuple[str, str], float]], int, asyncio.Future[None]]]
        ] = {}
        self._pacers: dict[str, asyncio.Task[None]] = {}
        self._paused: dict[str, float] = {}

    def limits(self, channel: str) -> ChannelLimits:
        return self._limits.get(channel, ChannelLimits())

    def _keys(self, channel: str, address: str, group: bool) -> list[Key]:
        limits = self.limits(channel)
        keys = []
        if limits.overall is not None:
            keys.append(((channel, ""), limits.overall.spacing))
        chat = limits.per_group if group else limits.per_chat
        if chat is not None:
            keys.append(((channel, address), chat.spacing))
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
        for key, spacing in keys:
            self._booked[key] = at + spacing * (cost if key[1] == "" else 1)
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
            ready = max([self._paused.get(channel, 0.0)] + [self._sent.get(k, -1e18) + s for k, s in keys])
            if ready > now:
                await asyncio.sleep(ready - now)
                continue
            queue.popleft()
            for key, spacing in keys:
                self._sent[key] = now + (spacing * (cost - 1) if key[1] == "" else 0.0)
            turn.set_result(None)

    def pause(self, channel: str, seconds: float) -> None:
        """The platform said slow down (429 with retry_after): nothing goes on it until then."""
        until = self._clock() + seconds
        self._paused[channel] = max(self._paused.get(channel, 0.0), until)
        booked = self._booked.get((channel, ""), 0.0)
        self._booked[(channel, "")] = max(booked, until)
