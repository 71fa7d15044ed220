"""The contract every outbound transport keeps."""

from __future__ import annotations

from typing import Protocol

from core.render import Rendered


class DeliveryError(Exception):
    """A delivery that may succeed if tried again (network, 5xx, rate limit)."""

    def __init__(self, message: str, retry_after: float | None = None, *, scope: str = "channel") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # what a retry_after holds back: the whole channel (a global limit) or only this chat
        self.scope = scope


class RecipientUnreachable(Exception):
    """A delivery that will never succeed: blocked bot, invalid number, bounced address."""


class Channel(Protocol):
    name: str

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        """Return only when the platform accepted the message.

        Raises DeliveryError to be retried later, RecipientUnreachable to give up on the
        recipient. ``key`` is the same for every attempt at one outbox message (at most 25
        characters); a platform that can dedupe a repeated request is handed it, so a
        repeat after a crash is recognised there. Others ignore it.
        """
        ...
