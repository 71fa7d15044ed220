"""Telegram's answer to "does this GOM control that chat?": getChatMember for both of us.

The chat is resolved to its numeric id first (getChat), and that id is what gets linked:
a public @username can later be given to another chat.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, ChatMember
from telegram.error import BadRequest, Forbidden, TelegramError

from core.config import TelegramSettings
from core.verification import Verdict

log = logging.getLogger(__name__)
ADMINS = {ChatMember.OWNER, ChatMember.ADMINISTRATOR}


class TelegramVerifier:
    """Links a Telegram group or channel only if gomflow's bot and the GOM both administer it.

    Holds one Bot (one HTTP pool) for the life of the process; ``close()`` releases it.
    """

    def __init__(self, settings: TelegramSettings) -> None:
        assert settings.bot_token, "the Telegram verifier needs TELEGRAM_BOT_TOKEN"
        self._settings = settings
        self._bot: Bot | None = None  # made on first use: nothing connects at start-up
        self._ready = asyncio.Lock()

    async def controls(self, destination: str, member_id: str) -> Verdict:
        """See core.verification.ChannelVerifier."""
        if not member_id.lstrip("-").isdigit():
            return Verdict.no("Write to me on Telegram first, so I know which Telegram account is yours.")
        try:
            bot = await self._started_bot()
            chat_id = (await bot.get_chat(destination)).id  # an @username can change hands; the id cannot
            mine = await bot.get_chat_member(chat_id, bot.id)
            theirs = await bot.get_chat_member(chat_id, int(member_id))
        except (BadRequest, Forbidden) as exc:
            return Verdict.no(
                f"Telegram does not let me see {destination} ({exc.message}). Add me to it as an "
                "administrator, then link it again."
            )
        except TelegramError as exc:
            log.warning("getChatMember for %s failed: %s", destination, exc)
            return Verdict.no("I could not ask Telegram just now, so nothing was linked. Try again shortly.")
        if mine.status not in ADMINS:
            return Verdict.no(f"Make me an administrator of {destination} first, then link it again.")
        if theirs.status not in ADMINS:
            return Verdict.no(
                f"Only an administrator of {destination} can link it, and Telegram says your "
                "account is not one."
            )
        return Verdict.yes(address=str(chat_id))

    async def close(self) -> None:
        async with self._ready:
            if self._bot is not None:
                await self._bot.shutdown()
                self._bot = None

    async def _started_bot(self) -> Bot:
        async with self._ready:
            if self._bot is None:
                settings = self._settings
                assert settings.bot_token
                bot = Bot(
                    settings.bot_token, base_url=settings.api_base_url, base_file_url=settings.file_base_url
                )
                await bot.initialize()  # getMe: the bot's own id
                self._bot = bot
            return self._bot
