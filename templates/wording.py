"""Status codes and app ids as words in a sentence: buyers read "waiting for payment", not
"[placed]", and "by email", not "on email". Unknown values pass through unchanged.

Each phrase is marked ``N_`` so ``pybabel extract`` finds it; the filters translate it
in the language of the template being rendered (``templates._environment``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from core.render import N_

GO_STATES = {
    "draft": N_("a draft"),
    "open": N_("open for orders"),
    "closed": N_("closed"),
    "confirmed": N_("going ahead"),
    "failed": N_("not going ahead (below its MOQ)"),
    "ordered": N_("ordered from the supplier"),
    "arrived": N_("arrived at the GOM"),
    "packing": N_("being packed"),
    "shipping": N_("on its way"),
    "completed": N_("complete"),
    "cancelled": N_("cancelled"),
}

ORDER_STATES = {
    "placed": N_("waiting for payment"),
    "paid": N_("paid"),
    "cancelled": N_("cancelled"),
    "expired": N_("expired (not paid in time)"),
    "refunded": N_("refunded"),
}

# what a payment is for, as a buyer reads it in "Pay the %(kind)s of order …"
PAYMENT_KINDS = {
    "items": N_("items"),
    "shipping": N_("shipping"),
    "adjustment": N_("adjustment"),
    "late_fee": N_("late fee"),
    "deposit": N_("deposit"),
    "balance": N_("balance"),
    "instalment": N_("instalment"),
}

PAYMENT_STATES = {
    "open": N_("waiting for payment"),
    "review": N_("being checked by the GOM"),
    "paid": N_("paid"),
    "void": N_("no longer due"),
    "expired": N_("expired (not paid in time)"),
    "refunded": N_("refunded"),
}

PROOF_STATES = {
    "pending": N_("waiting for review"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
}

# what a proof's screenshot was checked for, and the fixed words of what was read or asked
# (``core.payments.reading.policy``); amounts, references and moments pass through as read
PROOF_WORDS = {
    "amount": N_("amount"),
    "currency": N_("currency"),
    "reference": N_("reference"),
    "date": N_("date"),
    "transaction id": N_("transaction id"),
    "not read": N_("not read"),
    "a transaction id": N_("a transaction id"),
}
# the date a transfer must be after: "after 2026-12-01T04:00+00:00", as the policy writes it
AFTER = "after "
AFTER_MOMENT = N_("after %(moment)s")

# how a message reaches someone through an app: "on Telegram", "by email"
ON_APP = {
    "telegram": N_("on Telegram"),
    "discord": N_("on Discord"),
    "whatsapp": N_("on WhatsApp"),
    "sms": N_("by SMS"),
    "email": N_("by email"),
    "console": N_("in the console"),
}


ON_OTHER_APP = N_("on %(app)s")

Translate = Callable[[str], str]


def in_words(words: Mapping[str, str], value: object, translate: Translate = N_) -> str:
    """``value`` (a status, a kind) as ``words`` say it, in the language ``translate`` writes."""
    key = str(value)
    return translate(words[key]) if key in words else key


# the template filters that say a code in words: {{ go.status | go_state }}
FILTERS = {
    "go_state": GO_STATES,
    "order_state": ORDER_STATES,
    "payment_kind": PAYMENT_KINDS,
    "payment_state": PAYMENT_STATES,
    "proof_state": PROOF_STATES,
    "proof_word": PROOF_WORDS,
}


def on_app(channel: object, translate: Translate = N_) -> str:
    if str(channel) in ON_APP:
        return translate(ON_APP[str(channel)])
    return translate(ON_OTHER_APP) % {"app": channel}


def proof_expected(value: object, translate: Translate = N_) -> str:
    """What a proof's field was expected to be, in words of the reader's language."""
    text = str(value)
    if text.startswith(AFTER):
        return translate(AFTER_MOMENT) % {"moment": text.removeprefix(AFTER)}
    return in_words(PROOF_WORDS, text, translate)
