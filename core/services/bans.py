"""A GOM's bans: buyers who cannot order (or join a waitlist) in any of the GOM's GOs.

``/ban @buyer reason…``, ``/unban @buyer`` and ``/bans`` act for the team the GOM or
manager is on. The reason is for that team's eyes only: the buyer is told just that they
cannot order in this GOM's group orders (``core.gate.BANNED``), checked in the same gate
as the policy agreement.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from core.db.models import BuyerBan, StaffMember, User
from core.db.upsert import insert_ignoring_conflict
from core.errors import InvalidInput, PermissionDenied
from core.permissions import DOES, grants
from core.services.accounts import Actor
from core.services.people import person_by_handle
from core.uow import UnitOfWork

MAX_REASON = 500
USAGE = "/ban @buyer reason…"


@dataclass(frozen=True)
class BanView:
    buyer: str  # the buyer's name and handle
    reason: str
    since: str  # ISO date
    added: bool = True  # False: was banned already (ban) or was not (unban)


async def is_banned(uow: UnitOfWork, gom_id: int, buyer_id: int) -> bool:
    found = await uow.session.scalar(
        select(BuyerBan.buyer_id).where(BuyerBan.gom_id == gom_id, BuyerBan.buyer_id == buyer_id)
    )
    return found is not None


async def ban(uow: UnitOfWork, actor: Actor, handle: str, reason: str) -> BanView:
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("Say why, for your team's eyes only: %(usage)s", usage=USAGE)
    if len(reason) > MAX_REASON:
        raise InvalidInput("Keep the reason under %(max_reason)s characters.", max_reason=MAX_REASON)
    async with uow:
        gom_id = await team_gom(uow, actor)
        buyer_id, name = await buyer_by_handle(uow, handle)
        if buyer_id == gom_id or await _on_team(uow, gom_id, buyer_id):
            raise InvalidInput(
                "%(name)s is on your team; take them off the team instead (/helper remove).", name=name
            )
        done = await uow.session.execute(
            insert_ignoring_conflict(
                uow.session,
                BuyerBan,
                {
                    "gom_id": gom_id,
                    "buyer_id": buyer_id,
                    "reason": reason,
                    "banned_by": actor.user_id,
                    "created_at": uow.now,
                },
                ["gom_id", "buyer_id"],
            )
        )
        added = bool(getattr(done, "rowcount", 0))
        if added:
            uow.audit(
                actor_id=actor.user_id,
                entity="user",
                entity_id=buyer_id,
                action="banned",
                detail=f"by GOM {gom_id}: {reason}",
            )
        row = await uow.session.get_one(BuyerBan, (gom_id, buyer_id))
        await uow.commit()
        return BanView(name, row.reason, row.created_at.date().isoformat(), added)


async def unban(uow: UnitOfWork, actor: Actor, handle: str) -> BanView:
    async with uow:
        gom_id = await team_gom(uow, actor)
        buyer_id, name = await buyer_by_handle(uow, handle)
        done = await uow.session.execute(
            delete(BuyerBan).where(BuyerBan.gom_id == gom_id, BuyerBan.buyer_id == buyer_id)
        )
        removed = bool(done.rowcount)  # type: ignore[attr-defined]
        if removed:
            uow.audit(
                actor_id=actor.user_id,
                entity="user",
                entity_id=buyer_id,
                action="unbanned",
                detail=f"by GOM {gom_id}",
            )
        await uow.commit()
        return BanView(name, "", uow.now.date().isoformat(), removed)


async def list_bans(uow: UnitOfWork, actor: Actor) -> list[BanView]:
    async with uow:
        gom_id = await team_gom(uow, actor)
        rows = (
            await uow.session.execute(
                select(BuyerBan, User.display_name)
                .join(User, User.id == BuyerBan.buyer_id)
                .where(BuyerBan.gom_id == gom_id)
                .order_by(BuyerBan.created_at, BuyerBan.buyer_id)
                .limit(200)
            )
        ).all()
        return [BanView(name, row.reason, row.created_at.date().isoformat()) for row, name in rows]


async def team_gom(uow: UnitOfWork, actor: Actor) -> int:
    """The GOM whose team ``actor`` acts for here: their own, else the one team they are on
    in a role that may do what the command needs."""
    roles = (
        await uow.session.execute(
            select(StaffMember.gom_id, StaffMember.role).where(StaffMember.member_id == actor.user_id)
        )
    ).all()
    own = [gom for gom, role in roles if gom == actor.user_id]
    if own:
        return own[0]
    allowed = [gom for gom, role in roles if grants(role, actor.acting)]
    if not allowed:
        raise PermissionDenied(
            "Only a GOM, or a team member who may %(does)s, can do that.", does=DOES[actor.acting]
        )
    if len(allowed) > 1:
        raise InvalidInput("You are on more than one GOM's team; ask the GOM whose buyer it is.")
    return allowed[0]


async def buyer_by_handle(uow: UnitOfWork, handle: str) -> tuple[int, str]:
    """The one person who wrote to gomflow as @handle, named with the handle."""
    if not handle.strip().startswith("@") or not handle.strip().lstrip("@"):
        raise InvalidInput("Name the buyer by their @handle: %(usage)s", usage=USAGE)
    user_id, name = await person_by_handle(uow, handle)
    return user_id, f"{name} (@{handle.strip().lstrip('@').lower()})"


async def _on_team(uow: UnitOfWork, gom_id: int, member_id: int) -> bool:
    found = await uow.session.scalar(
        select(StaffMember.id).where(StaffMember.gom_id == gom_id, StaffMember.member_id == member_id)
    )
    return found is not None
