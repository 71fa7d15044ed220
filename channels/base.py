"""The contract every outbound transport keeps."""

from __future__ import annotations

from typing import Protocol

from core.render import Rendered
from core.sending import DeliveryError, MessageRefused, RecipientUnreachable

__all__ = ["Channel", "DeliveryError", "MessageRefused", "RecipientUnreachable"]


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
