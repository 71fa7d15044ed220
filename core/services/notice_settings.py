"""What a GOM or helper chooses to hear: the digest's hour, a helper's opt-in, muted GOs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select

from core.db.models import GroupOrder, NoticeMute, NoticePreference
from core.db.upsert import insert_ignoring_conflict
from core.errors import InvalidInput, PermissionDenied
from core.lookups import load_go
from core.services.accounts import Actor, require_admin
from core.uow import UnitOfWork
from core.when import zone

DEFAULT_DIGEST_HOUR = 9
_HOUR = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")
NOT_STAFF = "Notices are for GOMs and their helpers."


@dataclass(frozen=True)
class NoticeSettings:
    digest_hour: int | None  # None: no digest
    timezone: str | None  # None: the newest GO's
    helper_opt_in: bool
    is_gom: bool
    muted: tuple[str, ...]  # GO codes


def parse_hour(text: str) -> int:
    """``9``, ``09:00`` or ``21:00`` → the hour; the digest goes out on the hour."""
    match = _HOUR.match(text.strip())
    if not match or int(match.group(1)) > 23 or (match.group(2) or "00") != "00":
        raise InvalidInput(
            "'%(text)s' is not an hour; write it like 09:00 or 21:00 (on the hour).", text=text[:20]
        )
    return int(match.group(1))


async def preference(uow: UnitOfWork, user_id: int) -> NoticePreference | None:
    return await uow.session.get(NoticePreference, user_id)


async def show(uow: UnitOfWork, actor: Actor) -> NoticeSettings:
    _require_staff(actor)
    async with uow:
        pref = await preference(uow, actor.user_id)
        muted = await uow.session.scalars(
            select(GroupOrder.code)
            .join(NoticeMute, NoticeMute.go_id == GroupOrder.id)
            .where(NoticeMute.user_id == actor.user_id)
            .order_by(GroupOrder.code)
        )
        return NoticeSettings(
            digest_hour=pref.digest_hour if pref is not None else DEFAULT_DIGEST_HOUR,
            timezone=pref.timezone if pref is not None else None,
            helper_opt_in=pref is not None and pref.helper_opt_in,
            is_gom=actor.is_gom,
            muted=tuple(muted.all()),
        )


async def set_digest(
    uow: UnitOfWork, actor: Actor, hour: int | None, timezone: str | None = None
) -> NoticeSettings:
    """The digest at ``hour`` (local, in ``timezone`` if given), or none when ``hour`` is None."""
    _require_staff(actor)
    if timezone is not None:
        zone(timezone)
        timezone = timezone.strip()
    async with uow:
        pref = await _own_preference(uow, actor)
        pref.digest_hour = hour
        if timezone is not None:
            pref.timezone = timezone
        pref.updated_at = uow.now
        await uow.commit()
    return await show(uow, actor)


async def set_helper_opt_in(uow: UnitOfWork, actor: Actor, on: bool) -> NoticeSettings:
    """A helper asks to be told what the GOM is told (or stops)."""
    _require_staff(actor)
    async with uow:
        pref = await _own_preference(uow, actor)
        pref.helper_opt_in = on
        pref.updated_at = uow.now
        await uow.commit()
    return await show(uow, actor)


async def mute_go(uow: UnitOfWork, actor: Actor, go_code: str, muted: bool) -> NoticeSettings:
    """No more notices or digest lines about one GO for this person (or again, when unmuted)."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        if muted:
            await uow.session.execute(
                insert_ignoring_conflict(
                    uow.session,
                    NoticeMute,
                    {"user_id": actor.user_id, "go_id": go.id, "created_at": uow.now},
                    ["user_id", "go_id"],
                )
            )
        else:
            await uow.session.execute(
                delete(NoticeMute).where(NoticeMute.user_id == actor.user_id, NoticeMute.go_id == go.id)
            )
        await uow.commit()
    return await show(uow, actor)


async def _own_preference(uow: UnitOfWork, actor: Actor) -> NoticePreference:
    """The person's row, made with the defaults if they had none (a double tap makes one)."""
    await uow.session.execute(
        insert_ignoring_conflict(
            uow.session,
            NoticePreference,
            {
                "user_id": actor.user_id,
                "digest_hour": DEFAULT_DIGEST_HOUR,
                "helper_opt_in": False,
                "updated_at": uow.now,
            },
            ["user_id"],
        )
    )
    return await uow.session.get_one(
        NoticePreference, actor.user_id, with_for_update=True, populate_existing=True
    )


def _require_staff(actor: Actor) -> None:
    if not actor.may_administer:
        raise PermissionDenied(NOT_STAFF)
