"""The Telegram adapter as ``gomflow run`` builds it: on the Telegram channel's client."""

from __future__ import annotations

from bots.commands import BotContext
from bots.telegram.adapter import TelegramBot
from channels.telegram import TelegramChannel, delivery_error
from core.config import TelegramSettings


def telegram_bot(bot: BotContext, settings: TelegramSettings, *, retry_base: float = 0.5) -> TelegramBot:
    channel = TelegramChannel(settings)
    return TelegramBot(bot, settings, client=channel.bot, errors=delivery_error, retry_base=retry_base)
