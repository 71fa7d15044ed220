"""``gomflow discord sync``: publish the command table as slash commands, on request.

Discord keeps application commands between starts, so gomflow does not re-sync at every
start; an operator syncs after an upgrade that changed commands (``--guild`` for one server,
which shows at once, while global commands may take a while to appear).
"""

from __future__ import annotations

import discord

from bots.discord.adapter import point_at
from bots.discord.slash import Translate, command_payloads


async def sync_commands(
    token: str, api_base: str, guild_id: int | None = None, translate: Translate | None = None
) -> int:
    """Replace the application's commands with the table's (described in each language
    ``translate`` gives); returns how many were synced."""
    point_at(api_base)
    client = discord.Client(intents=discord.Intents.none())
    async with client:
        await client.login(token)
        application = client.application_id
        assert application is not None, "Discord did not say which application this bot is"
        payload = command_payloads(translate)
        if guild_id is None:
            synced = await client.http.bulk_upsert_global_commands(application, payload)
        else:
            synced = await client.http.bulk_upsert_guild_commands(application, guild_id, payload)
    return len(synced)
