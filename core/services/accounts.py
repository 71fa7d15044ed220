"""Buyers, GOMs, helpers and the identities that reach them."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Exists, SQLColumnExpression, delete, exists, select, update

from core import inbound
from core.db.models import GroupOrder, Identity, StaffInvite, StaffMember, User
from core.db.raw import Plan, Statement
from core.db.upsert import insert_ignoring_conflict
from core.desk import KEEP_LANGUAGE
from core.errors import Conflict, InvalidInput, PermissionDenied, UnknownUser
from core.permissions import ASSIGNABLE, DOES, RANKED, Permission, Role, grants, rank
from core.privacy.identities import sealed_address, stored_id
from core.uow import UnitOfWork

MAX_NAME = 120
# A handle names its holder only if they wrote with it this recently: Telegram usernames
# and the like are given up and taken by strangers, and we only learn of it when one writes.
HANDLE_FRESH = timedelta(days=30)
# How often a message from an unchanged handle refreshes ``handle_seen_at`` (a write).
HANDLE_REFRESH = timedelta(days=1)
INVITE_VALID = timedelta(hours=24)
# Codes are typed by hand: no 0/O, 1/I/L. 10 of 31 symbols ≈ 49 bits, stored only hashed.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_LENGTH = 10
NOT_A_GOM = "Only a GOM can open group orders. Ask the operator to register you."


@dataclass(frozen=True)
class Actor:
    """Who is asking: the person, the identity they wrote from, and what they may run."""

    user_id: int
    identity_id: int
    channel: str
    name: str
    is_gom: bool
    is_staff: bool  # a GOM or a helper of one
    # the highest role held on any team: what menus and the dispatcher's first gate go by
    top_role: Role | None = None
    # what the command being run needs, declared in the command table (core.permissions);
    # checked against the role held on the team of the GO a service acts on
    acting: Permission = Permission.MANAGE
    # the language their messages are written in (core.languages); None: not known yet
    language: str | None = None

    @property
    def may_administer(self) -> bool:
        return self.is_gom or self.is_staff

    def may(self, permission: Permission) -> bool:
        """Whether some team this person is on lets them do ``permission`` (its GO decides)."""
        return grants(self.top_role, permission)

    def acting_for(self, permission: Permission) -> Actor:
        """This actor running something that needs ``permission``."""
        return replace(self, acting=permission)


@dataclass(frozen=True, slots=True)
class Caller:
    """Someone writing from a chat identity, before they are looked up (``identify``)."""

    channel: str
    external_id: str
    display_name: str
    handle: str | None = None
    # the language their platform says they read (``core.languages.from_hint``): theirs on
    # first contact, and kept while they have none of their own
    language: str | None = None


async def identify(
    uow: UnitOfWork,
    channel: str,
    external_id: str,
    display_name: str,
    handle: str | None = None,
    language: str | None = None,
) -> Actor:
    """Find the person behind a chat identity, creating both on first contact.

    Runs on every message, so the common case (known, unchanged, handle seen within a
    day) is a read. A handle is held by one identity per channel: taking it clears it from
    whoever held it before, so "@alice" never names a former holder. Safe to repeat, so
    it never carries the mark of the update being handled (``inbound.aside``).
    """
    caller = Caller(channel, external_id, "", handle, language)
    known = await uow.desk.run(lambda now: known_actor_plan(caller, now))
    if known is not None:
        return known
    with inbound.aside():
        return await _identify_in(uow, channel, external_id, display_name, handle, language)


async def identify_caller(uow: UnitOfWork, caller: Caller) -> Actor:
    return await identify(
        uow, caller.channel, caller.external_id, caller.display_name, caller.handle, caller.language
    )


def known_actor_plan(caller: Caller, now: datetime, *, lock: bool = False) -> Plan[Actor | None]:
    """The caller as an ``Actor`` in one read (it may ride in an order's batch), or None
    when ``identify`` has something to write: a first contact, a person who was marked
    unreachable, a new handle or one not refreshed for a day. With ``lock`` the identity
    stays share-locked to the end of the transaction (an order's: see the order desk)."""
    return _current(caller, (yield from _lookup_plan(caller, now, lock=lock)))


def caller_plan(caller: Caller, now: datetime) -> Plan[Actor | None]:
    """The caller as an ``Actor``, with what ``identify`` would write written first, in one
    plan that may ride in an order's batch (the identity share-locked, as
    ``known_actor_plan(lock=True)``): a first contact then costs the order's own trip to
    the desk, not a transaction of its own. A known person's new handle, or one not seen
    for a day, is written to their identity: never as a new person made and deleted again,
    which costs a scan of every table naming people by a column without an index (the
    audit log's among them). None only where a first contact's address is sealed (phone
    numbers, email): that sign-up is ``identify``'s."""
    found = yield from _lookup_plan(caller, now, lock=True)
    if found is not None:
        known = _current(caller, found)
        if known is None:  # known, with something to write
            yield from _refresh_plan(int(found[0]), caller, now)
            if caller.language and found[8] is None:
                yield Statement(KEEP_LANGUAGE, (caller.language, found[3]))
        return known or _actor_of(caller.channel, found, caller.language)
    if sealed_address(caller.channel, caller.external_id) is not None:
        return None
    key, name = stored_id(caller.channel, caller.external_id), _clean_name(caller.display_name)
    user_id = yield Statement(NEW_USER, (name, False, now, False, caller.language), "scalar")
    identity_id = yield Statement(NEW_IDENTITY, (user_id, caller.channel, key, True, now), "scalar")
    if identity_id is None:  # a first contact made by another worker just now: theirs stands
        yield Statement("DELETE FROM users WHERE id = ?", (user_id,))
        return (yield from caller_plan(caller, now))
    yield from _refresh_plan(int(identity_id), caller, now)
    return Actor(int(user_id), int(identity_id), caller.channel, name, False, False, language=caller.language)


def _lookup_plan(caller: Caller, now: datetime, *, lock: bool) -> Plan[Any]:
    """The caller's identity, person and top staff role, as one row (None: a first contact)."""
    return (
        yield Statement(
            LOOKUP,
            (now - HANDLE_REFRESH, caller.channel, stored_id(caller.channel, caller.external_id)),
            "row",
            lock=" FOR SHARE OF i" if lock else "",
        )
    )


def _current(caller: Caller, found: Any) -> Actor | None:
    """The looked-up caller, unless their identity needs writing (see ``known_actor_plan``)."""
    if found is None or not found[2]:
        return None
    held, fresh = found[1], found[7]
    if caller.handle and (held != _clean_handle(caller.handle) or not fresh):
        return None
    if caller.language and found[8] is None:  # the platform says what they read: keep it
        return None
    return _actor_of(caller.channel, found)


def _actor_of(channel: str, found: Any, language: str | None = None) -> Actor:
    identity_id, _, _, user_id, name, is_gom, top_rank, _, stored = found
    top_role = None if top_rank is None else RANKED[int(top_rank)]
    return Actor(
        user_id,
        identity_id,
        channel,
        name,
        bool(is_gom),
        top_role is not None,
        top_role,
        language=stored or language,
    )


def _refresh_plan(identity_id: int, caller: Caller, now: datetime) -> Plan[None]:
    """They wrote, so they are reachable; a handle is held by one identity per channel (as
    ``_take_handle``), so whoever held it before lets it go."""
    handle = _clean_handle(caller.handle)
    if handle is None:
        yield Statement("UPDATE identities SET reachable = TRUE WHERE id = ?", (identity_id,))
    else:
        params = (identity_id, handle, identity_id, now, identity_id, identity_id, caller.channel, handle)
        yield Statement(TAKE_HANDLE, params)


NEW_USER = (
    "INSERT INTO users (display_name, is_gom, created_at, muted, language) "
    "VALUES (?, ?, ?, ?, ?) RETURNING id"
)
NEW_IDENTITY = (
    "INSERT INTO identities (user_id, channel, external_id, reachable, created_at, kind) "
    "VALUES (?, ?, ?, ?, ?, 'person') ON CONFLICT (channel, external_id) DO NOTHING RETURNING id"
)
# One statement: the caller's identity takes the handle (and is reachable again); any other
# identity on the channel that held it lets it go. NULLIF(x, x) is a NULL of the column's
# type, which PostgreSQL needs to type the parameter beside it.
TAKE_HANDLE = (
    "UPDATE identities SET "
    "handle = CASE WHEN id = ? THEN ? ELSE NULLIF(handle, handle) END, "
    "handle_seen_at = CASE WHEN id = ? THEN ? ELSE NULLIF(handle_seen_at, handle_seen_at) END, "
    "reachable = CASE WHEN id = ? THEN TRUE ELSE reachable END "
    "WHERE id = ? OR (channel = ? AND handle = ?)"
)


async def _identify_in(
    uow: UnitOfWork,
    channel: str,
    external_id: str,
    display_name: str,
    handle: str | None,
    language: str | None = None,
) -> Actor:
    key = stored_id(channel, external_id)
    async with uow:
        identity = await _find_identity(uow, channel, key)
        if identity is None:
            user = User(
                display_name=_clean_name(display_name), is_gom=False, created_at=uow.now, language=language
            )
            uow.session.add(user)
            await uow.session.flush()
            await uow.session.execute(
                insert_ignoring_conflict(
                    uow.session,
                    Identity,
                    {
                        "user_id": user.id,
                        "channel": channel,
                        "external_id": key,
                        "address": sealed_address(channel, external_id),
                        "handle": None,
                        "reachable": True,
                        "created_at": uow.now,
                    },
                    ["channel", "external_id"],
                )
            )
            identity = await _find_identity(uow, channel, key)
            assert identity is not None
            if identity.user_id != user.id:  # a concurrent first contact won the race
                await uow.session.delete(user)
        if handle:
            await _take_handle(uow, identity, _clean_handle(handle))
        identity.reachable = True  # they wrote to us, so we can write back
        if language:
            await uow.session.execute(
                update(User)
                .where(User.id == identity.user_id, User.language.is_(None))
                .values(language=language)
            )
        actor = await _actor_for(uow, identity)
        await uow.commit()
        return actor


LOOKUP = (
    "SELECT i.id, i.handle, i.reachable, u.id, u.display_name, u.is_gom, "
    "(SELECT MIN(CASE s.role WHEN 'owner' THEN 0 WHEN 'manager' THEN 1 ELSE 2 END) "
    "FROM staff s WHERE s.member_id = u.id), "
    "CASE WHEN i.handle_seen_at >= ? THEN 1 ELSE 0 END, u.language "
    "FROM identities i JOIN users u ON u.id = i.user_id WHERE i.channel = ? AND i.external_id = ?"
)


async def _take_handle(uow: UnitOfWork, identity: Identity, handle: str | None) -> None:
    """Record that ``identity`` holds ``handle`` now, and that nobody else on its channel does."""
    if handle is None:
        return
    await uow.session.execute(
        update(Identity)
        .where(Identity.channel == identity.channel, Identity.handle == handle, Identity.id != identity.id)
        .values(handle=None, handle_seen_at=None)
    )
    identity.handle = handle
    identity.handle_seen_at = uow.now


async def register_gom(uow: UnitOfWork, channel: str, external_id: str, display_name: str) -> Actor:
    """Make a person a GOM (an operator's decision: the CLI, or the console chat)."""
    await identify(uow, channel, external_id, display_name)
    async with uow:
        identity = await _find_identity(uow, channel, stored_id(channel, external_id))
        assert identity is not None
        user = await uow.session.get_one(User, identity.user_id)
        if not user.is_gom:
            user.is_gom = True
            uow.session.add(StaffMember(gom_id=user.id, member_id=user.id, role="owner", created_at=uow.now))
            uow.audit(actor_id=None, entity="user", entity_id=user.id, action="gom_registered")
        actor = await _actor_for(uow, identity)
        await uow.commit()
        return actor


async def add_helper(uow: UnitOfWork, gom: Actor, handle: str, role: Role = Role.HELPER) -> str:
    """Let someone administer this GOM's group orders; they must have written to gomflow."""
    require_gom(gom)
    async with uow:
        helper = await _current_holder(uow, gom.channel, handle)
        if helper.id == gom.user_id:
            raise InvalidInput("You already run your own group orders.")
        if not await _add_staff(uow, gom.user_id, helper.id, role):  # a double tap: the unique key decides
            raise Conflict(
                "%(display_name)s is already your helper; /helper role changes their role.",
                display_name=helper.display_name,
            )
        uow.audit(actor_id=gom.user_id, entity="user", entity_id=helper.id, action=f"{role.value}_added")
        await uow.commit()
        return helper.display_name


@dataclass(frozen=True)
class Invite:
    code: str
    expires_at: datetime


async def invite_helper(uow: UnitOfWork, gom: Actor) -> Invite:
    """A one-time code that makes whoever types it this GOM's helper: no handle to misread.

    Only its hash is stored, so the table alone cannot be used to join.
    """
    require_gom(gom)
    raw = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
    async with uow:
        expires_at = uow.now + INVITE_VALID
        uow.session.add(
            StaffInvite(gom_id=gom.user_id, code_hash=_digest(raw), created_at=uow.now, expires_at=expires_at)
        )
        uow.audit(actor_id=gom.user_id, entity="user", entity_id=gom.user_id, action="helper_invited")
        await uow.commit()
    return Invite(f"{raw[:5]}-{raw[5:]}", expires_at)


async def join_staff(uow: UnitOfWork, actor: Actor, code: str) -> str:
    """Become a helper with an invite code; returns the GOM's name.

    The code is spent by one conditional UPDATE, so of two people typing it at once
    exactly one joins; why the other was refused is worked out only afterwards.
    """
    digest = _digest(_clean_code(code))
    async with uow:
        invite = await uow.session.scalar(select(StaffInvite).where(StaffInvite.code_hash == digest))
        if invite is None:
            raise InvalidInput("That invite code is not right; check it, or ask the GOM for a new one.")
        if invite.gom_id == actor.user_id:
            raise InvalidInput("That is your own invite code: give it to the person who will help you.")
        already = await uow.session.scalar(
            select(StaffMember.id).where(
                StaffMember.gom_id == invite.gom_id, StaffMember.member_id == actor.user_id
            )
        )
        gom_name = (await uow.session.get_one(User, invite.gom_id)).display_name
        if already is not None:
            raise Conflict("You already help %(gom_name)s; the code is still unused.", gom_name=gom_name)
        spent = await uow.session.execute(
            update(StaffInvite)
            .where(
                StaffInvite.id == invite.id,
                StaffInvite.used_by.is_(None),
                StaffInvite.expires_at > uow.now,
            )
            .values(used_by=actor.user_id, used_at=uow.now)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            await uow.session.refresh(invite)
            if invite.used_by == actor.user_id:  # a double tap: the other tap joined
                raise Conflict("You already help %(gom_name)s.", gom_name=gom_name)
            if invite.used_by is not None:
                raise Conflict("That invite code has already been used; ask the GOM for a new one.")
            raise InvalidInput("That invite code has expired; ask the GOM for a new one.")
        if not await _add_staff(uow, invite.gom_id, actor.user_id):  # joined with another code meanwhile
            raise Conflict("You already help %(gom_name)s; the code is still unused.", gom_name=gom_name)
        uow.audit(actor_id=actor.user_id, entity="user", entity_id=actor.user_id, action="helper_joined")
        await uow.commit()
        return gom_name


async def _add_staff(uow: UnitOfWork, gom_id: int, member_id: int, role: Role = Role.HELPER) -> bool:
    """Put ``member_id`` on ``gom_id``'s team; False if they already were (no error, no write)."""
    added = await uow.session.execute(
        insert_ignoring_conflict(
            uow.session,
            StaffMember,
            {"gom_id": gom_id, "member_id": member_id, "role": role.value, "created_at": uow.now},
            ["gom_id", "member_id"],
        )
    )
    return bool(added.rowcount == 1)  # type: ignore[attr-defined]


def require_may_open_group_orders(actor: Actor) -> None:
    """Refuse a helper or buyer before any question is asked, not after the last one."""
    if not actor.is_gom:
        raise PermissionDenied(NOT_A_GOM)


async def remove_helper(uow: UnitOfWork, gom: Actor, handle: str) -> str:
    require_gom(gom)
    async with uow:
        helper = await own_team_member(uow, gom, handle)
        result = await uow.session.execute(
            delete(StaffMember).where(
                StaffMember.gom_id == gom.user_id,
                StaffMember.member_id == helper.id,
                StaffMember.role.in_([role.value for role in ASSIGNABLE]),
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput(
                "%(display_name)s is not one of your helpers.", display_name=helper.display_name
            )
        uow.audit(actor_id=gom.user_id, entity="user", entity_id=helper.id, action="helper_removed")
        await uow.commit()
        return helper.display_name


async def is_admin_of(uow: UnitOfWork, actor: Actor, go: GroupOrder) -> bool:
    """Whether ``actor`` is on the team of the GO's GOM, in any role."""
    return await role_on_team(uow, actor.user_id, go.gom_id) is not None


async def role_on_team(uow: UnitOfWork, member_id: int, gom_id: int) -> str | None:
    """The role ``member_id`` holds on ``gom_id``'s team, or None."""
    return await uow.session.scalar(
        select(StaffMember.role).where(StaffMember.gom_id == gom_id, StaffMember.member_id == member_id)
    )


async def require_admin(uow: UnitOfWork, actor: Actor, go: GroupOrder) -> None:
    """Only the GO's own team may administer it, each member as far as their role allows
    what the command being run needs (``actor.acting``, from the command table)."""
    role = await role_on_team(uow, actor.user_id, go.gom_id)
    if role is None:
        raise PermissionDenied("%(code)s is run by another GOM; you cannot manage it.", code=go.code)
    if not grants(role, actor.acting):
        raise PermissionDenied(
            ("Your role on %(code)s's team is %(role)s, and a %(role)s may not %(does)s. Ask the GOM."),
            code=go.code,
            role=role,
            does=DOES[actor.acting],
        )


def require_gom(actor: Actor) -> None:
    if not actor.is_gom:
        raise PermissionDenied("Only a GOM can do that.")


async def _find_identity(uow: UnitOfWork, channel: str, external_id: str) -> Identity | None:
    return await uow.session.scalar(
        select(Identity).where(Identity.channel == channel, Identity.external_id == external_id)
    )


def _is_staff(user_id: SQLColumnExpression[int]) -> Exists:
    return exists().where(StaffMember.member_id == user_id)


async def actor_of_identity(uow: UnitOfWork, identity_id: int) -> Actor:
    """The person behind a stored identity as the chat knows them (a dashboard session's),
    with their roles read afresh: one taken away since sign-in no longer counts."""
    return await _actor_for(uow, await uow.session.get_one(Identity, identity_id))


async def _actor_for(uow: UnitOfWork, identity: Identity) -> Actor:
    user = await uow.session.get_one(User, identity.user_id)
    roles = (
        await uow.session.scalars(select(StaffMember.role).where(StaffMember.member_id == user.id))
    ).all()
    top_role = RANKED[min(rank(role) for role in roles)] if roles else None
    return Actor(
        user_id=user.id,
        identity_id=identity.id,
        channel=identity.channel,
        name=user.display_name,
        is_gom=user.is_gom,
        is_staff=top_role is not None,
        top_role=top_role,
        language=user.language,
    )


async def _current_holder(uow: UnitOfWork, channel: str, handle: str) -> User:
    """The one person who holds ``handle`` now; refuses a handle that may name someone else.

    An exact account id wins; otherwise exactly one person identity must hold the handle,
    and must have written with it within ``HANDLE_FRESH``.
    """
    cleaned = _required_handle(handle)
    by_id = await uow.session.scalar(
        select(Identity).where(
            Identity.channel == channel,
            Identity.external_id == stored_id(channel, cleaned),
            Identity.kind == "person",
        )
    )
    if by_id is not None:
        return await uow.session.get_one(User, by_id.user_id)
    holders = (
        await uow.session.scalars(
            select(Identity)
            .where(Identity.channel == channel, Identity.handle == cleaned, Identity.kind == "person")
            .limit(2)
        )
    ).all()
    if not holders:
        raise UnknownUser(
            (
                "Nobody called @%(cleaned)s has written to gomflow yet; ask them to say /start "
                "first, or send them a code from /helper invite."
            ),
            cleaned=cleaned,
        )
    if len(holders) > 1:
        raise InvalidInput(
            (
                "More than one person has used @%(cleaned)s, so I cannot tell who you mean. "
                "/helper invite gives you a code for your helper to type instead."
            ),
            cleaned=cleaned,
        )
    holder = holders[0]
    if holder.handle_seen_at is None or holder.handle_seen_at < uow.now - HANDLE_FRESH:
        raise InvalidInput(
            (
                "@%(cleaned)s has not written to gomflow lately, and handles change hands, so I "
                "cannot be sure who holds it now. Ask them to message me first, or use /helper "
                "invite."
            ),
            cleaned=cleaned,
        )
    return await uow.session.get_one(User, holder.user_id)


async def own_team_member(uow: UnitOfWork, gom: Actor, handle: str) -> User:
    """One of this GOM's helpers by handle or id, on any platform (a helper who joined with
    an invite may write from another app). Only one's own helpers can match, so removing
    needs no freshness, only a single match."""
    cleaned = _required_handle(handle)
    members = (
        await uow.session.scalars(
            select(User)
            .join(Identity, Identity.user_id == User.id)
            .join(StaffMember, StaffMember.member_id == User.id)
            .where(StaffMember.gom_id == gom.user_id, StaffMember.role.in_([r.value for r in ASSIGNABLE]))
            .where((Identity.handle == cleaned) | Identity.external_id.in_(_any_stored_id(cleaned)))
            .distinct()
        )
    ).all()
    if len(members) > 1:
        raise InvalidInput(
            "More than one of your helpers has used @%(cleaned)s; name them by id.", cleaned=cleaned
        )
    if not members:
        raise InvalidInput("@%(cleaned)s is not one of your helpers.", cleaned=cleaned)
    return members[0]


def _any_stored_id(cleaned: str) -> set[str]:
    """A helper named by id: a platform's id, or a phone number or address (its index)."""
    return {cleaned, stored_id("email", cleaned), stored_id("sms", cleaned)}


def _required_handle(handle: str) -> str:
    cleaned = _clean_handle(handle)
    if not cleaned:
        raise InvalidInput("Name the helper by their handle, e.g. /helper add @bob.")
    return cleaned


def _clean_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


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
            .where(Identity.channel == channel, Identity.external_id == stored_id(channel, external_id))
            .values(reachable=False)
        )
        await uow.commit()
