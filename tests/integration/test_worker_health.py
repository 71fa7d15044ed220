"""``/healthz`` and ``/readyz`` on every worker, and the settings several workers need."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from core.config import Settings
from core.db.engine import strip_pgbouncer
from core.db.migrate import upgrade
from main import App, bootstrap
from web.app import build_web_app
from workers import refuse_workers


async def test_readyz_says_the_database_schema_and_role_and_healthz_only_that_it_is_alive(
    any_app: App,
) -> None:
    client = TestClient(TestServer(build_web_app(any_app.core, role=lambda: "follower"), host="127.0.0.1"))
    await client.start_server()
    try:
        ready = await client.get("/readyz")
        assert ready.status == 200
        assert await ready.json() == {
            "role": "follower",
            "database": "ok",
            "migrations": "current",
            "status": "ok",
        }
        alive = await client.get("/healthz")
        assert alive.status == 200 and await alive.json() == {"status": "ok"}
    finally:
        await client.close()


async def test_readyz_refuses_traffic_before_the_database_is_migrated(tmp_path: Path) -> None:
    app = bootstrap(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/new.db"), write=lambda _: None)
    client = TestClient(TestServer(build_web_app(app.core), host="127.0.0.1"))
    await client.start_server()
    try:
        ready = await client.get("/readyz")
        body = await ready.json()
        assert ready.status == 503 and body["status"] == "unavailable" and body["database"] == "ok"
        assert body["migrations"].startswith("unknown")
        assert (await client.get("/healthz")).status == 200  # alive all the same
        await upgrade(app.core.db)
        assert (await client.get("/readyz")).status == 200
    finally:
        await client.close()
        await app.core.close()


def test_pgbouncer_flag_is_taken_out_of_the_url_and_read() -> None:
    url = "postgresql+asyncpg://u@pool:6432/gomflow?pgbouncer=true&ssl=require"
    assert strip_pgbouncer(url) == ("postgresql+asyncpg://u@pool:6432/gomflow?ssl=require", True)
    assert strip_pgbouncer("postgresql+asyncpg://u@db/gomflow") == (
        "postgresql+asyncpg://u@db/gomflow",
        False,
    )
    assert strip_pgbouncer("postgresql+asyncpg://u@db/g?pgbouncer=false")[1] is False


def test_several_workers_are_refused_on_sqlite_with_the_reason() -> None:
    refusal = refuse_workers(2, "sqlite+aiosqlite:///./gomflow.db")
    assert refusal is not None and "needs PostgreSQL" in refusal
    assert refuse_workers(1, "sqlite+aiosqlite:///./gomflow.db") is None
    assert refuse_workers(4, "postgresql://gomflow@db/gomflow") is None
    assert refuse_workers(0, "postgresql://gomflow@db/gomflow") is not None
    assert Settings.from_env({"GOMFLOW_DB_PGBOUNCER": "true"}).db_pgbouncer
    assert Settings.from_env({"GOMFLOW_HTTP_REUSE_PORT": "1"}).http_reuse_port
