"""The small pages a link in a message opens (confirm a channel, unsubscribe): private,
never cached, never indexed."""

from __future__ import annotations

import html

from aiohttp import web

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def small_page(title: str, message: str, status: int = 200, form: str = "") -> web.Response:
    """A title, a sentence and, where one is asked for, a form with its button."""
    e = html.escape
    body = (
        f"<!doctype html><html><head><meta charset=utf-8><title>gomflow · {e(title)}</title>"
        '<meta name=viewport content="width=device-width,initial-scale=1"></head>'
        f"<body><h1>{e(title)}</h1><p>{e(message)}</p>{form}</body></html>"
    )
    return web.Response(text=body, content_type="text/html", status=status, headers=HEADERS)
