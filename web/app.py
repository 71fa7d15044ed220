"""The aiohttp application."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from sqlalchemy import text

from core.app import Core
from core.render import Renderer
from templates import JinjaRenderer
from web.dashboard import add_dashboard_routes
from web.headers import secure_every_response
from web.health import add_health_routes
from web.links import add_link_routes
from web.metrics import add_metrics_routes
from web.packing import add_packing_routes
from web.payments import add_payment_routes
from web.unsubscribe import add_unsubscribe_routes

CORE = web.AppKey("core", Core)


async def health(request: web.Request) -> web.Response:
    """Up only if the database answers: a load balancer should stop sending us traffic otherwise."""
    try:
        async with request.app[CORE].db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        return web.json_response({"status": "unavailable", "database": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


def build_web_app(
    core: Core, role: Callable[[], str] = lambda: "leader", renderer: Renderer | None = None
) -> web.Application:
    """The web app; ``role`` tells ``/readyz`` whether this worker leads (one process always
    does); ``renderer`` writes its pages (the bots' own, so both read one set of catalogues)."""
    app = web.Application(client_max_size=1024 * 1024)
    app[CORE] = core
    secure_every_response(app)
    app.router.add_get("/health", health)
    add_health_routes(app, core, role)
    renderer = renderer or JinjaRenderer()
    add_payment_routes(app, core, renderer)
    add_dashboard_routes(app, core, renderer)
    add_link_routes(app, core)
    add_unsubscribe_routes(app, core)
    add_packing_routes(app, core)
    add_metrics_routes(app, core)
    return app
