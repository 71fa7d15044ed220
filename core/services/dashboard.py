"""Signing in to the web dashboard: a one-time link the bot sends, and the session it opens.

No passwords: whoever can read a GOM's (or helper's) private chat with the bot can sign in
as them, as they can already run every command there. The link only shows a button; the
session starts when it is pressed (a POST), so a link preview or a mail scanner fetching the
link uses nothing up. Only digests of the tokens are stored. What a session may see and do
is never decided here: each page calls the chat commands' own services with the person's
``Actor``, so the team roles, the per-GO checks and the audit are theirs.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.db.models import DashboardSignIn, Identity, User
from core.errors import NotFound, NotSignedIn, PermissionDenied, SignInLinkSpent
from core.services.accounts import Actor, actor_of_identity
from core.uow import UnitOfWork
from core.when import local_text

SIGN_IN_ROUTE = "/dashboard/sign-in/"
LINK_VALID = timedelta(minutes=15)  # long enough to open it, short enough that an old chat is no key
SESSION_VALID = timedelta(hours=8)  # a working day; then the bot is asked again
MAX_TOKEN = 100  # a token we issue is 43 characters; anything much longer is not ours


def digest(token: str) -> str:
    return hashlib.sha256(token[:MAX_TOKEN].encode()).hexdigest()


@dataclass(frozen=True)
class SignInLink:
    url: str
    expires_at: datetime


async def send_sign_in_link(uow: UnitOfWork, actor: Actor, public_base_url: str) -> SignInLink:
    """``/dashboard``: a fresh one-time link for a GOM or a member of a GOM's team."""
    if not actor.may_administer:
        raise PermissionDenied("The dashboard is for GOMs and their teams.")
    token = secrets.token_urlsafe(32)
    async with uow:
        expires_at = uow.now + LINK_VALID
        uow.session.add(
            DashboardSignIn(
                user_id=actor.user_id,
                identity_id=actor.identity_id,
                link_hash=digest(token),
                created_at=uow.now,
                link_expires_at=expires_at,
            )
        )
        await uow.commit()
    return SignInLink(public_base_url.rstrip("/") + SIGN_IN_ROUTE + token, expires_at)


@dataclass(frozen=True)
class SignInOffer:
    """What the link's page shows before its button is pressed: whose sign-in it is."""

    name: str
    language: str | None


async def sign_in_offer(uow: UnitOfWork, token: str) -> SignInOffer:
    async with uow:
        row = await _link(uow, token)
        user = await uow.session.get_one(User, row.user_id)
        return SignInOffer(user.display_name, user.language)


@dataclass(frozen=True)
class Session:
    token: str  # for the cookie; only its digest is stored
    expires_at: datetime


async def sign_in(uow: UnitOfWork, token: str, timezone: str) -> Session:
    """Spend the link on a new session. Of two presses at once, one opens a session and the
    other is told the link was used: the spending is one compare-and-set. The person is
    told in their chat, so a link that reached someone else does not go unnoticed."""
    session = secrets.token_urlsafe(32)
    async with uow:
        row = await _link(uow, token)
        expires_at = uow.now + SESSION_VALID
        spent = await uow.session.execute(
            update(DashboardSignIn)
            .where(
                DashboardSignIn.id == row.id,
                DashboardSignIn.used_at.is_(None),
                DashboardSignIn.link_expires_at > uow.now,  # not spent by /dashboard signout meanwhile
            )
            .values(used_at=uow.now, session_hash=digest(session), session_expires_at=expires_at)
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            raise _spent()
        uow.audit(actor_id=row.user_id, entity="user", entity_id=row.user_id, action="dashboard_signed_in")
        await uow.notify_user(
            row.user_id,
            "dashboard_signed_in",
            {"until": local_text(expires_at, timezone)},
            dedupe_key=f"dashboard-signed-in:{row.id}",
            prefer_channel=await uow.session.scalar(
                select(Identity.channel).where(Identity.id == row.identity_id)
            ),
        )
        await uow.commit()
    return Session(session, expires_at)


async def sign_out_everywhere(uow: UnitOfWork, actor: Actor) -> int:
    """``/dashboard signout``: end every session of this person and spend their unused
    links; how many sessions were open."""
    async with uow:
        ended = await uow.session.execute(
            update(DashboardSignIn)
            .where(DashboardSignIn.user_id == actor.user_id, DashboardSignIn.session_expires_at > uow.now)
            .values(session_expires_at=uow.now)
            .execution_options(synchronize_session=False)
        )
        await uow.session.execute(
            update(DashboardSignIn)
            .where(
                DashboardSignIn.user_id == actor.user_id,
                DashboardSignIn.used_at.is_(None),
                DashboardSignIn.link_expires_at > uow.now,
            )
            .values(link_expires_at=uow.now)
            .execution_options(synchronize_session=False)
        )
        uow.audit(
            actor_id=actor.user_id, entity="user", entity_id=actor.user_id, action="dashboard_signed_out"
        )
        await uow.commit()
        return int(ended.rowcount)  # type: ignore[attr-defined]


async def signed_in_actor(uow: UnitOfWork, session: str | None) -> Actor:
    """Who a session's cookie belongs to, as long as it lasts."""
    if not session:
        raise NotSignedIn("Sign in with the link the bot sends you: send /dashboard to the bot.")
    async with uow:
        row = await uow.session.scalar(
            select(DashboardSignIn).where(DashboardSignIn.session_hash == digest(session))
        )
        if row is None or row.session_expires_at is None or row.session_expires_at <= uow.now:
            raise NotSignedIn(
                "Your dashboard session has ended. Send /dashboard to the bot for a new sign-in link."
            )
        return await actor_of_identity(uow, row.identity_id)


async def sign_out(uow: UnitOfWork, session: str) -> None:
    async with uow:
        await uow.session.execute(
            update(DashboardSignIn)
            .where(
                DashboardSignIn.session_hash == digest(session), DashboardSignIn.session_expires_at > uow.now
            )
            .values(session_expires_at=uow.now)
            .execution_options(synchronize_session=False)
        )
        await uow.commit()


async def _link(uow: UnitOfWork, token: str) -> DashboardSignIn:
    row = await uow.session.scalar(select(DashboardSignIn).where(DashboardSignIn.link_hash == digest(token)))
    if row is None:
        raise NotFound("This sign-in link is not one of ours. Send /dashboard to the bot for a new one.")
    if row.used_at is not None or row.link_expires_at <= uow.now:
        raise _spent()
    return row


def _spent() -> SignInLinkSpent:
    return SignInLinkSpent(
        "This sign-in link was used already or has expired: each link signs in once, within "
        "15 minutes. Send /dashboard to the bot for a new one."
    )
