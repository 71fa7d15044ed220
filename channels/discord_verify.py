"""Discord's answer to "does this GOM control that channel?": their permissions there.

Reads the channel, its server (owner and roles) and the member over the REST API with the
bot token, and computes the member's permissions in the channel as Discord documents it
(base from @everyone and their roles, then the channel's overwrites for @everyone, their
roles and them). Manage Channels, or Administrator, shows control.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from core.verification import Verdict

log = logging.getLogger(__name__)
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
ALL = (1 << 64) - 1


class _Unanswered(Exception):
    """Discord answered neither yes nor no (5xx, 429): try again later."""


class DiscordVerifier:
    """Links a Discord channel only if the GOM may manage it. One HTTP session, reused."""

    def __init__(
        self, token: str, api_base: str = "https://discord.com/api/v10", timeout: float = 15.0
    ) -> None:
        self._token = token
        self._base = api_base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def controls(self, destination: str, member_id: str) -> Verdict:
        """See core.verification.ChannelVerifier; ``destination`` is ``channel:<id>``."""
        channel_id = destination.removeprefix("channel:")
        if not member_id.isdigit():
            return Verdict.no("Write to me on Discord first, so I know which Discord account is yours.")
        try:
            channel = await self._get(f"/channels/{channel_id}")
            if channel is None or not channel.get("guild_id"):
                return Verdict.no(
                    f"I cannot see a server channel {channel_id}. "
                    "Invite me to its server, then link it again."
                )
            guild_id = str(channel["guild_id"])
            guild = await self._get(f"/guilds/{guild_id}")
            member = await self._get(f"/guilds/{guild_id}/members/{member_id}")
        except (aiohttp.ClientError, TimeoutError, _Unanswered) as exc:
            log.warning("Discord permission check for %s failed: %s", channel_id, exc)
            return Verdict.no("I could not ask Discord just now, so nothing was linked. Try again shortly.")
        if guild is None or member is None:
            return Verdict.no(f"Your Discord account is not a member of the server of channel {channel_id}.")
        if not channel_permissions(guild, member, channel, member_id) & (MANAGE_CHANNELS | ADMINISTRATOR):
            return Verdict.no(
                f"Only someone who may manage channel {channel_id} can link it, and Discord says you may not."
            )
        return Verdict.yes()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _get(self, path: str) -> dict[str, Any] | None:
        """The JSON object at ``path``; None if Discord does not know it or hides it from the bot."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers={"Authorization": f"Bot {self._token}", "User-Agent": "DiscordBot (gomflow, 0.1)"},
            )
        async with self._session.get(self._base + path) as response:
            if response.status in (403, 404):
                return None
            if response.status >= 300:
                raise _Unanswered(f"discord: {response.status} on {path}")
            payload = await response.json(content_type=None)
        return payload if isinstance(payload, dict) else None


def channel_permissions(
    guild: dict[str, Any], member: dict[str, Any], channel: dict[str, Any], member_id: str
) -> int:
    """A member's permission bits in one channel, by Discord's documented algorithm."""
    if str(guild.get("owner_id")) == member_id:
        return ALL
    guild_id = str(guild["id"])
    member_roles = {str(r) for r in member.get("roles", [])}
    roles = {str(r["id"]): int(r.get("permissions", 0)) for r in guild.get("roles", [])}
    permissions = roles.get(guild_id, 0)  # @everyone's role has the server's id
    for role_id in member_roles:
        permissions |= roles.get(role_id, 0)
    if permissions & ADMINISTRATOR:
        return ALL
    overwrites = {
        str(o["id"]): (int(o["allow"]), int(o["deny"])) for o in channel.get("permission_overwrites", [])
    }
    if guild_id in overwrites:
        allow, deny = overwrites[guild_id]
        permissions = (permissions & ~deny) | allow
    allow_roles = deny_roles = 0
    for role_id in member_roles:
        allow, deny = overwrites.get(role_id, (0, 0))
        allow_roles |= allow
        deny_roles |= deny
    permissions = (permissions & ~deny_roles) | allow_roles
    if member_id in overwrites:
        allow, deny = overwrites[member_id]
        permissions = (permissions & ~deny) | allow
    return permissions
