"""One buyer across every app: /link joins identities, /unlink parts them, and the
per-buyer limit, the order history and staff rights follow the person."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from bots.chat import ChatReply
from core.clock import FrozenClock
from core.db.models import Identity, LinkTries, Order
from core.services.linking import MAX_TRIES
from main import App
from tests.conftest import assert_checks_pass, open_go, say

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
            select(Identity.user_id).where(Identity.channel == channel, Identity.external_id == external_id)
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
