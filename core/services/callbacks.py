"""Button payloads that do not fit a platform's callback field (Telegram allows 64 bytes).

The payload is kept behind a short token derived from its content, so the same payload
always gets the same token and storing it twice is harmless.
"""

from __future__ import annotations

import base64
import hashlib

from core.db.models import CallbackPayload
from core.db.upsert import insert_ignoring_conflict
from core.uow import UnitOfWork

TOKEN_LENGTH = 16
MAX_PAYLOAD = 4_000


def token_for(payload: str) -> str:
    digest = hashlib.sha256(payload.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:TOKEN_LENGTH]


async def store_payload(uow: UnitOfWork, payload: str) -> str:
    """Keep ``payload`` and return its token."""
    payload = payload[:MAX_PAYLOAD]
    token = token_for(payload)
    async with uow:
        await uow.session.execute(
            insert_ignoring_conflict(
                uow.session,
                CallbackPayload,
                {"token": token, "payload": payload, "created_at": uow.now},
                ["token"],
            )
        )
        await uow.commit()
    return token


async def load_payload(uow: UnitOfWork, token: str) -> str | None:
    async with uow:
        row = await uow.session.get(CallbackPayload, token[:TOKEN_LENGTH])
        return None if row is None else row.payload
