"""The GOM dashboard: a GOM's and their team's group orders, orders, payments, proofs and
packing list in a browser, beside the chat.

Signed in by a one-time link from ``/dashboard`` (``core.services.dashboard``); the session is
a cookie (HttpOnly, SameSite=Strict, only under ``/dashboard``). Every page calls the chat
commands' own services as the signed-in person, acting with the permission the matching
command declares, so a helper sees and does here exactly what they may in the chat. The only
writes are a proof's approval or rejection; each form carries a token derived from the
session (a page of another site cannot know it) and the browser's ``Origin`` must be ours.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from core.app import Core
from core.delivery.printable import packing_for_team
from core.errors import (
    Conflict,
    DatabaseBusy,
    GomflowError,
    InvalidInput,
    NotFound,
    NotSignedIn,
    PermissionDenied,
    SignInLinkSpent,
)
from core.permissions import Permission
from core.render import N_, Renderer
from core.services import buyer_sheet, dashboard, order_pages, payment_pages, proof_batches, proofs, reports
from core.services.accounts import Actor
from core.services.order_pages import OrderQuery, Show
from core.services.report_files import export_orders_csv
from web.packing import render_packing
from web.payments import page_language

CORE_KEY = web.AppKey("dashboard_core", Core)
RENDERER_KEY = web.AppKey("dashboard_renderer", Renderer)
ROOT = "/dashboard"
COOKIE = "gomflow_dashboard"
# Its own stylesheet, no script at all; forms post only to ourselves.
PAGE_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# "same-origin", not "no-referrer": under no-referrer a browser sends ``Origin: null`` with a
# form, and the origin of a form is what tells ours from another site's. No page links out.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin", "X-Robots-Tag": "noindex"}
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
MAX_PAGE = 1_000_000
MAX_HANDLE = 64
# what a review did, shown above the order's proofs once the form's answer is followed
DONE = {
    "approved": N_("Approved: the payment is counted and the buyer is told."),
    "rejected": N_("Rejected: the buyer is told why and can send a new proof."),
}
STATUS = {NotSignedIn.code: 401, SignInLinkSpent.code: 410, DatabaseBusy.code: 503}


@dataclass(frozen=True)
class Visit:
    """Who is looking, in which language, and the token their forms must carry."""

    actor: Actor
    language: str
    csrf: str

    def acting(self, permission: Permission) -> Actor:
        return self.actor.acting_for(permission)


Page = Callable[[web.Request, Visit], Awaitable[web.StreamResponse]]


def signed_in(handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A dashboard route: the session's person found (else a page saying how to sign in),
    and a refusal from a service shown as a page in their language, never a traceback."""

    async def route(request: web.Request) -> web.StreamResponse:
        language = page_language(request, None)
        try:
            session = request.cookies.get(COOKIE)
            actor = await dashboard.signed_in_actor(request.app[CORE_KEY].reader(), session)
            language = page_language(request, actor.language)
            return await handler(request, Visit(actor, language, form_token(session or "")))
        except GomflowError as refusal:
            return refused(request, refusal, language)

    return route


def form_token(session: str) -> str:
    """What each form of a session carries: known to its pages, to no other site's."""
    return hashlib.sha256(b"gomflow dashboard form\0" + session.encode()).hexdigest()


async def checked_form(request: web.Request, visit: Visit) -> dict[str, str]:
    """The posted form, if it came from one of this session's pages; refused otherwise."""
    from_us(request)
    form = await request.post()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    if not hmac.compare_digest(fields.get("csrf", ""), visit.csrf):
        raise _forged()
    return fields


def from_us(request: web.Request) -> None:
    """A browser names the page a form was sent from (``Origin``): it must be one of ours."""
    origin = request.headers.get("Origin")
    ours = {request.host, urlsplit(request.app[CORE_KEY].settings.public_base_url).netloc}
    if origin is not None and urlsplit(origin).netloc not in ours:
        raise _forged()


def _forged() -> PermissionDenied:
    return PermissionDenied("This form was not sent from your dashboard, so nothing was changed.")


def page(request: web.Request, visit: Visit, name: str, **context: Any) -> web.Response:
    return _html(request, name, visit.language, 200, {"visit": visit, **context})


def refused(request: web.Request, refusal: GomflowError, language: str) -> web.Response:
    said = request.app[RENDERER_KEY].said(refusal.text, language, refusal.values)
    status = STATUS.get(refusal.code) or _status_of(refusal)
    return _html(request, "dashboard_refused", language, status, {"visit": None, "message": said})


def _html(
    request: web.Request, name: str, language: str, status: int, context: dict[str, Any]
) -> web.Response:
    text = request.app[RENDERER_KEY].page(name, context, language)
    headers = {**PRIVATE, "Content-Security-Policy": PAGE_POLICY, "Content-Language": language}
    return web.Response(text=text, content_type="text/html", status=status, headers=headers)


def _status_of(refusal: GomflowError) -> int:
    for kind, status in ((NotFound, 404), (PermissionDenied, 403), (InvalidInput, 400), (Conflict, 409)):
        if isinstance(refusal, kind):
            return status
    return 422


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={**PRIVATE, "Location": location})


# --- signing in and out ------------------------------------------------------------------


async def sign_in_page(request: web.Request) -> web.Response:
    """The link's page: whose sign-in it is and a button. Opening it spends nothing."""
    try:
        offer = await dashboard.sign_in_offer(request.app[CORE_KEY].reader(), request.match_info["token"])
    except GomflowError as refusal:
        return refused(request, refusal, page_language(request, None))
    language = page_language(request, offer.language)
    return _html(request, "dashboard_sign_in", language, 200, {"visit": None, "offer": offer})


async def sign_in(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE_KEY]
    try:
        from_us(request)
        session = await dashboard.sign_in(
            core.uow(), request.match_info["token"], core.settings.default_timezone
        )
    except GomflowError as refusal:
        return refused(request, refusal, page_language(request, None))
    response = _see_other(ROOT)
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=int(dashboard.SESSION_VALID.total_seconds()),
        path=ROOT,
        httponly=True,
        samesite="Strict",
        secure=core.settings.public_base_url.startswith("https:"),
    )
    return response


async def sign_out(request: web.Request, visit: Visit) -> web.StreamResponse:
    await checked_form(request, visit)
    await dashboard.sign_out(request.app[CORE_KEY].uow(), request.cookies.get(COOKIE, ""))
    response = _see_other(ROOT)
    response.del_cookie(COOKIE, path=ROOT)
    return response


# --- pages -------------------------------------------------------------------------------


async def home(request: web.Request, visit: Visit) -> web.Response:
    gos = await reports.managed_group_orders(request.app[CORE_KEY].reader(), visit.acting(Permission.ORDERS))
    return page(request, visit, "dashboard_home", gos=gos)


async def go_tab(request: web.Request, visit: Visit, tab: str, **contents: Any) -> web.Response:
    """One tab of a GO's page (``templates/pages/dashboard_<tab>``) under the GO's header:
    its progress, deadline and the tabs."""
    code = request.match_info["code"]
    card = await reports.progress(request.app[CORE_KEY].reader(), visit.acting(Permission.ORDERS), code)
    return page(request, visit, f"dashboard_{tab}", go=card, tab=tab, **contents)


async def group_order(request: web.Request, visit: Visit) -> web.Response:
    code, query = request.match_info["code"], order_query(request)
    orders = await order_pages.orders_page(
        request.app[CORE_KEY].reader(), visit.acting(Permission.ORDERS), code, query
    )
    return await go_tab(request, visit, "orders", p=orders)


async def payments(request: web.Request, visit: Visit) -> web.Response:
    code, query = request.match_info["code"], order_query(request)
    money = await payment_pages.payments_page(
        request.app[CORE_KEY].reader(), visit.acting(Permission.ORDERS), code, query
    )
    return await go_tab(request, visit, "payments", p=money)


async def buyers(request: web.Request, visit: Visit) -> web.Response:
    number = whole(request.query["page"]) if request.query.get("page") else 1
    totals = await buyer_sheet.buyers_page(
        request.app[CORE_KEY].reader(), visit.acting(Permission.ORDERS), request.match_info["code"], number
    )
    return await go_tab(request, visit, "buyers", p=totals)


async def proofs_to_review(request: web.Request, visit: Visit) -> web.Response:
    batch = await proof_batches.matching_proofs(
        request.app[CORE_KEY].reader(), visit.acting(Permission.PROOFS), request.match_info["code"]
    )
    return await go_tab(request, visit, "proofs", batch=batch)


async def order_proofs(request: web.Request, visit: Visit) -> web.Response:
    number = request.match_info["number"]
    shown = await proofs.proof_image(request.app[CORE_KEY].reader(), visit.acting(Permission.PROOFS), number)
    done = DONE.get(request.query.get("done", ""))
    return page(request, visit, "dashboard_proof", shown=shown, done=done, go_code=number.rsplit("-", 1)[0])


async def proof_picture(request: web.Request, visit: Visit) -> web.Response:
    number, ordinal = request.match_info["number"], whole(request.match_info["ordinal"])
    shown = await proofs.proof_image(
        request.app[CORE_KEY].reader(), visit.acting(Permission.PROOFS), number, ordinal
    )
    if shown.image is None:
        raise NotFound("%(number)s has no proof of payment.", number=number)
    kind = shown.mime_type if shown.mime_type in IMAGE_TYPES else "application/octet-stream"
    return web.Response(body=shown.image, content_type=kind, headers=PRIVATE)


async def approve(request: web.Request, visit: Visit) -> web.StreamResponse:
    await checked_form(request, visit)
    number, ordinal = request.match_info["number"], whole(request.match_info["ordinal"])
    view = await proofs.approve_proof(
        request.app[CORE_KEY].uow(), visit.acting(Permission.PROOFS), number, ordinal
    )
    return _see_other(f"{ROOT}/orders/{quote(view.number)}/proofs?done=approved")


async def reject(request: web.Request, visit: Visit) -> web.StreamResponse:
    form = await checked_form(request, visit)
    number, ordinal = request.match_info["number"], whole(request.match_info["ordinal"])
    view = await proofs.reject_proof(
        request.app[CORE_KEY].uow(), visit.acting(Permission.PROOFS), number, form.get("reason", ""), ordinal
    )
    return _see_other(f"{ROOT}/orders/{quote(view.number)}/proofs?done=rejected")


async def packing(request: web.Request, visit: Visit) -> web.Response:
    view = await packing_for_team(
        request.app[CORE_KEY].reader(), visit.acting(Permission.SHIPMENTS), request.match_info["code"]
    )
    return web.Response(text=render_packing(view), content_type="text/html", headers=PRIVATE)


async def orders_file(request: web.Request, visit: Visit) -> web.Response:
    filename, content = await export_orders_csv(
        request.app[CORE_KEY].reader(), visit.acting(Permission.ORDERS), request.match_info["code"]
    )
    return _download(filename, content)


async def buyers_file(request: web.Request, visit: Visit) -> web.Response:
    filename, content = await buyer_sheet.buyer_totals_csv(
        request.app[CORE_KEY].reader(), visit.acting(Permission.ORDERS), request.match_info["code"]
    )
    return _download(filename, content)


def _download(filename: str, content: bytes) -> web.Response:
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    headers = {**PRIVATE, "Content-Disposition": disposition}
    return web.Response(body=content, content_type="text/csv", charset="utf-8", headers=headers)


def order_query(request: web.Request) -> OrderQuery:
    """``?page=2&show=unpaid&buyer=bob`` as the chat's ``/orders CODE page 2 unpaid @bob``."""
    raw = request.query
    shown = raw.get("show") or Show.ALL.value
    if shown not in {s.value for s in Show}:
        raise InvalidInput("Show all, unpaid or paid orders, not %(shown)s.", shown=shown[:20])
    buyer = (raw.get("buyer") or "").strip().lstrip("@")
    if len(buyer) > MAX_HANDLE:
        raise InvalidInput("That is not a buyer's handle: it is too long.")
    return OrderQuery(whole(raw["page"]) if raw.get("page") else None, Show(shown), buyer or None)


def whole(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise InvalidInput("%(text)s is not a number from 1 up.", text=text[:20])
    return int(text)


def add_dashboard_routes(app: web.Application, core: Core, renderer: Renderer) -> None:
    app[CORE_KEY] = core
    app[RENDERER_KEY] = renderer
    app.router.add_get(dashboard.SIGN_IN_ROUTE + "{token}", sign_in_page)
    app.router.add_post(dashboard.SIGN_IN_ROUTE + "{token}", sign_in)
    app.router.add_post(ROOT + "/sign-out", signed_in(sign_out))
    app.router.add_get(ROOT, signed_in(home))
    app.router.add_get(ROOT + "/go/{code}", signed_in(group_order))
    app.router.add_get(ROOT + "/go/{code}/payments", signed_in(payments))
    app.router.add_get(ROOT + "/go/{code}/buyers", signed_in(buyers))
    app.router.add_get(ROOT + "/go/{code}/proofs", signed_in(proofs_to_review))
    app.router.add_get(ROOT + "/go/{code}/packing", signed_in(packing))
    app.router.add_get(ROOT + "/go/{code}/orders.csv", signed_in(orders_file))
    app.router.add_get(ROOT + "/go/{code}/buyers.csv", signed_in(buyers_file))
    app.router.add_get(ROOT + "/orders/{number}/proofs", signed_in(order_proofs))
    app.router.add_get(ROOT + "/orders/{number}/proofs/{ordinal}/image", signed_in(proof_picture))
    app.router.add_post(ROOT + "/orders/{number}/proofs/{ordinal}/approve", signed_in(approve))
    app.router.add_post(ROOT + "/orders/{number}/proofs/{ordinal}/reject", signed_in(reject))
