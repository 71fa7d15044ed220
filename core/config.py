"""Settings from the environment (and a ``.env`` file, read by the command line)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./gomflow.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    public_base_url: str = "http://127.0.0.1:8080"
    default_timezone: str = "Asia/Singapore"
    default_currency: str = "SGD"
    log_level: str = "INFO"
    # Notifications, broadcasts and the scheduler
    outbox_lease_seconds: float = 60.0
    dispatch_concurrency: int = 32
    rate_limits: str = ""  # overrides, e.g. "telegram=30/1s,1/1s,20/60s;discord=50/1s,5/5s,5/5s"
    tick_seconds: float = 30.0
    payment_reminder_hours: float = 12.0
    deadline_reminders: str = "24h,1h"
    broadcast_confirm_over: int = 10
    discord_bot_token: str = ""
    discord_api_base: str = "https://discord.com/api/v10"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_sms_from: str = ""
    twilio_whatsapp_from: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        port = int(env.get("GOMFLOW_HTTP_PORT", cls.http_port))
        host = env.get("GOMFLOW_HTTP_HOST", cls.http_host)
        return cls(
            database_url=env.get("GOMFLOW_DATABASE_URL", cls.database_url),
            http_host=host,
            http_port=port,
            public_base_url=env.get("GOMFLOW_PUBLIC_BASE_URL", f"http://{host}:{port}"),
            default_timezone=env.get("GOMFLOW_DEFAULT_TIMEZONE", cls.default_timezone),
            default_currency=env.get("GOMFLOW_DEFAULT_CURRENCY", cls.default_currency),
            log_level=env.get("GOMFLOW_LOG_LEVEL", cls.log_level),
            **notification_settings(env),
        )


def notification_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The outbox, dispatcher, scheduler and outbound transport settings."""
    d = Settings
    return {
        "outbox_lease_seconds": float(env.get("GOMFLOW_OUTBOX_LEASE_SECONDS", d.outbox_lease_seconds)),
        "dispatch_concurrency": int(env.get("GOMFLOW_DISPATCH_CONCURRENCY", d.dispatch_concurrency)),
        "rate_limits": env.get("GOMFLOW_RATE_LIMITS", d.rate_limits),
        "tick_seconds": float(env.get("GOMFLOW_TICK_SECONDS", d.tick_seconds)),
        "payment_reminder_hours": float(env.get("GOMFLOW_PAYMENT_REMINDER_HOURS", d.payment_reminder_hours)),
        "deadline_reminders": env.get("GOMFLOW_DEADLINE_REMINDERS", d.deadline_reminders),
        "broadcast_confirm_over": int(env.get("GOMFLOW_BROADCAST_CONFIRM_OVER", d.broadcast_confirm_over)),
        "discord_bot_token": env.get("DISCORD_BOT_TOKEN", ""),
        "discord_api_base": env.get("DISCORD_API_BASE", d.discord_api_base),
        "twilio_account_sid": env.get("TWILIO_ACCOUNT_SID", ""),
        "twilio_auth_token": env.get("TWILIO_AUTH_TOKEN", ""),
        "twilio_sms_from": env.get("TWILIO_SMS_FROM", ""),
        "twilio_whatsapp_from": env.get("TWILIO_WHATSAPP_FROM", ""),
        "twilio_api_base": env.get("TWILIO_API_BASE", d.twilio_api_base),
        "smtp_host": env.get("SMTP_HOST", ""),
        "smtp_port": int(env.get("SMTP_PORT", d.smtp_port)),
        "smtp_username": env.get("SMTP_USERNAME", ""),
        "smtp_password": env.get("SMTP_PASSWORD", ""),
        "smtp_from": env.get("SMTP_FROM", ""),
        "smtp_starttls": env.get("SMTP_STARTTLS", "true").strip().lower() not in {"0", "false", "no"},
    }
