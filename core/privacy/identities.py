"""How a phone number or an email address is kept on an identity: found by its blind
index, read back only sealed.

``identities.external_id`` stays the one column lookups compare; for a person reached
by SMS, WhatsApp or email it holds ``bi:`` and the blind index of the normalised value
(``phone:+6591234567``, ``email:ana@example.com``), and the address itself is sealed in
``identities.address``. Other platforms' ids (a Telegram chat id, a Discord user id) are
not personal data in clear sight and stay as they are.
"""

from __future__ import annotations

from core.privacy.keys import Keyring
from core.privacy.setup import keyring_for

PHONE_CHANNELS = frozenset({"sms", "whatsapp"})
EMAIL_CHANNELS = frozenset({"email"})
PERSONAL_CHANNELS = PHONE_CHANNELS | EMAIL_CHANNELS
INDEXED = "bi:"


def is_personal(channel: str) -> bool:
    """True where the platform's id for a person is their phone number or email address."""
    return channel in PERSONAL_CHANNELS


def normalised(channel: str, value: str) -> str:
    """The form the index is taken over: one phone number or address, however it was written."""
    if channel in EMAIL_CHANNELS:
        return "email:" + value.strip().lower()
    return "phone:" + "".join(value.split())


def stored_id(channel: str, value: str, ring: Keyring | None = None) -> str:
    """What ``identities.external_id`` holds for this platform id, and what lookups compare."""
    if channel not in PERSONAL_CHANNELS:
        return value
    return INDEXED + (ring or keyring_for(None)).blind_index(normalised(channel, value))


def sealed_address(channel: str, value: str) -> str | None:
    """What ``identities.address`` holds (sealed by its column type): the value, or None."""
    return value if channel in PERSONAL_CHANNELS else None


def reach(external_id: str, address: str | None) -> str:
    """The id or address a message is sent to."""
    return address if address is not None else external_id
