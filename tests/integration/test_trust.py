"""Who may act for a GOM: handles name their current holder only, invites work once,
drafts stay with their staff, and a helper is refused /newgo before any question."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from core.clock import FrozenClock
from core.db.models import Identity, StaffMember
from core.errors import Conflict, GomflowError, InvalidInput, UnknownUser
from core.services import accounts
from core.services.accounts import Actor, identify, register_gom
from main import App
from tests.conftest import buyer, gom, open_go, say


async def telegram_person(app: App, user_id: str, name: str, handle: str | None) -> Actor:
    return await identify(app.core.uow(), "telegram", user_id, name, handle)


async def staff_of(app: App, gom_actor: Actor) -> set[int]:
    async with app.core.reader() as uow:
        rows = await uow.session.scalars(
            select(StaffMember.member_id).where(
                StaffMember.gom_id == gom_actor.user_id, StaffMember.role == "helper"
            )
        )
        return set(rows.all())


async def test_a_handle_names_whoever_holds_it_now_not_a_former_holder(any_app: App) -> None:
    gina = await register_gom(any_app.core.uow(), "telegram", "900", "Gina")
    stranger = await telegram_person(any_app, "111", "Stranger", "alice")
    alice = await telegram_person(any_app, "222", "Alice", "@Alice")  # took the handle later

    assert await accounts.add_helper(any_app.core.uow(), gina, "@alice") == "Alice"

    assert await staff_of(any_app, gina) == {alice.user_id}
    assert stranger.user_id not in await staff_of(any_app, gina)


async def test_a_handle_someone_gave_up_no_longer_names_them(any_app: App) -> None:
    gina = await register_gom(any_app.core.uow(), "telegram", "900", "Gina")
    await telegram_person(any_app, "111", "Bob", "bob")
    await telegram_person(any_app, "111", "Bob", "bobby")  # renamed

    with pytest.raises(UnknownUser, match="Nobody called @bob"):
        await accounts.add_helper(any_app.core.uow(), gina, "@bob")
    assert await staff_of(any_app, gina) == set()


async def test_a_handle_not_seen_lately_is_refused(any_app: App, clock: FrozenClock) -> None:
    gina = await register_gom(any_app.core.uow(), "telegram", "900", "Gina")
    await telegram_person(any_app, "111", "Stranger", "alice")
    clock.advance(days=45)  # the stranger may have given @alice up since, unseen by us

    with pytest.raises(InvalidInput, match=r"has not written to gomflow lately.*/helper invite"):
        await accounts.add_helper(any_app.core.uow(), gina, "@alice")
    assert await staff_of(any_app, gina) == set()

    await telegram_person(any_app, "111", "Stranger", "alice")  # writes again: current once more
    assert await accounts.add_helper(any_app.core.uow(), gina, "@alice") == "Stranger"


async def test_a_handle_held_by_two_identities_is_refused_as_ambiguous(any_app: App) -> None:
    gina = await register_gom(any_app.core.uow(), "telegram", "900", "Gina")
    await telegram_person(any_app, "111", "One", "one")
    await telegram_person(any_app, "222", "Two", "two")
    async with any_app.core.uow() as uow:  # rows written before handles were kept unique
        for identity in (
            await uow.session.scalars(select(Identity).where(Identity.channel == "telegram"))
        ).all():
            if identity.external_id in {"111", "222"}:
                identity.handle = "twin"
        await uow.commit()

    with pytest.raises(InvalidInput, match="More than one person has used @twin"):
        await accounts.add_helper(any_app.core.uow(), gina, "@twin")
    assert await staff_of(any_app, gina) == set()


def invite_code(text: str) -> str:
    match = re.search(r"/join ([A-Z0-9]{5}-[A-Z0-9]{5})", text)
    assert match is not None, text
    return match.group(1)


async def test_an_invite_code_makes_one_helper_once(any_app: App) -> None:
    await gom(any_app)
    await buyer(any_app, "hana")
    await buyer(any_app, "otto")
    code = invite_code((await say(any_app, "gina", "/helper invite")).text)

    assert "You now help gina" in (await say(any_app, "hana", f"/join {code.lower()}")).text
    again = await say(any_app, "otto", f"/join {code}")
    assert "already been used" in again.text
    assert "/orders" in (await say(any_app, "hana", "/help")).text
    assert "/orders" not in (await say(any_app, "otto", "/help")).text
    assert "not right" in (await say(any_app, "otto", "/join ZZZZZ-ZZZZZ")).text


async def test_an_expired_invite_code_is_refused(any_app: App, clock: FrozenClock) -> None:
    gina = await gom(any_app)
    hana = await buyer(any_app, "hana")
    invite = await accounts.invite_helper(any_app.core.uow(), gina)
    clock.advance(hours=24, seconds=1)

    with pytest.raises(InvalidInput, match="expired"):
        await accounts.join_staff(any_app.core.uow(), hana, invite.code)
    assert await staff_of(any_app, gina) == set()


async def test_two_people_typing_one_code_at_once_make_exactly_one_helper(any_app: App) -> None:
    gina = await gom(any_app)
    people = [await buyer(any_app, f"p{i}") for i in range(6)]
    invite = await accounts.invite_helper(any_app.core.uow(), gina)

    outcomes = await asyncio.gather(
        *(accounts.join_staff(any_app.core.uow(), person, invite.code) for person in people),
        return_exceptions=True,
    )

    joined = [o for o in outcomes if o == "gina"]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert (len(joined), len(refused)) == (1, len(people) - 1), outcomes
    assert all("already been used" in r.message for r in refused)
    assert len(await staff_of(any_app, gina)) == 1


async def test_a_draft_is_shown_only_to_its_staff(any_app: App) -> None:
    await gom(any_app)
    await buyer(any_app, "bob")
    await buyer(any_app, "hana")
    await say(any_app, "gina", '/newgo DRAFT-GO "Secret" currency=SGD moq=1 cap=5 deadline=+3d')
    code = invite_code((await say(any_app, "gina", "/helper invite")).text)
    await say(any_app, "hana", f"/join {code}")
    await gom(any_app, "otto")

    for outsider in ("bob", "otto"):
        for text in ("/go DRAFT-GO", "/start DRAFT-GO"):
            reply = await say(any_app, outsider, text)
            unknown = await say(any_app, outsider, text.replace("DRAFT-GO", "NONE-GO"))
            assert "There is no group order DRAFT-GO" in reply.text, (outsider, text)
            assert reply.text == unknown.text.replace("NONE-GO", "DRAFT-GO")  # word for word
            assert reply.buttons == [] and "Secret" not in reply.text
    for insider in ("gina", "hana"):
        assert "Secret" in (await say(any_app, insider, "/go DRAFT-GO")).text
    await say(any_app, "gina", '/additem DRAFT-GO POB 3 "Photocard"')
    await say(any_app, "gina", "/paymethods DRAFT-GO manual")
    await say(any_app, "gina", "/open DRAFT-GO")
    assert "Secret" in (await say(any_app, "bob", "/go DRAFT-GO")).text


async def test_a_helper_is_refused_newgo_before_the_first_question(any_app: App) -> None:
    await open_go(any_app, items=('POB 3 "Photocard"',))
    await buyer(any_app, "hana")
    assert "can now help" in (await say(any_app, "gina", "/helper add @hana")).text

    refused = await say(any_app, "hana", "/newgo")

    assert refused.alert and "may not open group orders (only a GOM can)" in refused.text
    assert "Pick a short code" not in refused.text
    after = await say(any_app, "hana", "HANA-GO")  # no conversation was started to answer
    assert "Title" not in after.text and "called?" not in after.text
    with pytest.raises(GomflowError):
        await accounts.join_staff(any_app.core.uow(), await buyer(any_app, "hana"), "")


async def test_a_helper_who_joined_from_another_app_can_be_removed_by_handle(any_app: App) -> None:
    await gom(any_app)
    code = invite_code((await say(any_app, "gina", "/helper invite")).text)
    await say(any_app, "hana_tg", f"/join {code}", channel="telegram")
    assert "/orders" in (await say(any_app, "hana_tg", "/help", channel="telegram")).text

    assert "no longer helps" in (await say(any_app, "gina", "/helper remove @hana_tg")).text
    assert "/orders" not in (await say(any_app, "hana_tg", "/help", channel="telegram")).text
    assert "not one of your helpers" in (await say(any_app, "gina", "/helper remove @hana_tg")).text


async def test_a_double_tapped_helper_add_or_join_adds_the_helper_once(any_app: App) -> None:
    gina = await gom(any_app)
    hana = await buyer(any_app, "hana")
    mina = await buyer(any_app, "mina")

    added = await asyncio.gather(*(say(any_app, "gina", "/helper add @hana") for _ in range(3)))
    code = invite_code((await say(any_app, "gina", "/helper invite")).text)
    joined = await asyncio.gather(*(say(any_app, "mina", f"/join {code}") for _ in range(3)))

    assert sorted("can now help" in r.text for r in added) == [False, False, True], [r.text for r in added]
    assert all("already your helper" in r.text for r in added if "can now help" not in r.text)
    assert sorted("You now help" in r.text for r in joined) == [False, False, True], [r.text for r in joined]
    assert all("You already help gina" in r.text for r in joined if "You now help" not in r.text)
    assert await staff_of(any_app, gina) == {hana.user_id, mina.user_id}
