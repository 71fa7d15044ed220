"""Health for load balancers and supervisors, on every worker.

* ``/healthz``: the process is alive and serving (no database call), for a liveness probe.
* ``/readyz``: ready for traffic — the database answers, its schema is the one this code
  expects, and which role this worker has (leader or follower); 503 with the reason
  otherwise. JSON either way.
* ``/health`` (kept for existing monitors): the database answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web
from sqlalchemy import text

from core.app import Core
from core.db.migrate import migrations_current

ROLE: web.AppKey[Callable[[], str]] = web.AppKey("worker_role")
READY_CORE = web.AppKey("ready_core", Core)
CHECK_TIMEOUT = 5.0  # seconds: a database that does not answer by then is not ready


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    core = request.app[READY_CORE]
    body: dict[str, str] = {"role": request.app[ROLE]()}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            async with core.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:
        body.update(status="unavailable", database=f"unreachable ({type(exc).__name__})")
        return web.json_response(body, status=503)
    body["database"] = "ok"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            current = await migrations_current(core.db)
        body["migrations"] = "current" if current else "behind: run gomflow db upgrade"
    except Exception as exc:  # no alembic_version table yet, say
        current = False
        body["migrations"] = f"unknown ({type(exc).__name__})"
    body["status"] = "ok" if current else "unavailable"
    return web.json_response(body, status=200 if current else 503)


def add_health_routes(app: web.Application, core: Core, role: Callable[[], str]) -> None:
    app[READY_CORE] = core
    app[ROLE] = role
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
