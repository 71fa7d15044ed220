"""Which ways to pay a GO accepts, as the GOM types them: ``paynow:+6591234567 stripe manual``,
or a bank account as words: ``bank="DBS Bank" name="Gina Tan" account=123-456789-0``."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass

from core.errors import InvalidInput, PaymentError
from core.payments import emvco
from core.render import N_, Phrase
from core.text import clean_name

QR_METHODS = ("paynow", "promptpay", "duitnow", "qrph", "bankqr")
GATEWAYS = ("stripe", "xendit", "hitpay", "telegram")
LABELS = {
    "paynow": "PayNow QR",
    "promptpay": "PromptPay QR",
    "duitnow": "DuitNow QR",
    "qrph": "QR Ph",
    "bankqr": "Bank QR",
    "bank": "Bank transfer",
    "manual": "Bank transfer with proof",
    "stripe": "Card (Stripe)",
    "xendit": "E-wallet / VA (Xendit)",
    "hitpay": "PayNow / card (HitPay)",
    "telegram": "Pay in Telegram",
}
# A QR scheme built natively takes one currency only.
SCHEME_CURRENCY = {"paynow": "SGD", "promptpay": "THB", "duitnow": "MYR", "qrph": "PHP"}
BANK_WORDS = ("bank", "name", "account")  # bank=… name=… account=…: one bank transfer method
MAX_BANK_TEXT = 60
ACCOUNT_NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z -]{3,33}")
USAGE = (
    "/paymethods CODE paynow:+6591234567|paynow:UEN promptpay:0812345678 duitnow:ACQUIRER:ACCOUNT "
    'qrph:BIC:ACCOUNT bankqr:000201… bank="Bank" name="Account name" account=NUMBER '
    "manual stripe xendit hitpay telegram (or send a photo of your bank QR with /paymethods CODE)"
)


@dataclass(frozen=True)
class Method:
    method: str
    target: str = ""  # the number, account or QR payload paid into
    bank: str = ""  # a bank transfer's bank
    holder: str = ""  # a bank transfer's account name

    @property
    def label(self) -> str:
        return LABELS[self.method]


def parse_methods(tokens: list[str], currency: str, *, photo_payload: str | None = None) -> list[Method]:
    """The methods in ``tokens``; ``photo_payload`` is the text of a bank QR the GOM sent as
    a photo, taken as ``bankqr`` (with or without that word)."""
    bank_words, names = _bank_words(tokens)
    if photo_payload is not None and "bankqr" not in [n.partition(":")[0].lower() for n in names]:
        names.append("bankqr")
    if not names and not bank_words:
        raise InvalidInput("Say which methods to accept: %(usage)s", usage=USAGE)
    methods: list[Method] = [_bank(bank_words)] if bank_words else []
    for token in names:
        name, _, target = token.partition(":")
        name = name.strip().lower()
        if name not in LABELS or name == "bank":
            raise InvalidInput(
                "I don't know the payment method '%(name)s'. Usage: %(usage)s", name=name[:20], usage=USAGE
            )
        if any(m.method == name for m in methods):
            raise InvalidInput("%(name)s is listed twice.", name=name)
        if name == "bankqr" and not target.strip() and photo_payload is not None:
            target = photo_payload
        methods.append(Method(name, _check_target(name, target.strip(), currency)))
    if sum(m.method in QR_METHODS for m in methods) > 1:
        raise InvalidInput(
            "Choose one QR method per group order (paynow, promptpay, duitnow, qrph or bankqr)."
        )
    return methods


def _bank_words(tokens: list[str]) -> tuple[dict[str, str], list[str]]:
    """``key=value`` words apart from method names; a key that is not a bank word is refused."""
    words: dict[str, str] = {}
    names: list[str] = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep:
            names.append(token)
        elif key.strip().lower() in BANK_WORDS:
            words[key.strip().lower()] = value
        else:
            raise InvalidInput(
                "I don't know '%(key)s='; a bank transfer takes bank=, name= and account=.", key=key[:20]
            )
    return words, names


def _bank(words: dict[str, str]) -> Method:
    missing = [f"{key}=" for key in BANK_WORDS if not clean_name(words.get(key, ""))]
    if missing:
        raise InvalidInput(
            ('A bank transfer needs %(missing)s too: bank="DBS Bank" name="Gina Tan" account=123-456789-0.'),
            missing=", ".join(missing),
        )
    bank, holder = clean_name(words["bank"]), clean_name(words["name"])
    if len(bank) > MAX_BANK_TEXT or len(holder) > MAX_BANK_TEXT:
        raise InvalidInput(
            ("The bank and the account name may have at most %(max_bank_text)s characters each."),
            max_bank_text=MAX_BANK_TEXT,
        )
    number = clean_name(words["account"])
    if not ACCOUNT_NUMBER.fullmatch(number):
        raise InvalidInput(
            ("'%(number)s' is not an account number: 4 to 34 letters, digits, spaces or dashes."),
            number=number[:40],
        )
    return Method("bank", number, bank=bank, holder=holder)


def _check_target(name: str, target: str, currency: str) -> str:
    if name in SCHEME_CURRENCY and currency != SCHEME_CURRENCY[name]:
        raise InvalidInput(
            "%(labels)s takes %(scheme_currency)s only.",
            labels=LABELS[name],
            scheme_currency=SCHEME_CURRENCY[name],
        )
    if name == "paynow":
        return emvco.paynow_proxy(target)[1]
    if name == "promptpay":
        emvco.promptpay(target, amount_minor=100, reference="CHECK")
        return target
    if name == "duitnow":
        return ":".join(emvco.duitnow_account(target))
    if name == "qrph":
        return ":".join(emvco.qrph_account(target))
    if name == "bankqr":
        if not target:
            raise InvalidInput(
                "bankqr needs your static bank QR: send its photo with /paymethods CODE as the caption, "
                "or paste its text after bankqr:"
            )
        emvco.reemit(target, amount_minor=100, currency=currency, reference="CHECK")
        return target
    if target:
        raise InvalidInput(
            "%(name)s takes no account after ':'; its keys come from the server's settings.", name=name
        )
    return ""


def payee(method: Method) -> str:
    """The number or account a QR pays, as text a buyer can type into a banking app."""
    if method.method in ("duitnow", "qrph"):
        return method.target.rsplit(":", 1)[1]
    if method.method == "bankqr":
        return emvco.describe(method.target).account
    return method.target


def takes_transfers(chosen: list[Method]) -> bool:
    """Whether a buyer pays the GOM directly (a QR, a bank transfer) and sends proof of it."""
    return any(m.method in (*QR_METHODS, "bank", "manual") for m in chosen)


def working(chosen: list[Method], offered: Collection[str]) -> list[Method]:
    """The chosen methods a buyer can pay with on this server: a gateway only where it is
    configured (``offered``); a QR, a bank transfer or a proof always."""
    return [m for m in chosen if m.method not in GATEWAYS or m.method in offered]


# how a GOM sets a way to pay that every server has (a gateway is added when configured)
WAYS_TO_PAY = N_(
    "/paymethods %(code)s with a QR (paynow:…, promptpay:…, duitnow:…, qrph:…, or a photo of "
    'your bank QR), a bank transfer (bank="…" name="…" account=…), manual'
)


def missing(go_code: str, chosen: list[Method], offered: Collection[str]) -> PaymentError:
    """Why ``go_code`` cannot be paid on this server yet, and what would do."""
    here = ", ".join(g for g in GATEWAYS if g in offered)
    ways = Phrase(WAYS_TO_PAY, {"code": go_code})
    if here:
        ways = Phrase(N_("%(ways)s, or %(gateways)s"), {"ways": ways, "gateways": here})
    if not chosen:
        return PaymentError(
            "%(code)s has no payment method yet, so buyers could not pay. Set one first: %(ways)s.",
            code=go_code,
            ways=ways,
        )
    names = [m.label for m in chosen if m not in working(chosen, offered)]
    if len(names) == 1:
        return PaymentError(
            (
                "%(method)s is not set up on this server, so buyers of %(code)s could not pay. "
                "Add one: %(ways)s."
            ),
            method=names[0],
            code=go_code,
            ways=ways,
        )
    return PaymentError(
        (
            "%(methods)s and %(last)s are not set up on this server, so buyers of %(code)s could not "
            "pay. Add one: %(ways)s."
        ),
        methods=", ".join(names[:-1]),
        last=names[-1],
        code=go_code,
        ways=ways,
    )


def dump(methods: list[Method]) -> str:
    return json.dumps(
        [
            {"method": m.method, "target": m.target}
            | ({"bank": m.bank, "holder": m.holder} if m.bank else {})
            for m in methods
        ]
    )


def load(text: str | None) -> list[Method]:
    return [
        Method(d["method"], d.get("target", ""), d.get("bank", ""), d.get("holder", ""))
        for d in json.loads(text or "[]")
    ]


def qr_payload(method: Method, *, amount_minor: int, currency: str, reference: str, name: str) -> str:
    if method.method == "paynow":
        return emvco.paynow(method.target, amount_minor=amount_minor, reference=reference, merchant_name=name)
    if method.method == "promptpay":
        return emvco.promptpay(method.target, amount_minor=amount_minor, reference=reference)
    if method.method == "duitnow":
        return emvco.duitnow(
            method.target, amount_minor=amount_minor, reference=reference, merchant_name=name
        )
    if method.method == "qrph":
        return emvco.qrph(method.target, amount_minor=amount_minor, reference=reference, merchant_name=name)
    return emvco.reemit(method.target, amount_minor=amount_minor, currency=currency, reference=reference)
