"""Status codes and app ids as words in a sentence: buyers read "waiting for payment", not
"[placed]", and "by email", not "on email". Unknown values pass through unchanged."""

from __future__ import annotations

GO_STATES = {
    "draft": "a draft",
    "open": "open for orders",
    "closed": "closed",
    "confirmed": "going ahead",
    "failed": "not going ahead (below its MOQ)",
    "ordered": "ordered from the supplier",
    "arrived": "arrived at the GOM",
    "packing": "being packed",
    "shipping": "on its way",
    "completed": "complete",
    "cancelled": "cancelled",
}

ORDER_STATES = {
    "placed": "waiting for payment",
    "paid": "paid",
    "cancelled": "cancelled",
    "expired": "expired (not paid in time)",
    "refunded": "refunded",
}

# how a message reaches someone through an app: "on Telegram", "by email"
ON_APP = {
    "telegram": "on Telegram",
    "discord": "on Discord",
    "whatsapp": "on WhatsApp",
    "sms": "by SMS",
    "email": "by email",
    "console": "in the console",
}


def go_state(status: object) -> str:
    return GO_STATES.get(str(status), str(status))


def order_state(status: object) -> str:
    return ORDER_STATES.get(str(status), str(status))


def on_app(channel: object) -> str:
    return ON_APP.get(str(channel), f"on {channel}")
