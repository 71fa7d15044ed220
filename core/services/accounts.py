"""Buyers, GOMs, helpers and the identities that reach them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Exists, SQLColumnExpression, delete, exists, select, update

from core import inbound
from core.db.models import GroupOrder, Identity, StaffMember, User
from core.db.raw import Plan, Statement
from core.db.upsert import insert_ignoring_conflict
from core.errors import Conflict, InvalidInput, PermissionDenied, UnknownUser
from core.uow import UnitOfWork

MAX_NAME = 120


@dataclass(frozen=True)
class Actor:
    """Who is asking: the person, the identity they wrote from, and what they may run."""

    user_id: int
    identity_id: int
    channel: str
    name: str
    is_gom: bool
    is_staff: bool  # a GOM or a helper of one

    @property
    def may_administer(self) -> bool:
        return self.is_gom or self.is_staff


async def identify(
    uow: UnitOfWork,
    channel: str,
    external_id: str,
    display_name: str,
    handle: str | None = None,
) -> Actor:
    """Find the person behind a chat identity, creating both on first contact.

    Runs on every message, so the common case (known, unchanged) is a read. Safe to
    repeat, so it never carries the mark of the update being handled (``inbound.aside``).
    """
    known = await uow.desk.run(lambda _: _lookup(channel, external_id))
    if known is not None and known[2] and (not handle or known[1] == _clean_handle(handle)):
        identity_id, _, _, user_id, name, is_gom, is_staff = known
        return Actor(user_id, identity_id, channel, name, bool(is_gom), bool(is_staff))
    with inbound.aside():
        return await _identify_in(uow, channel, external_id, display_name, handle)


async def _identify_in(
    uow: UnitOfWork, channel: str, external_id: str, display_name: str, handle: str | None
) -> Actor:
    async with uow:
        identity = await _find_identity(uow, channel, external_id)
        if identity is None:
            user = User(display_name=_clean_name(display_name), is_gom=False, created_at=uow.now)
            uow.session.add(user)
            await uow.session.flush()
            await uow.session.execute(
                insert_ignoring_conflict(
                    uow.session,
                    Identity,
                    {
                        "user_id": user.id,
                        "channel": channel,
                        "external_id": external_id,
                        "handle": _clean_handle(handle),
                        "reachable": True,
                        "created_at": uow.now,
                    },
                    ["channel", "external_id"],
                )
            )
            identity = await _find_identity(uow, channel, external_id)
            assert identity is not None
            if identity.user_id != user.id:  # a concurrent first contact won the race
                await uow.session.delete(user)
        elif handle and identity.handle != _clean_handle(handle):
            identity.handle = _clean_handle(handle)
        identity.reachable = True  # they wrote to us, so we can write back
        actor = await _actor_for(uow, identity)
        await uow.commit()
        return actor


LOOKUP = (
    "SELECT i.id, i.handle, i.reachable, u.id, u.display_name, u.is_gom, "
    "EXISTS (SELECT 1 FROM staff s WHERE s.member_id = u.id) "
    "FROM identities i JOIN users u ON u.id = i.user_id WHERE i.channel = ? AND i.external_id = ?"
)


def _lookup(channel: str, external_id: str) -> Plan[Any]:
    """The sender and what they may do, in one read riding in the order desk's batch."""
    return (yield Statement(LOOKUP, (channel, external_id), "row"))


async def register_gom(uow: UnitOfWork, channel: str, external_id: str, display_name: str) -> Actor:
    """Make a person a GOM (an operator's decision: the CLI, or the console chat)."""
    await identify(uow, channel, external_id, display_name)
    async with uow:
        identity = await _find_identity(uow, channel, external_id)
        assert identity is not None
        user = await uow.session.get_one(User, identity.user_id)
        if not user.is_gom:
            user.is_gom = True
            uow.session.add(StaffMember(gom_id=user.id, member_id=user.id, role="owner", created_at=uow.now))
            uow.audit(actor_id=None, entity="user", entity_id=user.id, action="gom_registered")
        actor = await _actor_for(uow, identity)
        await uow.commit()
        return actor


async def add_helper(uow: UnitOfWork, gom: Actor, handle: str) -> str:
    """Let someone administer this GOM's group orders; they must have written to gomflow."""
    _require_gom(gom)
    async with uow:
        helper = await _user_by_handle(uow, gom.channel, handle)
        if helper.id == gom.user_id:
            raise InvalidInput("You already run your own group orders.")
        existing = await uow.session.scalar(
            select(StaffMember).where(StaffMember.gom_id == gom.user_id, StaffMember.member_id == helper.id)
        )
        if existing is not None:
            raise Conflict(f"{helper.display_name} is already your helper.")
        uow.session.add(
            StaffMember(gom_id=gom.user_id, member_id=helper.id, role="helper", created_at=uow.now)
        )
        uow.audit(actor_id=gom.user_id, entity="user", entity_id=helper.id, action="helper_added")
        await uow.commit()
        return helper.display_name


async def remove_helper(uow: UnitOfWork, gom: Actor, handle: str) -> str:
    _require_gom(gom)
    async with uow:
        helper = await _user_by_handle(uow, gom.channel, handle)
        result = await uow.session.execute(
            delete(StaffMember).where(
                StaffMember.gom_id == gom.user_id,
                StaffMember.member_id == helper.id,
                StaffMember.role == "helper",
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput(f"{helper.display_name} is not one of your helpers.")
        uow.audit(actor_id=gom.user_id, entity="user", entity_id=helper.id, action="helper_removed")
        await uow.commit()
        return helper.display_name


async def require_admin(uow: UnitOfWork, actor: Actor, go: GroupOrder) -> None:
    """Only the GO's own GOM and that GOM's helpers may administer it."""
    allowed = await uow.session.scalar(
        select(StaffMember.id).where(StaffMember.gom_id == go.gom_id, StaffMember.member_id == actor.user_id)
    )
    if allowed is None:
        raise PermissionDenied(f"{go.code} is run by another GOM; you cannot manage it.")


def _require_gom(actor: Actor) -> None:
    if not actor.is_gom:
        raise PermissionDenied("Only a GOM can do that.")


async def _find_identity(uow: UnitOfWork, channel: str, external_id: str) -> Identity | None:
    return await uow.session.scalar(
        select(Identity).where(Identity.channel == channel, Identity.external_id == external_id)
    )


def _is_staff(user_id: SQLColumnExpression[int]) -> Exists:
    return exists().where(StaffMember.member_id == user_id)


async def _actor_for(uow: UnitOfWork, identity: Identity) -> Actor:
    user = await uow.session.get_one(User, identity.user_id)
    staff = await uow.session.scalar(select(StaffMember.id).where(StaffMember.member_id == user.id).limit(1))
    return Actor(
        user_id=user.id,
        identity_id=identity.id,
        channel=identity.channel,
        name=user.display_name,
        is_gom=user.is_gom,
        is_staff=staff is not None,
    )


async def _user_by_handle(uow: UnitOfWork, channel: str, handle: str) -> User:
    cleaned = _clean_handle(handle)
    if not cleaned:
        raise InvalidInput("Name the helper by their handle, e.g. /helper add @bob.")
    identity = await uow.session.scalar(
        select(Identity)
        .where(Identity.channel == channel)
        .where((Identity.handle == cleaned) | (Identity.external_id == cleaned))
        .limit(1)
    )
    if identity is None:
        raise UnknownUser(
            f"Nobody called @{cleaned} has written to gomflow yet; ask them to say /start first."
        )
    return await uow.session.get_one(User, identity.user_id)


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())[:MAX_NAME]
    return cleaned or "someone"


def _clean_handle(handle: str | None) -> str | None:
    if handle is None:
        return None
    cleaned = handle.strip().lstrip("@").lower()[:MAX_NAME]
    return cleaned or None


async def mark_unreachable(uow: UnitOfWork, channel: str, external_id: str) -> None:
    """The person blocked us (or is gone): stop sending to this identity (safe to repeat,
    so it never carries the mark of the update being handled)."""
    with inbound.aside():
        await _mark_unreachable(uow, channel, external_id)


async def _mark_unreachable(uow: UnitOfWork, channel: str, external_id: str) -> None:
    async with uow:
        await uow.session.execute(
            update(Identity)
            .where(Identity.channel == channel, Identity.external_id == external_id)
            .values(reachable=False)
        )
        await uow.commit()
