"""Proof that a person controls a group chat or channel before gomflow posts into it.

The core only knows this small protocol; each platform's adapter answers it with that
platform's API, and the composition root hands the answers to the core by platform name,
with each platform's ``LinkTarget`` (what a destination there looks like).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Verdict:
    """Whether control was shown; ``reason`` is said to the person when it was not.

    ``address`` is the destination's permanent id when the person named it by something
    that can change hands (a Telegram @username): that id is what gets linked.
    """

    ok: bool
    reason: str = ""
    address: str | None = None

    @classmethod
    def yes(cls, address: str | None = None) -> Verdict:
        return cls(True, address=address)

    @classmethod
    def no(cls, reason: str) -> Verdict:
        return cls(False, reason)


class ChannelVerifier(Protocol):
    async def controls(self, destination: str, member_id: str) -> Verdict:
        """Whether the platform account ``member_id`` may manage ``destination`` and gomflow
        may post there.

        Returns a refusal (never raises) when the platform says no, does not know the
        destination, or cannot be asked: an unverified channel is never linked.
        """
        ...


@dataclass(frozen=True)
class LinkTarget:
    """What a destination a GOM may link looks like on one platform (its registry entry
    says), and how the outbox addresses it."""

    pattern: re.Pattern[str]  # the id is the first group, or the whole match
    example: str  # said when a target does not fit, e.g. "-1001234567890 or @mychannel"
    address: str = "{}"  # the outbox address made from the id
    by_mail: bool = False  # confirmed by a link mailed to it rather than by a verifier

    def parse(self, target: str) -> str | None:
        """The outbox address for ``target``, or None when it is not one of these."""
        match = self.pattern.match(target)
        if match is None:
            return None
        found = match.group(1) if match.groups() else match.group(0)
        return self.address.format(found.lower() if self.by_mail else found)
