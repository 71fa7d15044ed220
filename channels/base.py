"""The contract every outbound transport keeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol, runtime_checkable

from core.render import Rendered
from core.sending import DeliveryError, MessageRefused, RecipientUnreachable

__all__ = [
    "Channel",
    "DeliveryError",
    "MessageRefused",
    "OutsideWindow",
    "RecipientUnreachable",
    "WindowedChannel",
]


class OutsideWindow(Exception):
    """The recipient has not written to us within the platform's window (WhatsApp's 24
    hours) and there is no approved template for this message: it waits until they write
    again. Not a failure, and never retried as if it were a passing problem."""


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


@runtime_checkable
class WindowedChannel(Protocol):
    """A channel that takes free-form messages only within ``window`` of the recipient's
    last message to us, and approved templates at any time (WhatsApp)."""

    window: timedelta

    async def send_template(self, address: str, template: str, message: Rendered, *, key: str = "") -> None:
        """Send ``message`` (the rendering of message type ``template``) through the approved
        template configured for that type. Raises OutsideWindow when there is none, else as
        ``Channel.send``."""
        ...
