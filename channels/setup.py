"""Which outbound transports run: each starts only when its credentials are configured."""

from __future__ import annotations

import logging

from channels.base import Channel
from channels.discord import DiscordChannel
from channels.email import EmailChannel
from channels.twilio import TwilioChannel
from core.config import Settings

log = logging.getLogger(__name__)


def configured_channels(settings: Settings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if settings.discord_bot_token:
        channels["discord"] = DiscordChannel(settings.discord_bot_token, settings.discord_api_base)
    twilio = settings.twilio_account_sid and settings.twilio_auth_token
    for name, sender in (("sms", settings.twilio_sms_from), ("whatsapp", settings.twilio_whatsapp_from)):
        if twilio and sender:
            channels[name] = TwilioChannel(
                name,
                settings.twilio_account_sid,
                settings.twilio_auth_token,
                sender,
                settings.twilio_api_base,
            )
    if settings.smtp_host and settings.smtp_from:
        channels["email"] = EmailChannel(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            start_tls=settings.smtp_starttls,
        )
    return channels


def describe(channels: dict[str, Channel]) -> list[str]:
    """One log line per platform: running, or why not."""
    needs = {
        "discord": "DISCORD_BOT_TOKEN",
        "sms": "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_SMS_FROM",
        "whatsapp": "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM",
        "email": "SMTP_HOST and SMTP_FROM",
    }
    return [
        f"{name} messages: sending" if name in channels else f"{name} messages: not sent ({what} not set)"
        for name, what in needs.items()
    ]


async def close_all(channels: dict[str, Channel]) -> None:
    for channel in channels.values():
        close = getattr(channel, "close", None)
        if close is not None:
            try:
                await close()
            except Exception:  # shutting down: log and go on closing the others
                log.exception("closing the %s transport failed", channel.name)
