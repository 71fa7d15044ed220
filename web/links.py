"""The page an email's confirmation link opens: the address then gets a GO's announcements."""

from __future__ import annotations

import html

from aiohttp import web

from core.app import Core
from core.errors import GomflowError, NotFound
from core.services.linked_channels import CONFIRM_ROUTE, confirm_link

CORE_KEY = web.AppKey("links_core", Core)
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


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


def _page(title: str, message: str, status: int = 200) -> web.Response:
    e = html.escape
    body = (
        f"<!doctype html><html><head><meta charset=utf-8><title>gomflow · {e(title)}</title>"
        '<meta name=viewport content="width=device-width,initial-scale=1"></head>'
        f"<body><h1>{e(title)}</h1><p>{e(message)}</p></body></html>"
    )
    return web.Response(text=body, content_type="text/html", status=status, headers=HEADERS)


def add_link_routes(app: web.Application, core: Core) -> None:
    app[CORE_KEY] = core
    app.router.add_get(CONFIRM_ROUTE + "{token}", confirm)
