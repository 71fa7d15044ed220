"""A GOM's team: changing a member's role, and who is on the teams one belongs to.

Roles and what they allow are in ``core.permissions``; adding and removing people (by
handle or invite code) stays with the accounts in ``core.services.accounts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from core.db.models import Identity, StaffMember, User
from core.permissions import ASSIGNABLE, Role, assignable_role, rank
from core.services.accounts import Actor, own_team_member, require_gom
from core.uow import UnitOfWork


async def set_role(uow: UnitOfWork, gom: Actor, handle: str, role_name: str) -> tuple[str, Role]:
    """Give one of this GOM's team another role; one conditional UPDATE on their staff row,
    so of two changes at once the later simply wins and nothing else is touched."""
    require_gom(gom)
    role = assignable_role(role_name)
    async with uow:
        member = await own_team_member(uow, gom, handle)
        await uow.session.execute(
            update(StaffMember)
            .where(
                StaffMember.gom_id == gom.user_id,
                StaffMember.member_id == member.id,
                StaffMember.role.in_([r.value for r in ASSIGNABLE]),
            )
            .values(role=role.value)
        )
        uow.audit(actor_id=gom.user_id, entity="user", entity_id=member.id, action=f"role_{role.value}")
        await uow.commit()
        return member.display_name, role


@dataclass(frozen=True)
class TeamMember:
    name: str
    role: str
    handles: tuple[str, ...]


@dataclass(frozen=True)
class Team:
    gom: str
    members: tuple[TeamMember, ...]


async def teams(uow: UnitOfWork, actor: Actor) -> list[Team]:
    """Every team ``actor`` is on (a GOM's own first), each member with their role and the
    handles they can be named by in /helper."""
    async with uow:
        gom_ids = (
            await uow.session.scalars(
                select(StaffMember.gom_id)
                .where(StaffMember.member_id == actor.user_id)
                .order_by(StaffMember.id)
            )
        ).all()
        found: list[tuple[bool, Team]] = []
        for gom_id in gom_ids:
            rows = (
                await uow.session.execute(
                    select(User.id, User.display_name, StaffMember.role)
                    .join(StaffMember, StaffMember.member_id == User.id)
                    .where(StaffMember.gom_id == gom_id)
                    .order_by(StaffMember.id)
                )
            ).all()
            handles = await _handles(uow, [user_id for user_id, _, _ in rows])
            members = sorted(
                (TeamMember(name, role, handles.get(user_id, ())) for user_id, name, role in rows),
                key=lambda m: rank(m.role),
            )
            gom_name = (await uow.session.get_one(User, gom_id)).display_name
            found.append((gom_id != actor.user_id, Team(gom_name, tuple(members))))
        return [team for _, team in sorted(found, key=lambda pair: pair[0])]


async def _handles(uow: UnitOfWork, user_ids: list[int]) -> dict[int, tuple[str, ...]]:
    rows = await uow.session.execute(
        select(Identity.user_id, Identity.channel, Identity.handle)
        .where(Identity.user_id.in_(user_ids), Identity.handle.is_not(None), Identity.kind == "person")
        .order_by(Identity.id)
    )
    handles: dict[int, tuple[str, ...]] = {}
    for user_id, channel, handle in rows:
        handles[user_id] = (*handles.get(user_id, ()), f"{channel} @{handle}")
    return handles
