"""Group chats, channels and mailing lists linked to a GO: announcements go there too.

Nobody may point gomflow at a chat or inbox they do not control: a Telegram chat or
Discord channel is linked only after the platform confirms the GOM administers it (a
``ChannelVerifier`` per platform, filled in by the composition root), and an email
address only once someone opens the one-time link sent to it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from core.db.models import GroupOrder, Identity, LinkedChannel
from core.db.upsert import insert_ignoring_conflict
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.lookups import load_go
from core.outbox import NOTICE
from core.privacy.identities import reach, sealed_address, stored_id
from core.services.accounts import Actor, require_admin
from core.uow import UnitOfWork
from core.verification import ChannelVerifier, LinkTarget

CONFIRMED = "confirmed"
PENDING = "pending"
CONFIRM_VALID = timedelta(days=3)
CONFIRM_ROUTE = "/links/confirm/"


@dataclass(frozen=True)
class LinkedView:
    platform: str
    target: str
    pending: bool = False  # waiting for its confirmation link to be opened


def destination_address(targets: Mapping[str, LinkTarget], platform: str, target: str) -> str:
    """How the outbox addresses a linked destination on ``platform``; refuses what cannot be one."""
    platform, target = platform.strip().lower(), target.strip()
    kind = targets.get(platform)
    if kind is None:
        named = ", ".join(sorted(targets)) or "nothing"
        raise InvalidInput("A GO can be linked to a group, channel or list on: %(named)s.", named=named)
    address = kind.parse(target)
    if address is None:
        raise InvalidInput(
            "'%(target)s' is not a %(platform)s destination; use %(example)s.",
            target=target[:60],
            platform=platform,
            example=kind.example,
        )
    return address


async def link_channel(
    uow: UnitOfWork,
    actor: Actor,
    go_code: str,
    platform: str,
    target: str,
    *,
    targets: Mapping[str, LinkTarget],
    verifiers: Mapping[str, ChannelVerifier],
    public_base_url: str,
) -> LinkedView:
    """Link a destination the actor controls; an email address is linked pending its link.

    The platform is asked between two transactions (never inside one), and a refusal
    leaves nothing written.
    """
    address = destination_address(targets, platform, target)
    platform = platform.strip().lower()
    by_mail = targets[platform].by_mail
    verifier = verifiers.get(platform)
    if not by_mail and verifier is None:
        raise PermissionDenied(
            (
                "gomflow is not connected to %(platform)s here, so it cannot check that "
                "%(address)s is yours; nothing was linked."
            ),
            platform=platform,
            address=address,
        )
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        member_id = None if by_mail else await _own_account(uow, actor, platform)
    if member_id is not None and verifier is not None:
        verdict = await verifier.controls(address, member_id)
        if not verdict.ok:
            raise PermissionDenied(verdict.reason)
        address = verdict.address or address
    token = secrets.token_urlsafe(24) if by_mail else None
    async with uow:
        go = await load_go(uow, go.code)
        identity = await _group_identity(uow, actor, platform, address)
        # A double tap, or two helpers at once: the unique key settles who creates the link.
        created = await uow.session.execute(
            insert_ignoring_conflict(
                uow.session,
                LinkedChannel,
                {
                    "go_id": go.id,
                    "identity_id": identity.id,
                    "created_at": uow.now,
                    "status": CONFIRMED if token is None else PENDING,
                },
                ["go_id", "identity_id"],
            )
        )
        link = await uow.session.scalar(
            select(LinkedChannel).where(
                LinkedChannel.go_id == go.id, LinkedChannel.identity_id == identity.id
            )
        )
        assert link is not None
        if created.rowcount != 1 and (link.status == CONFIRMED or token is None):  # type: ignore[attr-defined]
            raise Conflict(
                "%(platform)s %(strip)s is already linked to %(code)s.",
                platform=platform,
                strip=target.strip(),
                code=go.code,
            )
        identity.reachable = True  # linking again is how a GOM says the bot is back in the group
        if token is not None:
            link.confirm_hash = _digest(token)
            link.confirm_expires_at = uow.now + CONFIRM_VALID
            await uow.notify(
                identity.id,
                "link_confirm",
                {
                    "code": go.code,
                    "title": go.title,
                    "gom": actor.name,
                    "url": public_base_url.rstrip("/") + CONFIRM_ROUTE + token,
                    "days": CONFIRM_VALID.days,
                },
                dedupe_key=f"link-confirm:{link.id}:{link.confirm_hash[:16]}",
            )
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="channel_linked" if token is None else "channel_link_requested",
            detail=f"{platform} {address}",
        )
        await uow.commit()
        return LinkedView(platform, address, pending=token is not None)


async def pending_link(uow: UnitOfWork, token: str) -> tuple[str, str, LinkedView]:
    """What a confirmation link would confirm: the GO's code and title, and the address.

    Only reads: opening the link shows this and asks; it takes a deliberate press to confirm.
    """
    async with uow:
        link, identity, go = await _by_token(uow, token)
        view = LinkedView(identity.channel, _reach(identity), pending=link.status == PENDING)
        expires = link.confirm_expires_at
        if view.pending and (expires is None or expires <= uow.now):
            raise InvalidInput(_expired(go.code))
        return go.code, go.title, view


async def confirm_link(uow: UnitOfWork, token: str) -> tuple[str, LinkedView]:
    """Someone opened an email's confirmation link: the address now gets the GO's news.

    One conditional UPDATE spends the token; returns the GO's code and the destination.
    Opening the link again after it worked says so rather than failing.
    """
    async with uow:
        link, identity, go = await _by_token(uow, token)
        view = LinkedView(identity.channel, _reach(identity))
        if link.status == CONFIRMED:
            return go.code, view
        confirmed = await uow.session.execute(
            update(LinkedChannel)
            .where(
                LinkedChannel.id == link.id,
                LinkedChannel.status == PENDING,
                LinkedChannel.confirm_expires_at > uow.now,
            )
            .values(status=CONFIRMED)
        )
        if confirmed.rowcount != 1:  # type: ignore[attr-defined]
            await uow.session.refresh(link)
            if link.status == CONFIRMED:  # opened twice at once: the other one did it
                return go.code, view
            raise InvalidInput(_expired(go.code))
        uow.audit(
            actor_id=None,
            entity="group_order",
            entity_id=go.id,
            action="channel_linked",
            detail=f"{identity.channel} {_reach(identity)}",
        )
        await uow.commit()
        return go.code, view


async def _by_token(uow: UnitOfWork, token: str) -> tuple[LinkedChannel, Identity, GroupOrder]:
    digest = _digest(token.strip())
    link = await uow.session.scalar(select(LinkedChannel).where(LinkedChannel.confirm_hash == digest))
    if link is None:
        raise NotFound("This confirmation link is not valid (or was replaced by a newer one).")
    identity = await uow.session.get_one(Identity, link.identity_id)
    go = await uow.session.get_one(GroupOrder, link.go_id)
    return link, identity, go


def _reach(identity: Identity) -> str:
    return reach(identity.external_id, identity.address)


def _expired(code: str) -> str:
    return f"This confirmation link has expired. Ask the GOM to run /linkchannel {code} again."


async def _own_account(uow: UnitOfWork, actor: Actor, platform: str) -> str:
    """The actor's own account id on ``platform``: whose control the platform is asked about."""
    mine = await uow.session.scalar(
        select(Identity)
        .where(Identity.user_id == actor.user_id, Identity.channel == platform, Identity.kind == "person")
        .order_by(Identity.id)
        .limit(1)
    )
    if mine is None:
        raise PermissionDenied(
            (
                "Write to me on %(platform)s first (say /start there), so I know which "
                "%(platform)s account is yours and can check that you run that chat."
            ),
            platform=platform,
        )
    return _reach(mine)


async def _group_identity(uow: UnitOfWork, actor: Actor, platform: str, address: str) -> Identity:
    """The destination's identity, made on first link; two links at once make it once."""
    await uow.session.execute(
        insert_ignoring_conflict(
            uow.session,
            Identity,
            {
                "user_id": actor.user_id,
                "channel": platform,
                "external_id": stored_id(platform, address),
                "address": sealed_address(platform, address),
                "handle": None,
                "reachable": True,
                "created_at": uow.now,
                "kind": "group",
            },
            ["channel", "external_id"],
        )
    )
    identity = await uow.session.scalar(
        select(Identity).where(
            Identity.channel == platform, Identity.external_id == stored_id(platform, address)
        )
    )
    assert identity is not None
    if identity.kind != "group":
        raise InvalidInput("That is a person's chat, not a group or channel.")
    return identity


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def unlink_channel(
    uow: UnitOfWork,
    actor: Actor,
    go_code: str,
    platform: str,
    target: str,
    *,
    targets: Mapping[str, LinkTarget],
) -> LinkedView:
    address = destination_address(targets, platform, target)
    platform = platform.strip().lower()
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        identity_id = await uow.session.scalar(
            select(Identity.id).where(
                Identity.channel == platform, Identity.external_id == stored_id(platform, address)
            )
        )
        result = await uow.session.execute(
            delete(LinkedChannel).where(
                LinkedChannel.go_id == go.id, LinkedChannel.identity_id == identity_id
            )
        )
        if identity_id is None or result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput(
                "%(platform)s %(strip)s is not linked to %(code)s.",
                platform=platform,
                strip=target.strip(),
                code=go.code,
            )
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="channel_unlinked",
            detail=f"{platform} {address}",
        )
        await uow.commit()
        return LinkedView(platform, address)


async def list_channels(uow: UnitOfWork, actor: Actor, go_code: str) -> list[LinkedView]:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        rows = await uow.session.execute(
            select(Identity.channel, Identity.external_id, Identity.address, LinkedChannel.status)
            .join(LinkedChannel, LinkedChannel.identity_id == Identity.id)
            .where(LinkedChannel.go_id == go.id)
            .order_by(LinkedChannel.id)
        )
        return [
            LinkedView(channel, reach(external_id, address), status == PENDING)
            for channel, external_id, address, status in rows.all()
        ]


async def _linked(uow: UnitOfWork, go: GroupOrder) -> list[tuple[int, str, str]]:
    """Confirmed destinations only: a pending email address gets nothing but its link."""
    rows = await uow.session.execute(
        select(Identity.id, Identity.channel, Identity.external_id)
        .join(LinkedChannel, LinkedChannel.identity_id == Identity.id)
        .where(LinkedChannel.go_id == go.id, LinkedChannel.status == CONFIRMED)
        .order_by(LinkedChannel.id)
    )
    return [(i, c, a) for i, c, a in rows.all()]


async def notify_linked(
    uow: UnitOfWork,
    go: GroupOrder,
    template: str,
    context: dict[str, Any],
    *,
    dedupe: str,
    priority: int = NOTICE,
) -> int:
    """Queue one announcement per linked destination; the dedupe key makes a repeat a no-op."""
    rows = await _linked(uow, go)
    for identity_id, _, _ in rows:
        await uow.notify(
            identity_id, template, context, dedupe_key=f"{dedupe}:{identity_id}", priority=priority
        )
    return len(rows)
