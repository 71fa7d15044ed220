"""What sending a message to a person can end in, besides being accepted.

The outbox's transports (``channels/``) raise these, and a platform adapter (``bots/``)
reads the same answers for its replies, so each platform's errors are translated once,
in its transport, for both.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """A delivery that may succeed if tried again (network, 5xx, rate limit)."""

    def __init__(self, message: str, retry_after: float | None = None, *, scope: str = "channel") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # what a retry_after holds back: the whole channel (a global limit) or only this chat
        self.scope = scope


class MessageRefused(DeliveryError):
    """The platform refused this message itself (bad markup, an edit of a message that is
    gone): sending it again unchanged cannot help, so it is not retried."""


class RecipientUnreachable(Exception):
    """A delivery that will never succeed: blocked bot, invalid number, bounced address."""
