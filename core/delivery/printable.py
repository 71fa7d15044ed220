"""The printable packing page, reached through a link that expires.

The link carries a random token (about 256 bits); only its SHA-256 is kept, with the time
it stops working, so a copy of the database opens nothing. It is handed only to the GO's
GOM and helpers, since the page shows buyers' addresses.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from core.db.models import GroupOrder, PackingLink
from core.delivery.packing import PackingView, packing_view
from core.errors import NotFound
from core.lookups import load_go
from core.services.accounts import Actor, require_admin
from core.uow import UnitOfWork

ROUTE = "/packing/"
VALID_FOR = timedelta(hours=24)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def packing_link(
    uow: UnitOfWork, actor: Actor, go_code: str, public_base_url: str
) -> tuple[str, datetime, str]:
    """A fresh link to the GO's printable page: (url, when it expires, the GO's timezone)."""
    token = secrets.token_urlsafe(32)
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        expires_at = uow.now + VALID_FOR
        uow.session.add(
            PackingLink(
                go_id=go.id,
                token_hash=_digest(token),
                created_by=actor.user_id,
                created_at=uow.now,
                expires_at=expires_at,
            )
        )
        await uow.commit()
        return public_base_url.rstrip("/") + ROUTE + token, expires_at, go.timezone


async def packing_page(uow: UnitOfWork, token: str) -> PackingView:
    async with uow:
        link = await uow.session.scalar(
            select(PackingLink).where(PackingLink.token_hash == _digest(token[:100]))
        )
        if link is None or link.expires_at <= uow.now:
            raise NotFound("This packing list link is not valid or has expired; ask the bot for a new one.")
        go = await uow.session.get_one(GroupOrder, link.go_id)
        return await packing_view(uow, go)


async def packing_for_team(uow: UnitOfWork, actor: Actor, go_code: str) -> PackingView:
    """The same page for someone signed in to the dashboard: their role decides, not a link."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        return await packing_view(uow, go)
