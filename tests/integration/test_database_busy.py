"""When the database has no connection free, a person is told to try again in a moment
and a payment provider is told to retry (503), instead of "something went wrong"."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from asyncpg.exceptions import TooManyConnectionsError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bench.common import wipe_postgres
from core.clock import FrozenClock
from core.config import Settings
from core.db.engine import database_busy
from core.db.migrate import upgrade
from core.errors import DatabaseBusy
from core.payments.hitpay import HitPayRequests, sign
from main import App, bootstrap
from tests.conftest import NO_POSTGRES, POSTGRES_URL, open_go, say
from web.app import build_web_app
from web.http_client import AiohttpClient

SALT = "hitpay_busy_salt"


@pytest.fixture
async def one_connection(clock: FrozenClock) -> AsyncIterator[App]:
    """gomflow on PostgreSQL with a pool of one connection and a short wait for it."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    await wipe_postgres(POSTGRES_URL)
    settings = Settings(database_url=POSTGRES_URL, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.5)
    app = bootstrap(settings, clock=clock, write=lambda _: None)
    await upgrade(app.core.db)
    yield app
    await app.core.close()


async def test_a_full_pool_answers_busy_in_the_chat_and_503_to_a_webhook(one_connection: App) -> None:
    app = one_connection
    pool = app.core.db.engine.pool
    assert (pool.size(), pool.timeout()) == (1, 0.5)  # type: ignore[attr-defined]
    await open_go(app)
    http = AiohttpClient()
    app.core.payment_gateways["hitpay"] = HitPayRequests(http, "key", SALT, "http://127.0.0.1:9")
    client = TestClient(TestServer(build_web_app(app.core), host="127.0.0.1"))
    await client.start_server()
    body = json.dumps({"id": "hp_1", "status": "completed", "amount": "25.90", "currency": "SGD"}).encode()
    try:
        async with app.core.db.engine.connect() as held:  # the only connection
            await held.execute(text("SELECT 1"))
            reply = await say(app, "bob", "/order SVT-FML ALB:A 1")
            assert reply.text == "⚠️ " + DatabaseBusy.MESSAGE, reply.text
            webhook = await client.post(
                "/webhooks/hitpay", data=body, headers={"Hitpay-Signature": sign(body, SALT)}
            )
            assert webhook.status == 503 and webhook.headers["Retry-After"]
        # the connection is back: the same message now goes through
        assert "SVT-FML-1" in (await say(app, "bob", "/order SVT-FML ALB:A 1")).text
        webhook = await client.post(
            "/webhooks/hitpay", data=body, headers={"Hitpay-Signature": sign(body, SALT)}
        )
        assert webhook.status == 200
    finally:
        await client.close()
        await http.close()


def test_pool_settings_come_from_the_environment() -> None:
    env = {"GOMFLOW_DB_POOL_SIZE": "3", "GOMFLOW_DB_MAX_OVERFLOW": "0", "GOMFLOW_DB_POOL_TIMEOUT": "2.5"}
    settings = Settings.from_env(env)
    assert (settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout) == (3, 0, 2.5)
    default = Settings.from_env({})
    assert (default.db_pool_size, default.db_max_overflow, default.db_pool_timeout) == (10, 20, 30.0)


def test_what_counts_as_busy() -> None:
    """The pool's timeout, PostgreSQL's too_many_connections as asyncpg raises it (however
    SQLAlchemy wraps or chains it), and SQLite's lock; nothing else."""
    locked = sqlite3.OperationalError("database is locked")
    wrapped = DBAPIError("SELECT 1", None, TooManyConnectionsError("sorry, too many clients already"))
    for exc in (PoolTimeout("QueuePool limit reached"), OperationalError("BEGIN", None, locked), wrapped):
        assert isinstance(database_busy(exc), DatabaseBusy), exc
    try:
        try:
            raise TooManyConnectionsError("sorry, too many clients already")
        except TooManyConnectionsError as inner:
            raise RuntimeError("while connecting") from inner
    except RuntimeError as outer:
        assert database_busy(outer) is not None
    for exc in (ValueError("x"), OperationalError("x", None, sqlite3.OperationalError("no such table: x"))):
        assert database_busy(exc) is None


async def test_settings_reach_the_engine(tmp_path: Path, clock: FrozenClock) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/gomflow.db"
    app = bootstrap(
        Settings(database_url=url, db_pool_size=2, db_pool_timeout=4.0), clock=clock, write=lambda _: None
    )
    try:
        pool: Any = app.core.db.engine.pool
        assert (pool.size(), pool.timeout()) == (2, 4.0)
    finally:
        await app.core.close()
