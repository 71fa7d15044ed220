"""The payment gateways this deployment offers, from the keys in its settings."""

from __future__ import annotations

from core.config import Settings
from core.payments.gateway import PaymentGateway
from core.payments.hitpay import HitPayRequests
from core.payments.stripe_checkout import StripeCheckout
from core.payments.xendit import XenditInvoices
from web.http_client import AiohttpClient


def build_gateways(settings: Settings, http: AiohttpClient | None = None) -> dict[str, PaymentGateway]:
    http = http or AiohttpClient()
    gateways: dict[str, PaymentGateway] = {}
    if settings.stripe_api_key and settings.stripe_webhook_secret:
        gateways["stripe"] = StripeCheckout(
            settings.stripe_api_key, settings.stripe_webhook_secret, settings.stripe_api_base or None
        )
    if settings.xendit_secret_key and settings.xendit_callback_token:
        gateways["xendit"] = XenditInvoices(
            http, settings.xendit_secret_key, settings.xendit_callback_token, settings.xendit_base_url
        )
    if settings.hitpay_api_key and settings.hitpay_salt:
        gateways["hitpay"] = HitPayRequests(
            http, settings.hitpay_api_key, settings.hitpay_salt, settings.hitpay_base_url
        )
    return gateways
