"""The one-click unsubscribe link of promotional email (RFC 8058).

A mail program's one-click button POSTs ``List-Unsubscribe=One-Click`` to the link, which
mutes the recipient. Opening the link (GET) only shows a page with a button, so a mail
scanner that fetches every link unsubscribes nobody.
"""

from __future__ import annotations

from aiohttp import web

from core.app import Core
from core.errors import GomflowError
from core.services.unsubscribe import ROUTE, recipient, unsubscribe
from web.pages import small_page

CORE_KEY = web.AppKey("unsubscribe_core", Core)


async def ask(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    try:
        address, muted = await recipient(core.reader(), core.settings.secret_key, request.match_info["token"])
    except GomflowError as refusal:
        return small_page("Link not valid", refusal.message, status=404)
    if muted:
        return small_page("Unsubscribed", f"{address} gets no announcements from gomflow.")
    return small_page(
        "Unsubscribe",
        f"Stop gomflow's announcements to {address}? Messages about your own orders and payments still come.",
        form="<form method=post><button type=submit>Unsubscribe</button></form>",
    )


async def mute(request: web.Request) -> web.Response:
    core = request.app[CORE_KEY]
    try:
        address = await unsubscribe(core.uow(), core.settings.secret_key, request.match_info["token"])
    except GomflowError as refusal:
        return small_page("Link not valid", refusal.message, status=404)
    return small_page(
        "Unsubscribed",
        f"{address} gets no more announcements. Messages about your own orders and payments still come; "
        "send /unmute to gomflow to get announcements again.",
    )


def add_unsubscribe_routes(app: web.Application, core: Core) -> None:
    app[CORE_KEY] = core
    app.router.add_get(ROUTE + "{token}", ask)
    app.router.add_post(ROUTE + "{token}", mute)
