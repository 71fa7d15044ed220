"""A GOM's defaults for the group orders they open: for now, the per-buyer limit.

A drop without a per-buyer limit lets one fast buyer (or a script) take the whole
capacity; a GOM sets a default once instead of remembering ``limit=`` every time.
"""

from __future__ import annotations

from sqlalchemy import select, update

from core.db.models import User
from core.errors import InvalidInput, PermissionDenied
from core.services.accounts import Actor
from core.uow import UnitOfWork

MAX_DEFAULT_LIMIT = 100_000


async def set_default_limit(uow: UnitOfWork, gom: Actor, limit: int | None) -> int | None:
    """Set (or with None, clear) the per-buyer limit of this GOM's new GOs."""
    if not gom.is_gom:
        raise PermissionDenied("Only a GOM sets the defaults of their own group orders.")
    if limit is not None and not 1 <= limit <= MAX_DEFAULT_LIMIT:
        raise InvalidInput(
            "A per-buyer limit is a whole number from 1 to %(max_default_limit)s.",
            max_default_limit=format(MAX_DEFAULT_LIMIT, ","),
        )
    async with uow:
        await uow.session.execute(
            update(User).where(User.id == gom.user_id).values(default_buyer_limit=limit)
        )
        uow.audit(actor_id=gom.user_id, entity="user", entity_id=gom.user_id, action="default_limit_set")
        await uow.commit()
    return limit


async def default_limit(uow: UnitOfWork, gom_id: int) -> int | None:
    """Inside ``uow``: the per-buyer limit this GOM's new GOs get when none is given."""
    return await uow.session.scalar(select(User.default_buyer_limit).where(User.id == gom_id))


async def show_default_limit(uow: UnitOfWork, gom: Actor) -> int | None:
    async with uow:
        return await default_limit(uow, gom.user_id)
