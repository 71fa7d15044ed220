"""Buyers mute promotional broadcasts; messages about their own orders always go."""

from __future__ import annotations

from sqlalchemy import select, update

from core.db.models import Identity, User
from core.privacy.identities import stored_id
from core.services.accounts import Actor
from core.uow import UnitOfWork

# Carrier-standard opt-out and opt-in keywords for SMS.
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"}
START_WORDS = {"START", "UNSTOP", "YES", "OPTIN"}


async def set_muted(uow: UnitOfWork, actor: Actor, muted: bool) -> None:
    async with uow:
        await uow.session.execute(update(User).where(User.id == actor.user_id).values(muted=muted))
        uow.audit(
            actor_id=actor.user_id,
            entity="user",
            entity_id=actor.user_id,
            action="muted" if muted else "unmuted",
        )
        await uow.commit()


async def sms_keyword(uow: UnitOfWork, channel: str, external_id: str, text: str) -> bool | None:
    """An SMS or WhatsApp opt-out keyword (``STOP``) mutes the sender, ``START`` unmutes.

    Returns the new muted state, or None when the text is no such keyword (or the number
    is unknown). The SMS adapter calls this before treating the text as a command.
    """
    word = text.strip().upper().rstrip(".!")
    if word not in STOP_WORDS | START_WORDS:
        return None
    muted = word in STOP_WORDS
    async with uow:
        user_id = await uow.session.scalar(
            select(Identity.user_id).where(
                Identity.channel == channel, Identity.external_id == stored_id(channel, external_id)
            )
        )
        if user_id is None:
            return None
        await uow.session.execute(update(User).where(User.id == user_id).values(muted=muted))
        uow.audit(
            actor_id=user_id,
            entity="user",
            entity_id=user_id,
            action="muted" if muted else "unmuted",
            detail=f"{channel} keyword {word}",
        )
        await uow.commit()
        return muted
