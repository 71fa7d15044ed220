"""Telegram's webhook: updates arrive at ``/webhooks/telegram``.

The secret token Telegram sends in ``X-Telegram-Bot-Api-Secret-Token`` is checked before
the body is even read (DESIGN rule 9). The answer is 200 only once the update is recorded
in the database (``feed`` returns when it is committed), so a crash after the 200 cannot
lose it; when it could not be recorded the answer is 503 and Telegram delivers it again
(DESIGN rule 5).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def add_telegram_webhook(
    app: web.Application, secret: str, feed: Callable[[dict[str, Any]], Awaitable[None]]
) -> None:
    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.json_response({"error": "wrong or missing secret token"}, status=403)
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("no update_id")
            await feed(data)
        except ValueError:
            return web.json_response({"error": "not a Telegram update"}, status=400)
        except Exception:  # the outermost boundary of the request: Telegram will retry
            log.exception("could not record a Telegram update")
            return web.json_response({"error": "not recorded; please retry"}, status=503)
        return web.json_response({"ok": True})

    app.router.add_post(PATH, receive)
