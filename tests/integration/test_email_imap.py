"""Email in from a mailbox over IMAP: the real client (aioimaplib) against the IMAP server
aioimaplib ships for testing, with IDLE and without it (polling)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from bots.email.adapter import EmailBot
from core.clock import FrozenClock
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import Order
from main import App, bootstrap
from platforms import PLATFORMS
from tests.conftest import open_go
from tests.e2e.test_command_line import free_port
from tests.fakes.mail import GOMFLOW, Relay, mail, relay, text_of

if TYPE_CHECKING:
    # aioimaplib's test server asks for the current event loop as it is imported, so the
    # tests import it inside their running loop (a test process may have no loop before)
    from aioimaplib.imap_testing_server import MockImapServer

BOB = "bob@example.test"


async def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def answers_to(out: Relay, message: EmailMessage) -> list[EmailMessage]:
    return [m for m in out.messages if m["In-Reply-To"] == message["Message-ID"]]


@asynccontextmanager
async def reading(
    tmp_path: Path, clock: FrozenClock, imap: MockImapServer, before: Callable[[App], object] | None = None
) -> AsyncIterator[tuple[App, Relay]]:
    """gomflow reading the test server's mailbox, answering through a local relay."""
    imap_port, relay_port = free_port(), free_port()
    server = await imap.run_server(host="127.0.0.1", port=imap_port)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/gomflow.db",
        smtp_host="127.0.0.1",
        smtp_port=relay_port,
        smtp_from=GOMFLOW,
        smtp_starttls=False,
        imap_host="127.0.0.1",
        imap_port=imap_port,
        imap_username=GOMFLOW,
        imap_password="secret",
        imap_ssl=False,
        imap_poll_seconds=0.2,
    )
    app = bootstrap(settings, clock=clock, write=lambda _: None)
    await upgrade(app.core.db)
    (platform,) = [p for p in PLATFORMS if p.name == "email"]
    assert platform.inbound is not None
    bot = platform.inbound(app.wiring, app.bot, app.channels["email"])
    assert isinstance(bot, EmailBot)
    try:
        with relay(relay_port) as out:
            await open_go(app)
            async with bot.running():
                yield app, out
    finally:
        server.close()
        await server.wait_closed()
        await app.core.close()


async def test_mail_waiting_and_mail_arriving_while_idle_are_answered_once(
    tmp_path: Path, clock: FrozenClock
) -> None:
    from aioimaplib.imap_testing_server import Mail, MockImapServer

    imap = MockImapServer()
    waiting = mail(BOB, "ORDER SVT-FML ALB:A 1")
    imap.receive(Mail(waiting), imap_user=GOMFLOW)
    imap.receive(Mail(waiting), imap_user=GOMFLOW)  # the same message twice: acted on once
    async with reading(tmp_path, clock, imap) as (app, out):
        await wait_for(lambda: bool(answers_to(out, waiting)))
        await imap.wait_state("IDLE", GOMFLOW)
        later = mail(BOB, "/myorders")
        imap.receive(Mail(later), imap_user=GOMFLOW)  # pushed to the idling client
        await wait_for(lambda: bool(answers_to(out, later)))
        assert "SVT-FML-1" in text_of(answers_to(out, later)[0])
        assert len(answers_to(out, waiting)) == 1
        async with app.core.reader() as uow:
            assert await uow.session.scalar(select(func.count()).select_from(Order)) == 1


async def test_a_server_without_idle_is_polled(tmp_path: Path, clock: FrozenClock) -> None:
    from aioimaplib.imap_testing_server import Mail, MockImapServer

    imap = MockImapServer(capabilities="UIDPLUS")
    async with reading(tmp_path, clock, imap) as (_, out):
        asked = mail(BOB, "/help")
        imap.receive(Mail(asked), imap_user=GOMFLOW)
        await wait_for(lambda: bool(answers_to(out, asked)))
        assert answers_to(out, asked)[0]["Subject"] == "Re: /help"
