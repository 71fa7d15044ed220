"""Shared fixtures: a real database (a SQLite file, or PostgreSQL when configured) per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bots.chat import ChatReply, ChatRequest
from bots.dispatch import handle
from core.check import check_database
from core.clock import FrozenClock
from core.config import Settings
from core.services.accounts import Actor, identify, register_gom
from main import App, bootstrap
from templates.i18n import translations
from tests.databases import fresh_postgres, fresh_sqlite, worker_postgres_url

POSTGRES_URL = worker_postgres_url(os.environ.get("GOMFLOW_TEST_POSTGRES_URL"))
if POSTGRES_URL:
    os.environ["GOMFLOW_TEST_POSTGRES_URL"] = POSTGRES_URL  # subprocesses and benchmarks use the same
NO_POSTGRES = "GOMFLOW_TEST_POSTGRES_URL is not set; set it to a PostgreSQL URL to run these tests"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)),
]
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


async def fresh_database_url(backend: str, tmp_path: Path) -> str:
    """A fresh database at the newest schema: a SQLite file, or the emptied test PostgreSQL database."""
    if backend == "postgres":
        assert POSTGRES_URL is not None
        return await fresh_postgres(POSTGRES_URL)
    return await fresh_sqlite(tmp_path / "gomflow.db")


async def make_app(backend: str, tmp_path: Path, clock: FrozenClock, outbox: list[str]) -> App:
    url = await fresh_database_url(backend, tmp_path)
    return bootstrap(Settings(database_url=url), clock=clock, write=outbox.append)


@pytest.fixture
def outbox_log() -> list[str]:
    """What the console transport printed: notifications delivered to console users."""
    return []


@pytest.fixture
async def app(tmp_path: Path, clock: FrozenClock, outbox_log: list[str]) -> AsyncIterator[App]:
    app = await make_app("sqlite", tmp_path, clock, outbox_log)
    yield app
    await app.core.close()


@pytest.fixture(params=BACKENDS)
async def any_app(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock, outbox_log: list[str]
) -> AsyncIterator[App]:
    """The same test on SQLite and, when configured, on PostgreSQL."""
    app = await make_app(request.param, tmp_path, clock, outbox_log)
    yield app
    await app.core.close()


async def say(
    app: App,
    who: str,
    text: str,
    *,
    channel: str = "console",
    in_group: bool = False,
    language: str | None = None,
) -> ChatReply:
    """Send one chat message as ``who`` (whose app says they read ``language``) and return
    gomflow's answer."""
    request = ChatRequest(
        channel, who, who, text, handle=who, chat_id=who, in_group=in_group, language=language
    )
    return await handle(app.bot, request)


def in_language(language: str, message: str, **values: str) -> str:
    """``message`` as the catalogue of ``language`` has it, filled in (never the English:
    a test that means a translation fails on a message without one)."""
    text = translations(language).gettext(message)
    assert text != message, f"{language} has no translation of {message!r}"
    return text % values if values else text


async def gom(app: App, name: str = "gina") -> Actor:
    return await register_gom(app.core.uow(), "console", name, name)


async def buyer(app: App, name: str) -> Actor:
    return await identify(app.core.uow(), "console", name, name, name)


async def open_go(
    app: App,
    code: str = "SVT-FML",
    *,
    moq: int = 2,
    cap: int = 10,
    limit: int | None = None,
    owner: str = "gina",
    items: tuple[str, ...] = ('ALB 25.90 "FML album" versions="A:Faded Mono Life,B:Fallen Misfit"',),
    methods: str = "manual",
    window: int | None = None,
) -> None:
    """Create and open a GO through the real GOM commands (a GO opens only with a way to
    pay: ``methods``, proofs of transfer by default); fail loudly if any step is refused."""
    await gom(app, owner)
    limit_part = f" limit={limit}" if limit else ""
    limit_part += f" window={window}" if window else ""
    steps = [f'/newgo {code} "Test GO" currency=SGD moq={moq} cap={cap}{limit_part} deadline=+3d']
    steps += [f"/additem {code} {item}" for item in items]
    steps += [f"/paymethods {code} {methods}", f"/open {code}"]
    for step in steps:
        reply = await say(app, owner, step)
        assert not reply.text.startswith("⚠️"), (step, reply.text)


async def confirmation_token(app: App, address: str) -> str:
    """The token of the newest confirmation link queued for an email ``address``."""
    import json

    from sqlalchemy import select

    from core.db.models import Identity, OutboxMessage
    from core.privacy.identities import stored_id

    async with app.core.reader() as uow:
        context = await uow.session.scalar(
            select(OutboxMessage.context)
            .join(Identity, Identity.id == OutboxMessage.identity_id)
            .where(Identity.external_id == stored_id("email", address))
            .where(OutboxMessage.template == "link_confirm")
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    assert context is not None, f"no confirmation link was queued for {address}"
    url: str = json.loads(context)["url"]
    return url.rsplit("/", 1)[1]


async def link_email(app: App, owner: str, code: str, address: str) -> None:
    """Link an email list to a GO the way a GOM does: /linkchannel, then the link is opened."""
    from core.services.linked_channels import confirm_link

    reply = await say(app, owner, f"/linkchannel {code} email {address}")
    assert "confirmation link" in reply.text, reply.text
    await confirm_link(app.core.uow(), await confirmation_token(app, address))


async def assert_checks_pass(app: App) -> None:
    """``gomflow check`` would be green: every invariant of the database holds."""
    failed = [f"{r.name}: {r.detail}" for r in await check_database(app.core.db) if not r.ok]
    assert not failed, "\n".join(failed)


def count_desk_trips(app: App, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every piece of work handed to the order desk from now on (an order, a lookup…)."""
    trips: list[Any] = []
    submit = app.core.desk._submit

    async def counted(command: Any) -> Any:
        trips.append(command)
        return await submit(command)

    monkeypatch.setattr(app.core.desk, "_submit", counted)
    return trips
