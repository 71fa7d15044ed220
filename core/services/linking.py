"""One buyer across every chat app: link codes, joining identities, parting them again.

A person's identities (a Telegram account, an email address, a phone number) all point at
one ``User``, so the per-buyer limit, the order history and staff rights are the person's,
whichever app they write from. ``/link`` gives a short one-time code; typing it in another
app moves that app's person (identities, orders, quotas, waitlist places, proofs, staff
rights, group orders) onto the code's owner in one transaction. ``/unlink`` gives the
identity it is typed from a person of its own again, taking the orders placed from its app.

Codes are stored only as their SHA-256, spent by one conditional UPDATE (of two people
typing one code at once exactly one joins), and guarded against guessing: every code typed
first takes a try from the typist's window (``MAX_TRIES`` per ``TRY_WINDOW``), in its own
committed statement, so a wrong guess is counted even though the join is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import (
    Identity,
    LinkCode,
    LinkTries,
    User,
)
from core.errors import Conflict, InvalidInput
from core.render import N_
from core.services import people
from core.services.accounts import Actor
from core.uow import UnitOfWork

CODE_VALID = timedelta(minutes=10)
# Typed by hand: no 0/O, 1/I/L. 8 of 31 symbols ≈ 40 bits, against 5 tries per 10 minutes.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
MAX_TRIES = 5
TRY_WINDOW = timedelta(minutes=10)
WRONG = "That link code is not right. Type /link in your other app for a new one."
EXPIRED = N_("That link code has expired (they last 10 minutes). Type /link in your other app for a new one.")
USED = N_("That link code has already been used. Type /link in your other app for a new one.")
UowFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class LinkInvite:
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class Linked:
    name: str  # the person's name, as the code's owner is known
    channels: list[str]  # every app the person now writes from


async def new_code(uow: UnitOfWork, actor: Actor) -> LinkInvite:
    """A code to type in another app; any earlier unused code of this person stops working."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    async with uow:
        await uow.session.execute(
            delete(LinkCode).where(LinkCode.user_id == actor.user_id, LinkCode.used_at.is_(None))
        )
        expires_at = uow.now + CODE_VALID
        uow.session.add(
            LinkCode(user_id=actor.user_id, code_hash=_digest(raw), created_at=uow.now, expires_at=expires_at)
        )
        await uow.commit()
    return LinkInvite(f"{raw[:4]}-{raw[4:]}", expires_at)


async def link(make_uow: UowFactory, actor: Actor, code: str) -> Linked:
    """Join the identity ``actor`` writes from (and everything of its person) to the person
    whose code this is. A wrong, used or expired code says only that."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    if not cleaned:
        raise InvalidInput("Type the code from your other app, e.g. /link K7QM-3XWP.")
    await _take_try(make_uow(), actor.user_id)
    async with make_uow() as uow:
        found = await uow.session.scalar(select(LinkCode).where(LinkCode.code_hash == _digest(cleaned)))
        if found is None:
            raise InvalidInput(WRONG)
        if found.user_id == actor.user_id:
            raise InvalidInput("You are already linked there: type this code in your other app.")
        spent = await uow.session.execute(
            update(LinkCode)
            .where(LinkCode.id == found.id, LinkCode.used_at.is_(None), LinkCode.expires_at > uow.now)
            .values(used_at=uow.now)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput(USED if found.used_at is not None or await _used(uow, found.id) else EXPIRED)
        keep, gone = found.user_id, actor.user_id
        await people.lock_people(uow, keep, gone)
        still = await uow.session.scalar(select(Identity.user_id).where(Identity.id == actor.identity_id))
        if still != gone:  # linked elsewhere meanwhile
            raise Conflict("This account was just linked another way; nothing was changed.")
        await people.move_person(uow, keep, gone)
        uow.audit(
            actor_id=keep, entity="user", entity_id=keep, action="identity_linked", detail=actor.channel
        )
        await uow.commit()
        return await _linked(uow, keep)


async def unlink(uow: UnitOfWork, actor: Actor, channel: str | None = None) -> str:
    """Part one identity (the one written from, or the person's only one on ``channel``) from
    the person: it gets a person of its own, with the orders placed from its app (when the
    person has no other identity there). Returns the channel parted."""
    async with uow:
        await people.lock_people(uow, actor.user_id)
        mine = list(await uow.session.scalars(select(Identity).where(Identity.user_id == actor.user_id)))
        if len(mine) < 2:
            raise InvalidInput("This account is not linked to any other; nothing to unlink.")
        leaving = _leaving(mine, actor, channel)
        stays = [i for i in mine if i.id != leaving.id]
        person = await uow.session.get_one(User, actor.user_id)
        own = User(display_name=person.display_name, is_gom=False, created_at=uow.now)
        uow.session.add(own)
        await uow.session.flush()
        leaving.user_id = own.id
        await uow.session.flush()  # the identity first: an order being written from it is waited for
        if not any(i.channel == leaving.channel for i in stays):
            await people.move_orders_of_channel(uow, actor.user_id, own.id, leaving.channel)
        uow.audit(
            actor_id=actor.user_id,
            entity="user",
            entity_id=own.id,
            action="identity_unlinked",
            detail=leaving.channel,
        )
        await uow.commit()
        return leaving.channel


async def linked_channels(uow: UnitOfWork, actor: Actor) -> list[str]:
    """Every app this person writes from, in the order they were first used."""
    async with uow:
        return list(
            await uow.session.scalars(
                select(Identity.channel)
                .where(Identity.user_id == actor.user_id, Identity.kind == "person")
                .order_by(Identity.id)
            )
        )


async def prefer(uow: UnitOfWork, actor: Actor, channel: str | None) -> tuple[str | None, list[str]]:
    """Choose the app notifications go to first (None: where the order was placed); it must
    be one the person writes from. Returns the choice and the person's apps."""
    async with uow:
        channels = list(
            dict.fromkeys(
                await uow.session.scalars(
                    select(Identity.channel)
                    .where(Identity.user_id == actor.user_id, Identity.kind == "person")
                    .order_by(Identity.id)
                )
            )
        )
        wanted = channel.strip().lower() if channel else None
        if wanted is not None and wanted not in channels:
            raise InvalidInput(
                ("You have no %(wanted)s account linked; your apps: %(channels)s. Send /link there first."),
                wanted=wanted[:20],
                channels=", ".join(channels),
            )
        if wanted is not None:
            await uow.session.execute(
                update(User).where(User.id == actor.user_id).values(preferred_channel=wanted)
            )
            await uow.commit()
        else:
            wanted = await uow.session.scalar(select(User.preferred_channel).where(User.id == actor.user_id))
        return wanted, channels


def _leaving(mine: list[Identity], actor: Actor, channel: str | None) -> Identity:
    if channel is None:
        return next(i for i in mine if i.id == actor.identity_id)
    wanted = channel.strip().lower()
    if actor.channel == wanted:
        return next(i for i in mine if i.id == actor.identity_id)
    there = [i for i in mine if i.channel == wanted]
    if not there:
        raise InvalidInput("You have no linked %(wanted)s account.", wanted=wanted)
    if len(there) > 1:
        raise InvalidInput(
            ("You have more than one linked %(wanted)s account; type /unlink from the one to part."),
            wanted=wanted,
        )
    return there[0]


# --- the guard against guessing -------------------------------------------------------------


async def _take_try(uow: UnitOfWork, user_id: int) -> None:
    """Count one code typed, in its own commit; refuse once the window's tries are spent.

    One conditional upsert: a new window starts when the old one is over, otherwise the
    count goes up only while it is under ``MAX_TRIES``, so concurrent guesses cannot all
    slip through between a read and a write.
    """
    async with uow:
        dialect = uow.session.bind.dialect.name if uow.session.bind is not None else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        until = uow.now + TRY_WINDOW
        over = LinkTries.window_until <= uow.now
        fresh = insert(LinkTries).values(user_id=user_id, tries=1, window_until=until)
        statement = fresh.on_conflict_do_update(
            index_elements=["user_id"],
            set_={
                "tries": case((over, 1), else_=LinkTries.tries + 1),
                "window_until": case((over, until), else_=LinkTries.window_until),
            },
            where=over | (LinkTries.tries < MAX_TRIES),
        ).returning(LinkTries.tries)
        taken = (await uow.session.execute(statement)).scalar()
        if taken is None:
            window = await uow.session.scalar(
                select(LinkTries.window_until).where(LinkTries.user_id == user_id)
            )
            minutes = max(1, round(((window or until) - uow.now).total_seconds() / 60))
            raise InvalidInput(
                ("Too many link codes tried. Please wait %(minutes)s minutes, then type the newest code."),
                minutes=minutes,
            )
        await uow.commit()


async def _used(uow: UnitOfWork, code_id: int) -> bool:
    return (await uow.session.scalar(select(LinkCode.used_at).where(LinkCode.id == code_id))) is not None


async def _linked(uow: UnitOfWork, user_id: int) -> Linked:
    user = await uow.session.get_one(User, user_id)
    channels = list(
        await uow.session.scalars(
            select(Identity.channel)
            .where(Identity.user_id == user_id, Identity.kind == "person")
            .order_by(Identity.id)
        )
    )
    return Linked(user.display_name, channels)


def _digest(text: str) -> str:
    return hashlib.sha256(b"gomflow-link:" + text.encode()).hexdigest()
