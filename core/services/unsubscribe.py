"""One-click unsubscribe (RFC 8058): a link per recipient that mutes promotional mail.

The link's token is the recipient identity's id and an HMAC of it under the server's
secret (``GOMFLOW_SECRET_KEY``): unguessable, different for every recipient, and nothing
to store. Muting stops broadcasts only; messages about the person's own orders and
payments are transactional and always go.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select, update

from core.db.models import Identity, User
from core.errors import NotFound
from core.privacy.identities import reach
from core.uow import UnitOfWork

ROUTE = "/unsubscribe/"
NOT_VALID = "This unsubscribe link is not valid. Reply STOP or send /mute to gomflow instead."


def token_for(secret: str, identity_id: int) -> str:
    return f"{identity_id}.{_mac(secret, identity_id)}"


def unsubscribe_url(base_url: str, secret: str, identity_id: int) -> str:
    return f"{base_url.rstrip('/')}{ROUTE}{token_for(secret, identity_id)}"


def identity_of(secret: str, token: str) -> int | None:
    """The identity a token names, or None when it was not made with this secret."""
    head, _, mac = token.partition(".")
    if not secret or not head.isdigit() or len(head) > 18:
        return None
    identity_id = int(head)
    return identity_id if hmac.compare_digest(mac, _mac(secret, identity_id)) else None


async def recipient(uow: UnitOfWork, secret: str, token: str) -> tuple[str, bool]:
    """The address a link unsubscribes and whether it is muted already (for the page)."""
    async with uow:
        row = (
            await uow.session.execute(
                select(Identity.external_id, Identity.address, User.muted)
                .join(User, User.id == Identity.user_id)
                .where(Identity.id == _required(secret, token))
            )
        ).first()
        if row is None:
            raise NotFound(NOT_VALID)
        return reach(row[0], row[1]), bool(row[2])


async def unsubscribe(uow: UnitOfWork, secret: str, token: str) -> str:
    """Mute the link's recipient (safe to repeat); returns their address."""
    async with uow:
        identity = await uow.session.get(Identity, _required(secret, token))
        if identity is None:
            raise NotFound(NOT_VALID)
        await uow.session.execute(update(User).where(User.id == identity.user_id).values(muted=True))
        uow.audit(
            actor_id=identity.user_id,
            entity="user",
            entity_id=identity.user_id,
            action="muted",
            detail=f"one-click unsubscribe from {identity.channel}",
        )
        await uow.commit()
        return reach(identity.external_id, identity.address)


def _required(secret: str, token: str) -> int:
    identity_id = identity_of(secret, token)
    if identity_id is None:
        raise NotFound(NOT_VALID)
    return identity_id


def _mac(secret: str, identity_id: int) -> str:
    digest = hmac.new(secret.encode(), f"unsubscribe:{identity_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]
