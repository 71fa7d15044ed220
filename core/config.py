"""Settings from the environment (and a ``.env`` file, read by the command line)."""

from __future__ import annotations

import hashlib
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
    # Payment gateways: each is offered only when its keys are set.
    stripe_api_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    xendit_secret_key: str = ""
    xendit_callback_token: str = ""
    xendit_base_url: str = "https://api.xendit.co"
    hitpay_api_key: str = ""
    hitpay_salt: str = ""
    hitpay_base_url: str = "https://api.hit-pay.com"
    # Notifications, broadcasts and the scheduler
    outbox_lease_seconds: float = 60.0
    dispatch_concurrency: int = 32
    rate_limits: str = ""  # overrides, e.g. "telegram=30/1s,1/1s,20/60s;discord=50/1s,5/5s,5/5s"
    tick_seconds: float = 30.0
    payment_reminder_hours: float = 12.0
    deadline_reminders: str = "24h,1h"
    decision_window_hours: float = 48.0  # a GO below its MOQ waits this long for the GOM
    broadcast_confirm_over: int = 10
    discord_bot_token: str = ""
    discord_api_base: str = "https://discord.com/api/v10"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_sms_from: str = ""
    twilio_whatsapp_from: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    # countries (ISO 3166 codes) whose numbers may talk to gomflow by SMS or WhatsApp
    twilio_countries: str = "SG,MY,PH,ID,TH,VN,KR,JP,HK,TW"
    # WhatsApp templates for outside the 24-hour window: "payment_reminder=HX…,broadcast=HX…"
    twilio_whatsapp_templates: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = True
    # Email in: gomflow's own SMTP listener (off unless a host is set), the largest message
    # it takes, and the authserv-id of the receiving server whose Authentication-Results it trusts.
    email_listen_host: str = ""
    email_listen_port: int = 2525
    email_max_bytes: int = 10 * 1024 * 1024
    email_authserv_id: str = ""
    # Email in from a mailbox instead (or as well): read over IMAP, IDLE where the server has it.
    imap_host: str = ""
    imap_port: int = 993
    imap_username: str = ""
    imap_password: str = ""
    imap_mailbox: str = "INBOX"
    imap_ssl: bool = True
    imap_poll_seconds: float = 60.0
    # Signs per-recipient links (one-click unsubscribe); without it email offers mailto only.
    secret_key: str = ""
    # Database connections per process (PostgreSQL; SQLite keeps its own small pool).
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout: float = 30.0  # seconds to wait for a free connection before "busy"
    # Several workers on one PostgreSQL (docs/workers.md): PgBouncer in transaction mode (no
    # server-side prepared statements), the direct URL the leader lock needs past it, the
    # port shared by every worker (SO_REUSEPORT), and how often the leader lock is tried.
    db_pgbouncer: bool = False
    database_direct_url: str = ""
    http_reuse_port: bool = False
    leader_retry_seconds: float = 2.0
    # Delivery: carriers added to or replacing the built-in table, "key=Name|https://…{tracking};…"
    carrier_links: str = ""
    # Personal data at rest: the data keys ("id:base64,…", newest first) and the blind index key.
    data_keys: str = ""
    index_key: str = ""
    # The inbound limit per sender (core.throttle): messages a second, and at once.
    inbound_rate: float = 5.0
    inbound_burst: int = 20
    # The bearer token /metrics asks for; without one, only this machine may read it.
    metrics_token: str = ""

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
            stripe_api_key=env.get("STRIPE_API_KEY", ""),
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", ""),
            stripe_api_base=env.get("STRIPE_API_BASE", ""),
            xendit_secret_key=env.get("XENDIT_SECRET_KEY", ""),
            xendit_callback_token=env.get("XENDIT_CALLBACK_TOKEN", ""),
            xendit_base_url=env.get("XENDIT_BASE_URL", cls.xendit_base_url),
            hitpay_api_key=env.get("HITPAY_API_KEY", ""),
            hitpay_salt=env.get("HITPAY_SALT", ""),
            hitpay_base_url=env.get("HITPAY_BASE_URL", cls.hitpay_base_url),
            db_pool_size=max(1, int(env.get("GOMFLOW_DB_POOL_SIZE", cls.db_pool_size))),
            db_max_overflow=max(0, int(env.get("GOMFLOW_DB_MAX_OVERFLOW", cls.db_max_overflow))),
            db_pool_timeout=max(0.0, float(env.get("GOMFLOW_DB_POOL_TIMEOUT", cls.db_pool_timeout))),
            db_pgbouncer=_flag(env.get("GOMFLOW_DB_PGBOUNCER", "")),
            database_direct_url=env.get("GOMFLOW_DATABASE_DIRECT_URL", ""),
            http_reuse_port=_flag(env.get("GOMFLOW_HTTP_REUSE_PORT", "")),
            leader_retry_seconds=max(0.2, float(env.get("GOMFLOW_LEADER_RETRY_SECONDS", 2.0))),
            carrier_links=env.get("GOMFLOW_CARRIER_LINKS", ""),
            data_keys=env.get("GOMFLOW_DATA_KEYS") or env.get("GOMFLOW_DATA_KEY", ""),
            index_key=env.get("GOMFLOW_INDEX_KEY", ""),
            inbound_rate=max(0.01, float(env.get("GOMFLOW_INBOUND_RATE", cls.inbound_rate))),
            inbound_burst=max(1, int(env.get("GOMFLOW_INBOUND_BURST", cls.inbound_burst))),
            **notification_settings(env),
        )


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


TELEGRAM_API = "https://api.telegram.org/bot"


@dataclass(frozen=True)
class TelegramSettings:
    """The Telegram adapter's settings; the adapter starts only when ``bot_token`` is set."""

    bot_token: str | None = None
    api_base_url: str = TELEGRAM_API  # the token is appended, or replaces "{token}"
    webhook_url: str | None = None  # set: webhook mode; unset: long polling
    webhook_secret: str | None = None  # default: derived from the token
    file_url: str | None = None  # where files are downloaded; default: derived from api_base_url
    payment_provider_token: str | None = None  # from @BotFather's Payments: enables Pay in Telegram
    # updates handled at once: overlaps the round trips to Telegram's servers
    concurrent_updates: int = 16

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TelegramSettings:
        env = os.environ if env is None else env
        return cls(
            bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            api_base_url=env.get("TELEGRAM_API_BASE_URL") or TELEGRAM_API,
            webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
            webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            file_url=env.get("TELEGRAM_FILE_BASE_URL") or None,
            payment_provider_token=env.get("TELEGRAM_PAYMENT_PROVIDER_TOKEN") or None,
            concurrent_updates=max(1, int(env.get("TELEGRAM_CONCURRENT_UPDATES") or cls.concurrent_updates)),
        )

    @property
    def file_base_url(self) -> str:
        """Where files are downloaded: ``…/bot`` becomes ``…/file/bot`` unless set apart."""
        if self.file_url:
            return self.file_url
        base = self.api_base_url
        if base.endswith("/bot{token}"):
            return base[: -len("bot{token}")] + "file/bot{token}"
        return base[: -len("bot")] + "file/bot" if base.endswith("/bot") else base + "/file"

    def method_url(self, method: str) -> str:
        assert self.bot_token is not None
        base = self.api_base_url
        root = base.replace("{token}", self.bot_token) if "{token}" in base else base + self.bot_token
        return f"{root}/{method}"

    def secret(self) -> str:
        """The webhook's secret token (1–256 of A-Z a-z 0-9 _ -)."""
        if self.webhook_secret:
            return self.webhook_secret
        assert self.bot_token is not None
        return hashlib.sha256(b"gomflow-webhook:" + self.bot_token.encode()).hexdigest()[:48]


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
        "decision_window_hours": float(env.get("GOMFLOW_DECISION_WINDOW_HOURS", d.decision_window_hours)),
        "broadcast_confirm_over": int(env.get("GOMFLOW_BROADCAST_CONFIRM_OVER", d.broadcast_confirm_over)),
        "discord_bot_token": env.get("DISCORD_BOT_TOKEN", ""),
        "discord_api_base": env.get("DISCORD_API_BASE", d.discord_api_base),
        "twilio_account_sid": env.get("TWILIO_ACCOUNT_SID", ""),
        "twilio_auth_token": env.get("TWILIO_AUTH_TOKEN", ""),
        "twilio_sms_from": env.get("TWILIO_SMS_FROM", ""),
        "twilio_whatsapp_from": env.get("TWILIO_WHATSAPP_FROM", ""),
        "twilio_api_base": env.get("TWILIO_API_BASE", d.twilio_api_base),
        "twilio_countries": env.get("TWILIO_COUNTRIES", d.twilio_countries),
        "twilio_whatsapp_templates": env.get("TWILIO_WHATSAPP_TEMPLATES", ""),
        "smtp_host": env.get("SMTP_HOST", ""),
        "smtp_port": int(env.get("SMTP_PORT", d.smtp_port)),
        "smtp_username": env.get("SMTP_USERNAME", ""),
        "smtp_password": env.get("SMTP_PASSWORD", ""),
        "smtp_from": env.get("SMTP_FROM", ""),
        "smtp_starttls": env.get("SMTP_STARTTLS", "true").strip().lower() not in {"0", "false", "no"},
        "email_listen_host": env.get("EMAIL_LISTEN_HOST", ""),
        "email_listen_port": int(env.get("EMAIL_LISTEN_PORT", d.email_listen_port)),
        "email_max_bytes": max(1024, int(env.get("EMAIL_MAX_BYTES", d.email_max_bytes))),
        "email_authserv_id": env.get("EMAIL_TRUSTED_AUTHSERV_ID", ""),
        "secret_key": env.get("GOMFLOW_SECRET_KEY", ""),
        "imap_host": env.get("IMAP_HOST", ""),
        "imap_port": int(env.get("IMAP_PORT", d.imap_port)),
        "imap_username": env.get("IMAP_USERNAME", ""),
        "imap_password": env.get("IMAP_PASSWORD", ""),
        "imap_mailbox": env.get("IMAP_MAILBOX", d.imap_mailbox),
        "imap_ssl": env.get("IMAP_SSL", "true").strip().lower() not in {"0", "false", "no"},
        "imap_poll_seconds": max(1.0, float(env.get("IMAP_POLL_SECONDS", d.imap_poll_seconds))),
        "metrics_token": env.get("GOMFLOW_METRICS_TOKEN", ""),
    }
