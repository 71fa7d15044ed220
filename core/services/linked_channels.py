"""Group chats, channels and mailing lists linked to a GO: announcements go there too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from core.db.models import GroupOrder, Identity, LinkedChannel
from core.errors import Conflict, InvalidInput
from core.lookups import load_go
from core.outbox import NOTICE
from core.services.accounts import Actor, require_admin
from core.uow import UnitOfWork

PLATFORMS = ("telegram", "discord", "email")
_TELEGRAM = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")
_DISCORD = re.compile(r"^(?:channel:|#)?(\d{15,21})$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")


@dataclass(frozen=True)
class LinkedView:
    platform: str
    target: str


def destination_address(platform: str, target: str) -> str:
    """How the outbox addresses a linked destination on ``platform``; refuses what cannot be one."""
    platform = platform.strip().lower()
    target = target.strip()
    if platform == "telegram" and _TELEGRAM.match(target):
        return target
    if platform == "discord" and (match := _DISCORD.match(target)):
        return f"channel:{match.group(1)}"
    if platform == "email" and _EMAIL.match(target):
        return target.lower()
    if platform not in PLATFORMS:
        raise InvalidInput("Link a telegram group or channel, a discord channel, or an email list.")
    examples = {
        "telegram": "-1001234567890 or @mychannel",
        "discord": "a channel id",
        "email": "list@example.com",
    }
    raise InvalidInput(f"'{target[:60]}' is not a {platform} destination; use {examples[platform]}.")


async def link_channel(uow: UnitOfWork, actor: Actor, go_code: str, platform: str, target: str) -> LinkedView:
    address = destination_address(platform, target)
    platform = platform.strip().lower()
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        identity = await uow.session.scalar(
            select(Identity).where(Identity.channel == platform, Identity.external_id == address)
        )
        if identity is None:
            identity = Identity(
                user_id=actor.user_id,
                channel=platform,
                external_id=address,
                handle=None,
                reachable=True,
                created_at=uow.now,
                kind="group",
            )
            uow.session.add(identity)
            await uow.session.flush()
        elif identity.kind != "group":
            raise InvalidInput("That is a person's chat, not a group or channel.")
        already = await uow.session.scalar(
            select(LinkedChannel.id).where(
                LinkedChannel.go_id == go.id, LinkedChannel.identity_id == identity.id
            )
        )
        if already is not None:
            raise Conflict(f"{platform} {target.strip()} is already linked to {go.code}.")
        identity.reachable = True  # linking again is how a GOM says the bot is back in the group
        uow.session.add(LinkedChannel(go_id=go.id, identity_id=identity.id, created_at=uow.now))
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="channel_linked",
            detail=f"{platform} {address}",
        )
        await uow.commit()
        return LinkedView(platform, address)


async def unlink_channel(
    uow: UnitOfWork, actor: Actor, go_code: str, platform: str, target: str
) -> LinkedView:
    address = destination_address(platform, target)
    platform = platform.strip().lower()
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        identity_id = await uow.session.scalar(
            select(Identity.id).where(Identity.channel == platform, Identity.external_id == address)
        )
        result = await uow.session.execute(
            delete(LinkedChannel).where(
                LinkedChannel.go_id == go.id, LinkedChannel.identity_id == identity_id
            )
        )
        if identity_id is None or result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput(f"{platform} {target.strip()} is not linked to {go.code}.")
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
        rows = await _linked(uow, go)
        return [LinkedView(channel, address) for _, channel, address in rows]


async def _linked(uow: UnitOfWork, go: GroupOrder) -> list[tuple[int, str, str]]:
    rows = await uow.session.execute(
        select(Identity.id, Identity.channel, Identity.external_id)
        .join(LinkedChannel, LinkedChannel.identity_id == Identity.id)
        .where(LinkedChannel.go_id == go.id)
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
