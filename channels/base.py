"""The contract every outbound transport keeps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol, runtime_checkable

from core.render import Rendered
from core.sending import DeliveryError, MessageRefused, RecipientUnreachable

__all__ = [
    "Channel",
    "DeliveryError",
    "EditingChannel",
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


@runtime_checkable
class EditingChannel(Protocol):
    """A channel that can change a message it sent (Telegram, Discord): a masterlist is
    posted once and edited in place after. A message longer than the platform takes goes
    as several, and each is one id."""

    async def post(self, address: str, message: Rendered, *, key: str = "") -> list[str]:
        """Send ``message`` (in parts within the platform's limit) and return the
        platform's ids of the parts, in order. Raises as ``Channel.send``."""
        ...

    async def edit(
        self, address: str, message_ids: Sequence[str], message: Rendered, *, key: str = ""
    ) -> list[str]:
        """Make the messages ``message_ids`` read ``message``: part n edits message n; more
        parts than messages are sent as new ones below; messages left over are emptied to
        a short note and kept (the list may grow again); a message that is gone (deleted
        by an admin) is sent anew. Returns the ids that show it now. An edit to the text
        already shown succeeds. Raises as ``Channel.send``."""
        ...
