"""One buyer across every app: /link joins identities, /unlink parts them, and the
per-buyer limit, the order history and staff rights follow the person."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bots.chat import ChatReply
from channels.setup import close_all
from core.clock import FrozenClock
from core.config import Settings, TelegramSettings
from core.db.migrate import upgrade
from core.db.models import Address, Identity, LinkTries, Order, Parcel, PickupSlot
from core.privacy.identities import stored_id
from core.services.linking import MAX_TRIES
from main import App, bootstrap
from tests.conftest import BACKENDS, assert_checks_pass, fresh_database_url, open_go, say
from tests.fakes.telegram_api import FakeTelegram

CODE = re.compile(r"\b[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}\b")
TELEGRAM, EMAIL = "7001", "bob@example.test"


def ok(reply: ChatReply) -> ChatReply:
    assert not reply.text.startswith("⚠️"), reply.text
    return reply


async def code_of(app: App, who: str, channel: str = "console") -> str:
    reply = ok(await say(app, who, "/link", channel=channel))
    found = CODE.search(reply.text)
    assert found is not None, reply.text
    return found.group(0)


async def person_of(app: App, channel: str, external_id: str) -> int:
    async with app.core.reader() as uow:
        user_id = await uow.session.scalar(
            select(Identity.user_id).where(
                Identity.channel == channel, Identity.external_id == stored_id(channel, external_id)
            )
        )
    assert user_id is not None
    return user_id


async def test_three_apps_are_one_buyer_with_one_limit_and_one_history(any_app: App) -> None:
    app = any_app
    await open_go(app, limit=3)
    ok(await say(app, TELEGRAM, "/order SVT-FML ALB:A 1", channel="telegram"))  # before linking
    linked = ok(await say(app, TELEGRAM, f"/link {await code_of(app, 'bob')}", channel="telegram"))
    assert "console" in linked.text and "telegram" in linked.text
    ok(await say(app, EMAIL, f"/link {await code_of(app, TELEGRAM, 'telegram')}", channel="email"))
    person = await person_of(app, "console", "bob")
    assert await person_of(app, "telegram", TELEGRAM) == person == await person_of(app, "email", EMAIL)

    ok(await say(app, "bob", "/order SVT-FML ALB:B 1"))
    ok(await say(app, EMAIL, "/order SVT-FML ALB:A 1", channel="email"))
    over = await say(app, TELEGRAM, "/order SVT-FML ALB:A 1", channel="telegram")
    assert over.text.startswith("⚠️") and "3" in over.text  # the limit counts all three apps
    history = ok(await say(app, EMAIL, "/myorders", channel="email")).text
    assert all(number in history for number in ("SVT-FML-1", "SVT-FML-2", "SVT-FML-3"))
    await assert_checks_pass(app)


async def test_unlink_parts_an_app_with_the_orders_placed_from_it(any_app: App) -> None:
    app = any_app
    await open_go(app, limit=2)
    ok(await say(app, TELEGRAM, f"/link {await code_of(app, 'bob')}", channel="telegram"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, TELEGRAM, "/order SVT-FML ALB:A 1", channel="telegram"))
    parted = ok(await say(app, TELEGRAM, "/unlink", channel="telegram"))
    assert "telegram" in parted.text
    assert await person_of(app, "telegram", TELEGRAM) != await person_of(app, "console", "bob")
    assert "SVT-FML-2" not in ok(await say(app, "bob", "/myorders")).text
    assert "SVT-FML-2" in ok(await say(app, TELEGRAM, "/myorders", channel="telegram")).text
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))  # the limit is each one's own again
    await assert_checks_pass(app)
    alone = await say(app, "bob", "/unlink")
    assert "not linked to any other" in alone.text


async def test_staff_rights_follow_the_person(any_app: App) -> None:
    app = any_app
    await open_go(app)
    refused = await say(app, TELEGRAM, "/mygos", channel="telegram")
    assert "is for GOMs" in refused.text
    ok(await say(app, TELEGRAM, f"/link {await code_of(app, 'gina')}", channel="telegram"))
    assert "SVT-FML" in ok(await say(app, TELEGRAM, "/mygos", channel="telegram")).text
    ok(await say(app, TELEGRAM, "/unlink", channel="telegram"))
    assert "is for GOMs" in (await say(app, TELEGRAM, "/mygos", channel="telegram")).text
    assert "SVT-FML" in ok(await say(app, "gina", "/mygos")).text


async def test_wrong_used_expired_and_own_codes_say_so_without_saying_whose(
    any_app: App, clock: FrozenClock
) -> None:
    app = any_app
    code = await code_of(app, "bob")
    wrong = await say(app, "eve", "/link ZZZZ-ZZZZ")
    assert "not right" in wrong.text and "bob" not in wrong.text
    own = await say(app, "bob", f"/link {code}")
    assert "type this code in your other app" in own.text
    ok(await say(app, TELEGRAM, f"/link {code}", channel="telegram"))
    used = await say(app, "eve", f"/link {code}")
    assert "already been used" in used.text and "bob" not in used.text
    stale = await code_of(app, "carol")
    clock.advance(minutes=11)
    expired = await say(app, "dave", f"/link {stale}")
    assert "expired" in expired.text and "carol" not in expired.text
    empty = await say(app, "dave", "/link -")
    assert "Type the code" in empty.text


async def test_a_code_guessed_a_thousand_times_is_never_found(any_app: App) -> None:
    """Only ``MAX_TRIES`` guesses are ever looked at, even at once; the right code then fails too."""
    app = any_app
    code = await code_of(app, "bob")
    guesses = [f"/link {n:04d}-ZZZZ".replace("0", "Z").replace("1", "Y") for n in range(1000)]
    answers: list[ChatReply] = []
    for start in range(0, len(guesses), 50):
        answers += await asyncio.gather(*(say(app, "eve", guess) for guess in guesses[start : start + 50]))
    looked_at = [a for a in answers if "not right" in a.text]
    held_back = [a for a in answers if "Too many link codes" in a.text]
    assert len(looked_at) == MAX_TRIES and len(held_back) == 1000 - MAX_TRIES
    assert "Too many link codes" in (await say(app, "eve", f"/link {code}")).text
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(LinkTries.tries)) == MAX_TRIES
    assert await person_of(app, "console", "eve") != await person_of(app, "console", "bob")


async def test_one_code_typed_in_two_apps_at_once_links_exactly_one(any_app: App) -> None:
    app = any_app
    await open_go(app, limit=2)
    ok(await say(app, TELEGRAM, "/order SVT-FML ALB:A 1", channel="telegram"))
    ok(await say(app, EMAIL, "/order SVT-FML ALB:A 1", channel="email"))
    code = await code_of(app, "bob")
    both = await asyncio.gather(
        say(app, TELEGRAM, f"/link {code}", channel="telegram"),
        say(app, EMAIL, f"/link {code}", channel="email"),
    )
    assert sorted("Linked" in r.text for r in both) == [False, True]
    bob = await person_of(app, "console", "bob")
    joined = [await person_of(app, c, x) == bob for c, x in (("telegram", TELEGRAM), ("email", EMAIL))]
    assert sorted(joined) == [False, True]
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).where(Order.buyer_id == bob)) == 1
    await assert_checks_pass(app)


@pytest.fixture(params=BACKENDS)
async def telegram_app(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock, outbox_log: list[str]
) -> AsyncIterator[tuple[App, FakeTelegram]]:
    """gomflow sending to Telegram through the real transport, against the loopback fake."""
    fake = FakeTelegram()
    await fake.start()
    url = await fresh_database_url(request.param, tmp_path)
    telegram = TelegramSettings(bot_token=fake.token, api_base_url=fake.base_url)
    app = bootstrap(Settings(database_url=url), clock=clock, write=outbox_log.append, telegram=telegram)
    await upgrade(app.core.db)
    try:
        yield app, fake
    finally:
        await close_all(app.channels)
        await app.core.close()
        await fake.stop()


async def test_messages_go_to_the_chosen_app_and_fall_back_when_it_blocks_the_bot(
    telegram_app: tuple[App, FakeTelegram], outbox_log: list[str], clock: FrozenClock
) -> None:
    app, fake = telegram_app
    chat = 7_000_123
    await open_go(app, moq=1)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))  # placed from the console
    ok(await say(app, str(chat), f"/link {await code_of(app, 'bob')}", channel="telegram"))
    chosen = ok(await say(app, "bob", "/prefer telegram"))
    assert "now go to telegram first" in chosen.text
    refused = await say(app, "bob", "/prefer discord")
    assert "no discord account linked" in refused.text

    ok(await say(app, "gina", "/close SVT-FML confirm"))  # the MOQ is met: buyers are told
    await app.dispatcher.run_once()
    assert any("SVT-FML" in c.params["text"] for c in fake.calls_to("sendMessage", chat))
    assert not [line for line in outbox_log if line.startswith("📨 to bob:")]

    fake.blocked.add(chat)  # bob blocks the bot on Telegram
    ok(await say(app, "gina", "/status SVT-FML ordered"))
    # Telegram answers 403: the message falls back to the console, with a word on why
    await deliver_until(app, clock, lambda: sum("📨 to bob:" in line for line in outbox_log) >= 2)
    told = [line for line in outbox_log if line.startswith("📨 to bob:")]
    assert any("it has been ordered from the supplier" in line for line in told), told
    assert any("reach you on Telegram" in line for line in told), told
    async with app.core.reader() as uow:
        reachable = await uow.session.scalar(
            select(Identity.reachable).where(
                Identity.channel == "telegram", Identity.external_id == str(chat)
            )
        )
    assert reachable is False


async def deliver_until(
    app: App, clock: FrozenClock, condition: Callable[[], bool], timeout: float = 60
) -> None:
    """Run the dispatcher (moving the frozen clock past rate-limit waits) until ``condition``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        clock.advance(seconds=2)
        await app.dispatcher.run_once()


async def test_linking_while_the_person_keeps_ordering_keeps_every_count_right(any_app: App) -> None:
    """The code's owner orders while another app joins them: the quota moves by relative
    updates, so whichever commits first, quotas equal the live lines afterwards."""
    app = any_app
    await open_go(app, cap=50, limit=20)
    ok(await say(app, TELEGRAM, "/order SVT-FML ALB:A 2", channel="telegram"))
    code = await code_of(app, "bob")
    orders = [say(app, "bob", "/order SVT-FML ALB:B 1") for _ in range(6)]
    replies = await asyncio.gather(say(app, TELEGRAM, f"/link {code}", channel="telegram"), *orders)
    assert "Linked" in replies[0].text and all(not r.text.startswith("⚠️") for r in replies[1:])
    bob = await person_of(app, "console", "bob")
    assert await person_of(app, "telegram", TELEGRAM) == bob
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).where(Order.buyer_id == bob)) == 7
    await assert_checks_pass(app)


async def test_orders_sent_from_the_joining_app_while_it_links_all_stay_the_persons(any_app: App) -> None:
    """An app orders while that very app types the link code: however the two interleave
    (the order's sender looked up before the link commits), every order ends with the
    person, visible in their history, and the counts agree."""
    app = any_app
    await open_go(app, cap=500, limit=500, items=('POB 3 "Photocard"',))
    apps = [str(8000 + n) for n in range(12)]
    for number in apps:
        ok(await say(app, number, "/order SVT-FML POB 1", channel="telegram"))
    for number in apps:
        code = await code_of(app, "bob")
        orders = [say(app, number, "/order SVT-FML POB 1", channel="telegram") for _ in range(4)]
        replies = await asyncio.gather(
            *orders[:2], say(app, number, f"/link {code}", channel="telegram"), *orders[2:]
        )
        assert all(not r.text.startswith("⚠️") for r in replies), [r.text for r in replies]
    bob = await person_of(app, "console", "bob")
    async with app.core.reader() as uow:
        owners = (
            await uow.session.execute(select(Order.buyer_id, func.count()).group_by(Order.buyer_id))
        ).all()
    assert dict(owners) == {bob: 12 * 5}  # no order left with a person who no longer has an app
    history = ok(await say(app, "bob", "/myorders"))
    assert "SVT-FML-60" in history.text
    await assert_checks_pass(app)


async def test_linking_joins_address_books_and_keeps_one_parcel_per_go(any_app: App) -> None:
    """Two accounts of one person each chose a pickup place in the same GO: once linked
    they have one parcel there (the code owner's), the other place goes back to its slot,
    and one address book."""
    app = any_app
    await open_go(app, moq=1, cap=10)
    for step in (
        '/shipopt SVT-FML MEET pickup "Meet-up"',
        '/slot SVT-FML MEET "2026-12-12 14:00" 5 "Bugis MRT exit C"',
    ):
        ok(await say(app, "gina", step))
    for who, channel in (("bob", "console"), (TELEGRAM, "telegram")):
        ok(await say(app, who, "/order SVT-FML ALB:A 1", channel=channel))
        ok(await say(app, who, "/deliver SVT-FML MEET 1", channel=channel))
    ok(
        await say(
            app,
            TELEGRAM,
            '/address add name="Bob Tan" phone=+6591234567 line1="1 Orchard Rd" postal=238823 country=SG',
            channel="telegram",
        )
    )
    telegram_person = await person_of(app, "telegram", TELEGRAM)
    async with app.core.uow() as uow:  # that parcel is already on its way
        await uow.session.execute(
            update(Parcel).where(Parcel.buyer_id == telegram_person).values(tracking="NV123")
        )
        await uow.commit()
    refused = await say(app, TELEGRAM, f"/link {await code_of(app, 'bob')}", channel="telegram")
    assert "already under way" in refused.text and "Nothing was changed" in refused.text
    assert await person_of(app, "telegram", TELEGRAM) == telegram_person
    async with app.core.uow() as uow:
        await uow.session.execute(update(Parcel).values(tracking=None))
        await uow.commit()
    code = await code_of(app, "bob")
    ok(await say(app, TELEGRAM, f"/link {code}", channel="telegram"))
    bob = await person_of(app, "console", "bob")
    async with app.core.reader() as uow:
        parcels = (await uow.session.scalars(select(Parcel.buyer_id))).all()
        reserved = await uow.session.scalar(select(PickupSlot.reserved))
        books = (await uow.session.scalars(select(Address.user_id))).all()
    assert parcels == [bob] and reserved == 1 and books == [bob]
    assert "Orchard" in ok(await say(app, "bob", "/address")).text
    await assert_checks_pass(app)
