"""Security headers on every response the web app sends: pages, images, redirects, errors.

Set as a response-prepare signal rather than a middleware, so a 404 raised by a handler
or aiohttp's own error pages get them too. A route that needs a stricter policy (the
packing page) sets its own header, which is kept.
"""

from __future__ import annotations

from aiohttp import web

# Our pages load nothing but their own QR image and inline styles; forms post to
# ourselves, and a payment button's answer is a redirect to the provider (https).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # no page of ours in someone else's frame (a pay page under a fake shop)
    "X-Content-Type-Options": "nosniff",  # a PNG is a PNG, never sniffed into a script
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def secure_every_response(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
