"""/linkchannel links only what the GOM controls: Telegram and Discord are asked (through
their loopback fakes), an email address must open its one-time link on gomflow's web app."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bots.chat import ChatReply
from bots.telegram.verify import TelegramVerifier
from channels.discord import DiscordChannel
from channels.discord_verify import ADMINISTRATOR, MANAGE_CHANNELS, DiscordVerifier
from core.clock import FrozenClock
from core.config import Settings, TelegramSettings
from core.db.models import AuditEntry, LinkedChannel
from core.render import Rendered
from core.services.accounts import register_gom
from main import App, bootstrap, close_verifiers
from tests.conftest import confirmation_token, open_go, say
from tests.fakes.discord_api import TOKEN, FakeDiscordAPI
from tests.fakes.telegram_api import FakeTelegram
from web.app import build_web_app

GOM_TG = 900
GROUP = "-1001234567890"
SEND_MESSAGES = 1 << 11


async def linked_count(app: App) -> int:
    async with app.core.reader() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(LinkedChannel)) or 0)


async def join_as_manager(app: App, who: str, channel: str) -> None:
    """Gina's manager on another platform, through an invite code (a handle is per platform):
    linked channels carry broadcasts, which a helper may not send."""
    code = re.search(r"/join (\S+)", (await say(app, "gina", "/helper invite")).text)
    assert code is not None
    joined = await say(app, who, f"/join {code.group(1)}", channel=channel)
    assert "You now help gina" in joined.text, joined.text
    promoted = await say(app, "gina", f"/helper role {who} manager")
    assert "⚠️" not in promoted.text, promoted.text


async def broadcast_reach(app: App, owner: str, channel: str = "console") -> str:
    return (await say(app, owner, "/broadcast SVT-FML channels Doors open at 8", channel=channel)).text


def the_app(request: pytest.FixtureRequest) -> App:
    """The test's own app: ``any_app`` (both databases) or ``app`` (SQLite, for cases where
    only the platform's answer varies)."""
    app: App = request.getfixturevalue("any_app" if "any_app" in request.fixturenames else "app")
    return app


# ------------------------------------------------------------------ Telegram


@pytest.fixture
async def telegram(request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegram]:
    app = the_app(request)
    fake = FakeTelegram()
    await fake.start()
    verifier = TelegramVerifier(TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url))
    app.core.channel_verifiers["telegram"] = verifier
    await register_gom(app.core.uow(), "telegram", str(GOM_TG), "Gina")
    await open_go(app, owner="gina")
    await join_as_manager(app, str(GOM_TG), "telegram")
    yield fake
    await verifier.close()
    await fake.stop()


async def test_telegram_chat_is_linked_when_the_bot_and_the_gom_both_administer_it(
    any_app: App, telegram: FakeTelegram
) -> None:
    bot_id = telegram.bot["id"]
    telegram.chat_members[GROUP] = {bot_id: "administrator", GOM_TG: "member"}
    link = f"/linkchannel SVT-FML telegram {GROUP}"
    refused = await say(any_app, str(GOM_TG), link, channel="telegram")
    assert refused.alert and "Only an administrator of" in refused.text
    assert await linked_count(any_app) == 0

    telegram.chat_members[GROUP][GOM_TG] = "creator"
    reply = await say(any_app, str(GOM_TG), link, channel="telegram")

    assert "now gets SVT-FML's announcements" in reply.text, reply.text
    asked = {(str(c.params["chat_id"]), int(c.params["user_id"])) for c in telegram.calls_to("getChatMember")}
    assert asked == {(GROUP, bot_id), (GROUP, GOM_TG)}
    assert await linked_count(any_app) == 1


@pytest.mark.parametrize(
    ("members", "refusal"),
    [
        ({"bot": "administrator", "gom": "member"}, "Only an administrator of"),
        ({"bot": "administrator"}, "Only an administrator of"),
        ({"bot": "member", "gom": "creator"}, "Make me an administrator of"),
        (None, "Telegram does not let me see"),
    ],
    ids=["gom-is-a-member", "gom-not-in-chat", "bot-not-admin", "unknown-chat"],
)
async def test_telegram_chat_is_refused_unless_both_administer_it(
    app: App, telegram: FakeTelegram, members: dict[str, str] | None, refusal: str
) -> None:
    if members is not None:
        ids = {"bot": telegram.bot["id"], "gom": GOM_TG}
        telegram.chat_members[GROUP] = {ids[who]: status for who, status in members.items()}

    reply = await say(app, str(GOM_TG), f"/linkchannel SVT-FML telegram {GROUP}", channel="telegram")

    assert reply.alert and refusal in reply.text, reply.text
    assert await linked_count(app) == 0
    assert "on its way to 0 recipient(s)" in await broadcast_reach(app, "gina")


async def test_a_channel_named_by_username_is_linked_by_its_permanent_id(
    app: App, telegram: FakeTelegram
) -> None:
    telegram.chat_members[GROUP] = {telegram.bot["id"]: "administrator", GOM_TG: "administrator"}
    telegram.chat_usernames["@svtfans"] = int(GROUP)

    reply = await say(app, str(GOM_TG), "/linkchannel SVT-FML telegram @svtfans", channel="telegram")

    assert f"telegram {GROUP} now gets" in reply.text, reply.text
    telegram.chat_usernames = {"@svtfans": -1009999}  # the name moves to a stranger's channel
    telegram.chat_members["-1009999"] = {}
    listed = (await say(app, "gina", "/channels SVT-FML")).text
    assert f"telegram {GROUP}" in listed and "@svtfans" not in listed


async def test_a_gom_unknown_on_telegram_cannot_link_a_telegram_chat(
    app: App, telegram: FakeTelegram
) -> None:
    await join_as_manager(app, "otto", "console")
    telegram.chat_members[GROUP] = {telegram.bot["id"]: "administrator", GOM_TG: "creator"}

    reply = await say(app, "otto", f"/linkchannel SVT-FML telegram {GROUP}")

    assert "Write to me on telegram first" in reply.text
    assert telegram.calls_to("getChatMember") == []
    assert await linked_count(app) == 0


async def test_the_composition_root_gives_the_core_a_verifier_per_configured_platform(
    tmp_path: Path, clock: FrozenClock
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/v.db",
        discord_bot_token="d-token",
        discord_api_base="http://127.0.0.1:9/api/v10",
    )
    app = bootstrap(settings, clock=clock, telegram=TelegramSettings(bot_token="1:x"))
    try:
        assert isinstance(app.core.channel_verifiers["telegram"], TelegramVerifier)
        assert isinstance(app.core.channel_verifiers["discord"], DiscordVerifier)
    finally:
        await close_verifiers(app.core)
        await app.core.close()
    bare = bootstrap(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/b.db"), clock=clock)
    assert bare.core.channel_verifiers == {}
    await bare.core.close()


# ------------------------------------------------------------------ Discord

GUILD = "700000000000000001"
CHANNEL = "123456789012345678"
GOM_DC = "555000000000000001"
MODS = "800000000000000001"


@pytest.fixture
async def discord(request: pytest.FixtureRequest) -> AsyncIterator[FakeDiscordAPI]:
    app = the_app(request)
    fake = FakeDiscordAPI()
    base = await fake.start()
    verifier = DiscordVerifier(TOKEN, base)
    app.core.channel_verifiers["discord"] = verifier
    await register_gom(app.core.uow(), "discord", GOM_DC, "Gina")
    await open_go(app, owner="gina")
    await join_as_manager(app, GOM_DC, "discord")
    yield fake
    await verifier.close()
    await fake.stop()


async def link_discord(app: App) -> ChatReply:
    return await say(app, GOM_DC, f"/linkchannel SVT-FML discord {CHANNEL}", channel="discord")


@pytest.mark.parametrize(
    ("roles", "overwrites", "owner", "linked"),
    [
        ({MODS: MANAGE_CHANNELS}, [], False, True),
        ({MODS: ADMINISTRATOR}, [(MODS, 0, 0, MANAGE_CHANNELS)], False, True),
        ({}, [], True, True),
        ({MODS: SEND_MESSAGES}, [], False, False),
        ({MODS: MANAGE_CHANNELS}, [(MODS, 0, 0, MANAGE_CHANNELS)], False, False),
        ({MODS: MANAGE_CHANNELS}, [(GOM_DC, 1, 0, MANAGE_CHANNELS)], False, False),
        ({MODS: SEND_MESSAGES}, [(GOM_DC, 1, MANAGE_CHANNELS, 0)], False, True),
        ({GUILD: MANAGE_CHANNELS}, [(GUILD, 0, 0, MANAGE_CHANNELS)], False, False),
    ],
    ids=[
        "role-manages",
        "administrator-beats-overwrites",
        "server-owner",
        "role-cannot-manage",
        "role-overwrite-denies",
        "member-overwrite-denies",
        "member-overwrite-allows",
        "everyone-overwrite-denies",
    ],
)
async def test_discord_permissions_in_the_channel_decide(
    app: App,
    discord: FakeDiscordAPI,
    roles: dict[str, int],
    overwrites: list[tuple[str, int, int, int]],
    owner: bool,
    linked: bool,
) -> None:
    discord.add_guild(GUILD, owner_id=GOM_DC if owner else "1", roles={GUILD: SEND_MESSAGES, **roles})
    discord.add_member(GUILD, GOM_DC, [MODS] if MODS in roles else [])
    discord.add_channel(CHANNEL, GUILD, overwrites)

    reply = await link_discord(app)

    if linked:
        assert "now gets SVT-FML's announcements" in reply.text, reply.text
    else:
        assert reply.alert and "Discord says you may not" in reply.text, reply.text
    assert await linked_count(app) == int(linked)


async def test_discord_channel_is_linked_only_once_the_gom_may_manage_it(
    any_app: App, discord: FakeDiscordAPI
) -> None:
    discord.add_guild(GUILD, owner_id="1", roles={GUILD: SEND_MESSAGES, MODS: SEND_MESSAGES})
    discord.add_member(GUILD, GOM_DC, [MODS])
    discord.add_channel(CHANNEL, GUILD, [])
    refused = await link_discord(any_app)
    assert refused.alert and "Discord says you may not" in refused.text
    assert await linked_count(any_app) == 0

    discord.add_guild(GUILD, owner_id="1", roles={GUILD: SEND_MESSAGES, MODS: MANAGE_CHANNELS})
    assert "now gets SVT-FML's announcements" in (await link_discord(any_app)).text
    assert "on its way to 1 recipient(s)" in await broadcast_reach(any_app, "gina")


async def test_discord_channel_of_a_server_the_gom_is_not_in_is_refused(
    app: App, discord: FakeDiscordAPI
) -> None:
    discord.add_guild(GUILD, owner_id="1", roles={GUILD: SEND_MESSAGES})
    discord.add_channel(CHANNEL, GUILD, [])
    assert "not a member of the server" in (await link_discord(app)).text
    assert (
        "I cannot see a server channel"
        in (await say(app, GOM_DC, "/linkchannel SVT-FML discord 999999999999999999", channel="discord")).text
    )
    assert await linked_count(app) == 0


async def test_discord_messages_go_out_with_mentions_disabled() -> None:
    fake = FakeDiscordAPI()
    base = await fake.start()
    channel = DiscordChannel(TOKEN, base)
    try:
        await channel.send(f"channel:{CHANNEL}", Rendered("@everyone the album is here <@&1>", "markdown"))
    finally:
        await channel.close()
        await fake.stop()
    assert fake.payloads == [
        {"content": "@everyone the album is here <@&1>", "allowed_mentions": {"parse": []}}
    ]


# ------------------------------------------------------------------ email


@pytest.fixture
async def web_client(any_app: App) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(build_web_app(any_app.core), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


async def test_an_email_address_gets_announcements_only_after_its_link_is_opened(
    any_app: App, web_client: TestClient
) -> None:
    await open_go(any_app)
    reply = await say(any_app, "gina", "/linkchannel SVT-FML email Fans@Example.com")
    assert "I sent a confirmation link to fans@example.com" in reply.text
    assert "on its way to 0 recipient(s)" in await broadcast_reach(any_app, "gina")
    token = await confirmation_token(any_app, "fans@example.com")
    assert len(token) >= 32

    assert (await web_client.get("/links/confirm/not-a-token")).status == 404
    assert (await web_client.post("/links/confirm/not-a-token")).status == 404
    opened = await web_client.get(f"/links/confirm/{token}")  # what a mail scanner also does
    assert opened.status == 200 and "<form method=post>" in await opened.text()
    assert "Send the announcements of the group order SVT-FML" in await opened.text()
    assert "on its way to 0 recipient(s)" in await broadcast_reach(any_app, "gina")

    confirmed = await web_client.post(f"/links/confirm/{token}")  # a person pressed the button
    assert confirmed.status == 200
    assert "fans@example.com now gets the announcements of the group order SVT-FML" in await confirmed.text()
    assert (await web_client.post(f"/links/confirm/{token}")).status == 200  # pressed again: still fine
    assert "already gets" in await (await web_client.get(f"/links/confirm/{token}")).text()

    assert "on its way to 1 recipient(s)" in await broadcast_reach(any_app, "gina")
    assert (
        "already linked" in (await say(any_app, "gina", "/linkchannel SVT-FML email fans@example.com")).text
    )


async def test_an_expired_confirmation_link_links_nothing(
    any_app: App, web_client: TestClient, clock: FrozenClock
) -> None:
    await open_go(any_app)
    await say(any_app, "gina", "/linkchannel SVT-FML email fans@example.com")
    stale = await confirmation_token(any_app, "fans@example.com")
    clock.advance(days=3, seconds=1)

    expired = await web_client.post(f"/links/confirm/{stale}")

    assert expired.status == 410 and "expired" in await expired.text()
    assert (await web_client.get(f"/links/confirm/{stale}")).status == 410
    assert "on its way to 0 recipient(s)" in await broadcast_reach(any_app, "gina")
    await say(any_app, "gina", "/linkchannel SVT-FML email fans@example.com")  # a fresh link
    assert (await web_client.post(f"/links/confirm/{stale}")).status == 404  # the old one is replaced
    fresh = await confirmation_token(any_app, "fans@example.com")
    assert (await web_client.post(f"/links/confirm/{fresh}")).status == 200
    assert "on its way to 1 recipient(s)" in await broadcast_reach(any_app, "gina")


async def test_one_link_confirmed_several_times_at_once_confirms_once(
    any_app: App, web_client: TestClient
) -> None:
    await open_go(any_app)
    await say(any_app, "gina", "/linkchannel SVT-FML email fans@example.com")
    token = await confirmation_token(any_app, "fans@example.com")

    answers = await asyncio.gather(*(web_client.post(f"/links/confirm/{token}") for _ in range(4)))

    assert [a.status for a in answers] == [200] * 4
    async with any_app.core.reader() as uow:
        confirmations = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "channel_linked")
        )
    assert confirmations == 1


async def test_a_double_tapped_linkchannel_links_once(any_app: App, outbox_log: list[str]) -> None:
    await open_go(any_app)
    await open_go(any_app, code="TWO-GO", items=('POB 3 "Photocard"',))

    replies = await asyncio.gather(
        *(
            say(any_app, "gina", f"/linkchannel {code} email fans@example.com")
            for code in ("SVT-FML", "TWO-GO") * 3
        )
    )

    assert all("I sent a confirmation link" in r.text for r in replies), [r.text for r in replies]
    async with any_app.core.reader() as uow:
        links = (await uow.session.scalars(select(LinkedChannel))).all()
    assert len(links) == 2 and len({link.go_id for link in links}) == 2  # one link per GO
    assert len({link.identity_id for link in links}) == 1
