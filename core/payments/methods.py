"""Which ways to pay a GO accepts, as the GOM types them: ``paynow:+6591234567 stripe manual``."""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.errors import InvalidInput
from core.payments import emvco

QR_METHODS = ("paynow", "promptpay", "bankqr")
GATEWAYS = ("stripe", "xendit", "hitpay", "telegram")
LABELS = {
    "paynow": "PayNow QR",
    "promptpay": "PromptPay QR",
    "bankqr": "Bank QR",
    "manual": "Bank transfer with proof",
    "stripe": "Card (Stripe)",
    "xendit": "E-wallet / VA (Xendit)",
    "hitpay": "PayNow / card (HitPay)",
    "telegram": "Pay in Telegram",
}
USAGE = (
    "/paymethods CODE paynow:+6591234567|paynow:UEN promptpay:0812345678 bankqr:000201… "
    "manual stripe xendit hitpay telegram"
)


@dataclass(frozen=True)
class Method:
    method: str
    target: str = ""

    @property
    def label(self) -> str:
        return LABELS[self.method]


def parse_methods(tokens: list[str], currency: str) -> list[Method]:
    if not tokens:
        raise InvalidInput(f"Say which methods to accept: {USAGE}")
    methods: list[Method] = []
    for token in tokens:
        name, _, target = token.partition(":")
        name = name.strip().lower()
        if name not in LABELS:
            raise InvalidInput(f"I don't know the payment method '{name[:20]}'. Usage: {USAGE}")
        if any(m.method == name for m in methods):
            raise InvalidInput(f"{name} is listed twice.")
        methods.append(Method(name, _check_target(name, target.strip(), currency)))
    if sum(m.method in QR_METHODS for m in methods) > 1:
        raise InvalidInput("Choose one QR method per group order (paynow, promptpay or bankqr).")
    return methods


def _check_target(name: str, target: str, currency: str) -> str:
    if name == "paynow":
        if currency != "SGD":
            raise InvalidInput("PayNow takes SGD only.")
        return emvco.paynow_proxy(target)[1]
    if name == "promptpay":
        if currency != "THB":
            raise InvalidInput("PromptPay takes THB only.")
        emvco.promptpay(target, amount_minor=100, reference="CHECK")
        return target
    if name == "bankqr":
        emvco.reemit(target, amount_minor=100, currency=currency, reference="CHECK")
        return target
    if target:
        raise InvalidInput(f"{name} takes no account after ':'; its keys come from the server's settings.")
    return ""


def dump(methods: list[Method]) -> str:
    return json.dumps([{"method": m.method, "target": m.target} for m in methods])


def load(text: str | None) -> list[Method]:
    return [Method(d["method"], d.get("target", "")) for d in json.loads(text or "[]")]


def qr_payload(method: Method, *, amount_minor: int, currency: str, reference: str, name: str) -> str:
    if method.method == "paynow":
        return emvco.paynow(method.target, amount_minor=amount_minor, reference=reference, merchant_name=name)
    if method.method == "promptpay":
        return emvco.promptpay(method.target, amount_minor=amount_minor, reference=reference)
    return emvco.reemit(method.target, amount_minor=amount_minor, currency=currency, reference=reference)
