"""Payment routes: the hosted pay page with its QR code, and the providers' webhooks.

Webhook signatures are checked on the raw body before anything is parsed; a repeat
delivery is answered 200 and changes nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from core.app import Core
from core.db.engine import database_busy
from core.errors import DatabaseBusy, GomflowError, NotFound, WebhookRejected
from core.languages import ENGLISH, LANGUAGES, from_hint
from core.payments.gateway import PaymentGateway
from core.payments.status import RequestStatus
from core.render import Renderer
from core.services import pay_pages, payments
from core.views import PayView

log = logging.getLogger(__name__)
CORE_KEY = web.AppKey("payments_core", Core)
RENDERER_KEY = web.AppKey("payments_renderer", Renderer)
STATIC = Path(__file__).parent / "static"
# The pay page runs its own script (copy buttons, the countdown, asking for the status) and
# stylesheet, both served from here; nothing from anywhere else.
PAGE_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'"
)
MAX_WEBHOOK_BYTES = 256 * 1024


async def pay_page(request: web.Request) -> web.Response:
    """The pay page, in the buyer's language (or the one chosen on it, ``?lang=th``)."""
    core = request.app[CORE_KEY]
    try:
        page = await pay_pages.pay_page(core.reader(), request.match_info["token"])
    except NotFound as exc:
        raise web.HTTPNotFound(text=exc.message) from exc
    language = page_language(request, page.language)
    online = [(method, label) for method, label in page.pay.gateways if method in core.payment_gateways]
    context = {"page": page, "online": online, "languages": list(LANGUAGES.items())}
    text = request.app[RENDERER_KEY].page("pay", context, language)
    headers = {**_private(), "Content-Security-Policy": PAGE_POLICY, "Content-Language": language}
    return web.Response(text=text, content_type="text/html", headers=headers)


async def pay_status(request: web.Request) -> web.Response:
    """What the pay page asks every few seconds while it waits for the payment."""
    try:
        status = await pay_pages.pay_status(request.app[CORE_KEY].reader(), request.match_info["token"])
    except NotFound as exc:
        raise web.HTTPNotFound(text=exc.message) from exc
    return web.json_response({"status": status, "paid": status == RequestStatus.PAID}, headers=_private())


def page_language(request: web.Request, buyer: str | None) -> str:
    """``?lang=`` when gomflow speaks it, else the buyer's own, else the browser's first
    language gomflow speaks (``Accept-Language``), else English."""
    chosen = from_hint(request.query.get("lang"))
    if chosen is not None:
        return chosen
    if buyer in LANGUAGES:
        return buyer
    for part in request.headers.get("Accept-Language", "").split(",")[:10]:
        if (found := from_hint(part.split(";", 1)[0])) is not None:
            return found
    return ENGLISH


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


def add_payment_routes(app: web.Application, core: Core, renderer: Renderer) -> None:
    app[CORE_KEY] = core
    app[RENDERER_KEY] = renderer
    app.middlewares.append(database_busy_answer)
    app.router.add_static("/static", STATIC, append_version=False)
    app.router.add_get("/pay/{token}", pay_page)
    app.router.add_get("/pay/{token}/status", pay_status)
    app.router.add_get("/pay/{token}/qr.png", pay_qr)
    app.router.add_post("/pay/{token}/{provider}", pay_with)
    app.router.add_post("/webhooks/{provider}", webhook)
