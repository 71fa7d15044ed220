"""The page an email's confirmation link opens: the address then gets a GO's announcements.

Opening the link (GET) only shows what would be confirmed and a button; pressing it (POST)
confirms. Mail scanners that fetch every link in a message therefore confirm nothing:
only a person who reads the message and agrees does.
"""

from __future__ import annotations

from aiohttp import web

from core.app import Core
from core.errors import GomflowError, NotFound
from core.services.linked_channels import CONFIRM_ROUTE, confirm_link, pending_link
from web.pages import small_page

CORE_KEY = web.AppKey("links_core", Core)


async def ask(request: web.Request) -> web.Response:
    try:
        code, title, linked = await pending_link(request.app[CORE_KEY].reader(), request.match_info["token"])
    except NotFound as refusal:
        return small_page("Link not valid", refusal.message, status=404)
    except GomflowError as refusal:
        return small_page("Link not confirmed", refusal.message, status=410)
    if not linked.pending:
        return small_page("Confirmed", f"{linked.target} already gets the announcements of {code}.")
    return small_page(
        "Confirm announcements",
        f"Send the announcements of the group order {code} ({title}) to {linked.target}?",
        form="<form method=post><button type=submit>Yes, send them</button></form>",
    )


async def confirm(request: web.Request) -> web.Response:
    try:
        code, linked = await confirm_link(request.app[CORE_KEY].uow(), request.match_info["token"])
    except NotFound as refusal:
        return small_page("Link not valid", refusal.message, status=404)
    except GomflowError as refusal:
        return small_page("Link not confirmed", refusal.message, status=410)
    return small_page(
        "Confirmed",
        f"{linked.target} now gets the announcements of the group order {code}.",
    )


def add_link_routes(app: web.Application, core: Core) -> None:
    app[CORE_KEY] = core
    app.router.add_get(CONFIRM_ROUTE + "{token}", ask)
    app.router.add_post(CONFIRM_ROUTE + "{token}", confirm)
