"""The one-click unsubscribe link of promotional email (RFC 8058).

A mail program's one-click button POSTs ``List-Unsubscribe=One-Click`` to the link, which
mutes the recipient. Opening the link (GET) only shows a page with a button, so a mail
scanner that fetches every link unsubscribes nobody.
"""

from __future__ import annotations

import html

from aiohttp import web

from core.app import Core
from core.errors import GomflowError
from core.services.unsubscribe import ROUTE, recipient, unsubscribe

CORE_KEY = web.AppKey("unsubscribe_core", Core)
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


async def ask(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    try:
        address, muted = await recipient(core.reader(), core.settings.secret_key, request.match_info["token"])
    except GomflowError as refusal:
        return _page("Link not valid", refusal.message, status=404)
    if muted:
        return _page("Unsubscribed", f"{address} gets no announcements from gomflow.")
    return _page(
        "Unsubscribe",
        f"Stop gomflow's announcements to {address}? Messages about your own orders and payments still come.",
        form="<form method=post><button type=submit>Unsubscribe</button></form>",
    )


async def mute(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    try:
        address = await unsubscribe(core.uow(), core.settings.secret_key, request.match_info["token"])
    except GomflowError as refusal:
        return _page("Link not valid", refusal.message, status=404)
    return _page(
        "Unsubscribed",
        f"{address} gets no more announcements. Messages about your own orders and payments still come; "
        "send /unmute to gomflow to get announcements again.",
    )


def _page(title: str, message: str, status: int = 200, form: str = "") -> web.Response:
    e = html.escape
    body = (
        f"<!doctype html><html><head><meta charset=utf-8><title>gomflow · {e(title)}</title>"
        '<meta name=viewport content="width=device-width,initial-scale=1"></head>'
        f"<body><h1>{e(title)}</h1><p>{e(message)}</p>{form}</body></html>"
    )
    return web.Response(text=body, content_type="text/html", status=status, headers=HEADERS)


def add_unsubscribe_routes(app: web.Application, core: Core) -> None:
    app[CORE_KEY] = core
    app.router.add_get(ROUTE + "{token}", ask)
    app.router.add_post(ROUTE + "{token}", mute)
