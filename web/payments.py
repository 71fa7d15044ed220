"""Payment routes: the hosted pay page with its QR code, and the providers' webhooks.

Webhook signatures are checked on the raw body before anything is parsed; a repeat
delivery is answered 200 and changes nothing.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Collection

from aiohttp import web
from aiohttp.typedefs import Handler

from core.app import Core
from core.db.engine import database_busy
from core.errors import DatabaseBusy, GomflowError, NotFound, WebhookRejected
from core.payments.gateway import PaymentGateway
from core.services import payments
from core.views import PayView

log = logging.getLogger(__name__)
CORE_KEY = web.AppKey("payments_core", Core)
MAX_WEBHOOK_BYTES = 256 * 1024


async def pay_page(request: web.Request) -> web.Response:
    view = await _view(request)
    offered = request.app[CORE_KEY].payment_gateways
    return web.Response(text=render_page(view, offered), content_type="text/html", headers=_private())


async def pay_qr(request: web.Request) -> web.Response:
    view = await _view(request)
    if not view.qr_payload:
        raise web.HTTPNotFound(text="This payment has no QR code.")
    png = await request.app[CORE_KEY].qr_images.png(view.qr_payload)
    return web.Response(body=png, content_type="image/png", headers=_private())


async def _view(request: web.Request) -> PayView:
    try:
        return await payments.pay_page(request.app[CORE_KEY].reader(), request.match_info["token"])
    except NotFound as exc:
        raise web.HTTPNotFound(text=exc.message) from exc


def _private() -> dict[str, str]:
    return {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def render_page(view: PayView, offered: Collection[str] = ()) -> str:
    e = html.escape
    if view.payable:
        body = f"<p class=amount>{e(view.amount)}</p><p>Reference: <b>{e(view.reference)}</b></p>"
        body += (
            f"<p>Received so far: {e(view.received)}; the amount above is still owed.</p>"
            if view.received
            else ""
        )
        body += "".join(f"<p>{e(line)}</p>" for line in view.money_lines)
        body += f"<p>Pay by {e(view.due)}.</p>"
        if view.qr_payload:
            body += (
                f'<p><img src="{e(view.token)}/qr.png" alt="{e(view.qr_label or "QR")} code" width=320></p>'
                f"<p>Scan with your banking app ({e(view.qr_label or '')}): "
                "amount and reference are filled in.</p>"
            )
            if view.pay_to:
                body += f"<p>No scanner? Pay to <b>{e(view.pay_to)}</b> with the reference above.</p>"
        if view.bank:
            body += (
                f"<p>Bank transfer: {e(view.bank.bank)}, account name {e(view.bank.holder)}, "
                f"account number <b>{e(view.bank.account)}</b>. Type the reference above.</p>"
            )
        if view.manual:
            body += "<p>After paying, send a screenshot of the transfer to the bot in your chat.</p>"
        for method, label in view.gateways:
            if method in offered:
                body += (
                    f'<form method=post action="{e(view.token)}/{e(method)}">'
                    f"<button>Pay {e(view.amount)} · {e(label)}</button></form>"
                )
    else:
        body = f"<p>This payment is {e(view.status)}. Nothing to pay here.</p>"
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>Pay {e(view.number)}</title></head><body>"
        f"<h1>{e(view.go_title)}</h1><p>Order {e(view.number)} · {e(view.kind)}</p>{body}</body></html>"
    )


async def pay_with(request: web.Request) -> web.Response:
    """A button on the pay page: make (or reuse) the provider's link and go there."""
    core = request.app[CORE_KEY]
    try:
        url = await payments.start_checkout_by_token(
            core.uow,
            request.match_info["token"],
            request.match_info["provider"],
            core.payment_gateways,
            core.settings.public_base_url,
        )
    except NotFound as exc:
        raise web.HTTPNotFound(text=exc.message) from exc
    except GomflowError as exc:
        return web.Response(text=exc.message, status=409, headers=_private())
    raise web.HTTPSeeOther(url)


async def webhook(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    provider = request.match_info["provider"]
    gateway: PaymentGateway | None = core.payment_gateways.get(provider)
    if gateway is None:
        raise web.HTTPNotFound(text="unknown payment provider")
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_WEBHOOK_BYTES, actual_size=request.content_length)
    body = await request.read()
    try:
        events = gateway.parse_webhook(request.headers, body)
    except WebhookRejected as exc:
        log.warning("%s webhook rejected: %s", provider, exc.message)
        return web.json_response({"error": "rejected"}, status=400)
    except Exception:
        # The parsers refuse every shape they know as WebhookRejected; anything else is a
        # body they did not foresee. It is still the body that is wrong, and a 500 would
        # have the provider send it again for days.
        log.exception("%s webhook rejected: a body the parser did not foresee", provider)
        return web.json_response({"error": "rejected"}, status=400)
    try:
        outcomes = await payments.record_webhook(core.uow, events)
    except DatabaseBusy:
        raise  # answered 503 by database_busy_answer, so the provider retries
    except GomflowError as exc:
        log.warning("%s webhook refused: %s", provider, exc.message)
        return web.json_response({"error": exc.code}, status=422)
    return web.json_response({"results": [o.result for o in outcomes]})


@web.middleware
async def database_busy_answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    """503 with Retry-After when the database has no connection free, on every route.

    A payment provider (or Telegram) retries a 503, and the retry goes through once a
    connection is free; a 500 would read as our bug, and nothing about it is.
    """
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        if (busy := database_busy(exc)) is None:
            raise
        log.warning("database busy: %s %s answered 503", request.method, request.path)
        return web.json_response(
            {"error": busy.code, "message": busy.message}, status=503, headers={"Retry-After": "5"}
        )


def add_payment_routes(app: web.Application, core: Core) -> None:
    app[CORE_KEY] = core
    app.middlewares.append(database_busy_answer)
    app.router.add_get("/pay/{token}", pay_page)
    app.router.add_get("/pay/{token}/qr.png", pay_qr)
    app.router.add_post("/pay/{token}/{provider}", pay_with)
    app.router.add_post("/webhooks/{provider}", webhook)
