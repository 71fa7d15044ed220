"""The page an email's confirmation link opens: the address then gets a GO's announcements.

Opening the link (GET) only shows what would be confirmed and a button; pressing it (POST)
confirms. Mail scanners that fetch every link in a message therefore confirm nothing:
only a person who reads the message and agrees does.
"""

from __future__ import annotations

import html

from aiohttp import web

from core.app import Core
from core.errors import GomflowError, NotFound
from core.services.linked_channels import CONFIRM_ROUTE, confirm_link, pending_link

CORE_KEY = web.AppKey("links_core", Core)
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


async def ask(request: web.Request) -> web.Response:
    try:
        code, title, linked = await pending_link(request.app[CORE_KEY].reader(), request.match_info["token"])
    except NotFound as refusal:
        return _page("Link not valid", refusal.message, status=404)
    except GomflowError as refusal:
        return _page("Link not confirmed", refusal.message, status=410)
    if not linked.pending:
        return _page("Confirmed", f"{linked.target} already gets the announcements of {code}.")
    return _page(
        "Confirm announcements",
        f"Send the announcements of the group order {code} ({title}) to {linked.target}?",
        form="<form method=post><button type=submit>Yes, send them</button></form>",
    )


async def confirm(request: web.Request) -> web.Response:
    try:
        code, linked = await confirm_link(request.app[CORE_KEY].uow(), request.match_info["token"])
    except NotFound as refusal:
        return _page("Link not valid", refusal.message, status=404)
    except GomflowError as refusal:
        return _page("Link not confirmed", refusal.message, status=410)
    return _page(
        "Confirmed",
        f"{linked.target} now gets the announcements of the group order {code}.",
    )


def _page(title: str, message: str, status: int = 200, form: str = "") -> web.Response:
    e = html.escape
    body = (
        f"<!doctype html><html><head><meta charset=utf-8><title>gomflow · {e(title)}</title>"
        '<meta name=viewport content="width=device-width,initial-scale=1"></head>'
        f"<body><h1>{e(title)}</h1><p>{e(message)}</p>{form}</body></html>"
    )
    return web.Response(text=body, content_type="text/html", status=status, headers=HEADERS)


def add_link_routes(app: web.Application, core: Core) -> None:
    app[CORE_KEY] = core
    app.router.add_get(CONFIRM_ROUTE + "{token}", ask)
    app.router.add_post(CONFIRM_ROUTE + "{token}", confirm)
