"""Callback data: one namespaced scheme, never over Telegram's 64 bytes.

``c:<text>`` runs ``<text>`` as if typed (a command, or an answer in a conversation);
``o:<step> <args>`` is a step of tap-to-order (see ``tap_order``). A payload that would
not fit is kept in the database behind a short token and sent as ``t:<token>``.
"""

from __future__ import annotations

from core.app import Core
from core.services.callbacks import load_payload, store_payload

LIMIT = 64  # bytes, Telegram's limit for callback_data
COMMAND = "c:"
ORDER = "o:"
TOKEN = "t:"


def fits(data: str) -> bool:
    return 1 <= len(data.encode()) <= LIMIT


async def encode(core: Core, payload: str) -> str:
    if fits(payload) and not payload.startswith(TOKEN):
        return payload
    return TOKEN + await store_payload(core.uow(), payload)


async def decode(core: Core, data: str) -> str | None:
    """The payload behind ``data``; None for a token nobody stored (a forged or ancient button)."""
    if data.startswith(TOKEN):
        return await load_payload(core.reader(), data[len(TOKEN) :])
    return data
