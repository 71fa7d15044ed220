"""One-click unsubscribe (RFC 8058): promotional email carries its recipient's own link,
gomflow serves it (POST mutes, GET asks), and mail about one's own orders still goes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from channels.setup import close_all
from core.clock import FrozenClock
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import Identity, User
from core.privacy.identities import stored_id
from core.services import broadcasts
from core.services.unsubscribe import token_for
from main import App, bootstrap
from tests.conftest import gom, open_go
from tests.e2e.test_command_line import free_port
from tests.fakes.crowd import seed_buyers
from tests.fakes.mail import GOMFLOW, Relay, relay
from web.app import build_web_app

SECRET = "test-secret-key"
AMY = "amy0@example.test"


@pytest.fixture
async def served(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[tuple[App, Relay, str]]:
    port = free_port()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/gomflow.db",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from=GOMFLOW,
        smtp_starttls=False,
        secret_key=SECRET,
    )
    app = bootstrap(settings, clock=clock, write=lambda _: None)
    await upgrade(app.core.db)
    runner = web.AppRunner(build_web_app(app.core), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        with relay(port) as out:
            yield app, out, base
    finally:
        await runner.cleanup()
        await close_all(app.channels)
        await app.core.close()


async def muted(app: App, address: str) -> bool:
    async with app.core.reader() as uow:
        value = await uow.session.scalar(
            select(User.muted)
            .join(Identity, Identity.user_id == User.id)
            .where(Identity.external_id == stored_id("email", address))
        )
    return bool(value)


async def test_a_broadcast_carries_a_one_click_link_that_mutes_by_post(
    served: tuple[App, Relay, str],
) -> None:
    app, out, base = served
    await open_go(app)
    await seed_buyers(app.core, "SVT-FML", 2, "email", lambda i: f"amy{i}@example.test")
    gina = await gom(app)
    await broadcasts.prepare_broadcast(app.core.uow(), gina, "SVT-FML", "all", "Restock!", confirm_over=10)
    await app.dispatcher.run_once()
    (first,) = out.to(AMY)
    (second,) = out.to("amy1@example.test")
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    published = str(first["List-Unsubscribe"]).split(",")[0].strip().strip("<>")
    assert published.startswith(app.core.settings.public_base_url + "/unsubscribe/")
    assert published != str(second["List-Unsubscribe"]).split(",")[0].strip().strip("<>")  # one each
    link = base + urlsplit(published).path  # where this test serves GOMFLOW_PUBLIC_BASE_URL

    async with aiohttp.ClientSession() as http:
        async with http.get(link) as page:  # a scanner opening the link mutes nobody
            assert page.status == 200 and "<form method=post>" in await page.text()
        assert not await muted(app, AMY)
        async with http.post(link, data={"List-Unsubscribe": "One-Click"}) as done:
            assert done.status == 200 and "no more announcements" in await done.text()
        assert await muted(app, AMY) and not await muted(app, "amy1@example.test")
        async with http.post(link, data={"List-Unsubscribe": "One-Click"}) as again:
            assert again.status == 200  # safe to repeat
        forged = link.rsplit(".", 1)[0] + ".0123456789abcdef0123456789abcdef"
        async with http.post(forged) as refused:
            assert refused.status == 404 and "not valid" in await refused.text()
        async with http.get(f"{base}/unsubscribe/nothing") as refused:
            assert refused.status == 404


async def test_mail_about_ones_own_order_still_goes_and_has_no_one_click_link(
    served: tuple[App, Relay, str],
) -> None:
    app, out, base = served
    await open_go(app, moq=1)
    await seed_buyers(app.core, "SVT-FML", 1, "email", lambda i: f"amy{i}@example.test")
    async with app.core.reader() as uow:
        identity_id = await uow.session.scalar(
            select(Identity.id).where(Identity.external_id == stored_id("email", AMY))
        )
    assert identity_id is not None
    url = f"{base}/unsubscribe/{token_for(SECRET, identity_id)}"
    async with aiohttp.ClientSession() as http, http.post(url) as done:
        assert done.status == 200
    gina = await gom(app)
    await broadcasts.prepare_broadcast(app.core.uow(), gina, "SVT-FML", "all", "Restock!", confirm_over=10)
    from tests.conftest import say

    await say(app, "gina", "/close SVT-FML confirm")  # the MOQ is met: each buyer is told
    await app.dispatcher.run_once()
    (told,) = out.to(AMY)
    assert "Restock!" not in told.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert told["List-Unsubscribe-Post"] is None
