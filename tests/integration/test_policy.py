"""A GO's policy: set and shown in plain words, a GOM's default against a GO's own, the
buyer's "I agree" before their first order, and a GOM's bans."""

from __future__ import annotations

from sqlalchemy import func, select

from bots.chat import Button
from core.clock import FrozenClock
from core.config import Settings
from core.db.models import AuditEntry, GOPolicySetting, Order, PolicyAgreement, WaitlistEntry
from core.gate import BANNED
from core.policy import PolicySource, policy_of
from main import App, bootstrap
from tests.conftest import buyer, open_go, say


def refused(text: str) -> bool:
    return text.startswith("⚠️")


async def count(app: App, model: type, *where: object) -> int:
    async with app.core.reader() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def actions(app: App, action: str) -> list[str]:
    async with app.core.reader() as uow:
        rows = await uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == action))
        return list(rows.all())


async def test_a_go_shows_the_standard_rules_until_its_gom_sets_its_own(any_app: App) -> None:
    await open_go(any_app)
    shown = (await say(any_app, "bob", "/policy SVT-FML")).text
    assert "gomflow's standard rules" in shown and "12 hours before each payment is due" in shown
    assert "no late fee" in shown and "released at the payment deadline" in shown

    saved = await say(
        any_app, "gina", "/policy SVT-FML reminders=48h,24h,1h late_fee=0.50 late_fee_cap=3 grace=1d"
    )
    assert "Saved as the rules of SVT-FML (version 1)" in saved.text, saved.text
    again = await say(any_app, "gina", "/policy svt-fml backout=fee backout_fee=2 unclaimed=reopen")
    assert "(version 2)" in again.text
    shown = (await say(any_app, "bob", "/policy SVT-FML")).text
    assert "2 days, 1 day and 1 hour before each payment is due" in shown
    assert "S$0.50 for each day started after the deadline, at most S$3.00" in shown
    assert "released 1 day after the payment deadline; its items go back on sale for anyone" in shown
    assert "allowed; S$2.00 is kept from the refund" in shown
    assert len(await actions(any_app, "policy_set")) == 2
    assert "/policy" in (await say(any_app, "gina", "/policy SVT-FML help")).text


async def test_a_go_without_its_own_runs_under_its_goms_default_and_its_own_starts_as_a_copy(
    any_app: App,
) -> None:
    await open_go(any_app)
    assert "Saved as your default" in (await say(any_app, "gina", "/policy default late_fee=1 grace=2h")).text
    shown = (await say(any_app, "bob", "/policy SVT-FML")).text
    assert "(the GOM's default)" in shown and "S$1.00 for each day" in shown and "2 hours after" in shown
    assert "S$1.00" in (await say(any_app, "gina", "/policy default")).text

    assert (
        "Saved as the rules of SVT-FML" in (await say(any_app, "gina", "/policy SVT-FML reminders=24h")).text
    )
    shown = (await say(any_app, "bob", "/policy SVT-FML")).text
    assert "(the GOM's default)" not in shown
    assert "1 day before" in shown and "S$1.00 for each day" in shown  # copied from the default
    await say(any_app, "gina", "/policy default late_fee=2")
    assert "S$1.00 for each day" in (await say(any_app, "bob", "/policy SVT-FML")).text  # its own wins
    async with any_app.core.reader() as uow:
        from core.lookups import load_go

        policy = await policy_of(uow, await load_go(uow, "SVT-FML"))
    assert policy.source is PolicySource.OWN and policy.late_fee_minor == 100 and policy.grace_minutes == 120
    assert policy.reminder_minutes == (1440,)


async def test_bad_values_are_refused_clearly_and_nothing_is_half_written(any_app: App) -> None:
    await open_go(any_app)
    await open_go(any_app, "OTHER-GO", owner="hana")
    cases = {
        "/policy SVT-FML grace=2h late_fee=abc": "amount",
        "/policy SVT-FML grace=5y": "length of time",
        "/policy SVT-FML grace=２４h": "length of time",
        "/policy SVT-FML reminders=1h,1h": "same time twice",
        "/policy SVT-FML reminders=1h,2h,3h,4h,5h,6h": "1 to 5",
        "/policy SVT-FML frobnicate=1": "There is no setting 'frobnicate'",
        "/policy SVT-FML late_fee": "key=value",
        "/policy SVT-FML late_fee=1 late_fee_cap=0.50": "less than one day's late fee",
        "/policy SVT-FML backout_fee=2": "only with backout=fee",
        "/policy SVT-FML backout=sometimes": "is one of never, replacement, fee",
        "/policy SVT-FML late_fee=999999999": "at most",
        "/policy SVT-FML currency=KRW": "only for /policy default",
        "/policy SVT-FML grace=1h grace=2h": "given twice",
        "/policy NOPE-GO grace=1h": "There is no group order NOPE-GO",
        "/policy OTHER-GO grace=1h": "run by another GOM",
    }
    for command, expected in cases.items():
        reply = await say(any_app, "gina", command)
        assert refused(reply.text) and expected in reply.text, (command, reply.text)
    denied = await say(any_app, "bob", "/policy SVT-FML grace=1h")
    assert refused(denied.text) and denied.refusal == "permission_denied"
    assert await count(any_app, GOPolicySetting) == 0
    assert "gomflow's standard rules" in (await say(any_app, "bob", "/policy SVT-FML")).text


async def test_a_buyer_agrees_once_before_their_first_order_and_it_holds_after_a_restart(
    any_app: App, clock: FrozenClock, outbox_log: list[str]
) -> None:
    await open_go(any_app)
    await say(any_app, "gina", "/policy SVT-FML late_fee=0.50 grace=1d")
    asked = await say(any_app, "bob", "/order SVT-FML ALB:A 1")
    assert asked.refusal == "policy_not_agreed"
    assert "Before your first order in SVT-FML" in asked.text and "S$0.50 for each day" in asked.text
    assert asked.buttons == [[Button("I agree", command="/agree SVT-FML ALB:A 1")]]
    assert await count(any_app, Order) == 0

    placed = await say(any_app, "bob", asked.buttons[0][0].command or "")
    assert "Order placed" in placed.text, placed.text
    assert "Order placed" in (await say(any_app, "bob", "/order SVT-FML ALB:B 1")).text  # not asked again
    assert "you agreed" in (await say(any_app, "bob", "/agree SVT-FML")).text  # a repeat changes nothing
    assert await count(any_app, PolicyAgreement) == 1
    assert len(await actions(any_app, "policy_agreed")) == 1
    assert "You have agreed to these rules" in (await say(any_app, "bob", "/policy SVT-FML")).text

    staff = (
        await say(any_app, "gina", "/orderfor SVT-FML @cleo ALB:A 1")
        if await buyer(any_app, "cleo")
        else None
    )
    assert staff is not None and "⚠️" not in staff.text  # a GOM ordering for a buyer skips the question

    restarted = bootstrap(
        Settings(database_url=any_app.core.settings.database_url), clock=clock, write=outbox_log.append
    )
    try:
        again = await say(restarted, "bob", "/order SVT-FML ALB:A 1")
        assert "Order placed" in again.text, again.text
        other = await say(restarted, "amy", "/order SVT-FML ALB:A 1")
        assert other.refusal == "policy_not_agreed"  # everyone else is still asked
    finally:
        await restarted.core.close()


async def test_a_go_with_no_rules_of_its_own_asks_nothing(any_app: App) -> None:
    await open_go(any_app)
    assert "Order placed" in (await say(any_app, "bob", "/order SVT-FML ALB:A 1")).text
    assert await count(any_app, PolicyAgreement) == 0


async def test_a_banned_buyer_is_told_only_that_they_cannot_order_and_the_team_sees_why(any_app: App) -> None:
    await open_go(any_app, moq=1, cap=1)
    for person in ("bob", "hana", "mia", "amy"):
        await buyer(any_app, person)
    assert "As a helper" in (await say(any_app, "gina", "/helper add @hana")).text
    assert "As a manager" in (await say(any_app, "gina", "/helper add @mia manager")).text
    assert "Order placed" in (await say(any_app, "amy", "/order SVT-FML ALB:A 1")).text  # sold out now

    assert refused((await say(any_app, "hana", "/ban @bob no-show twice")).text)  # a helper may not
    assert refused((await say(any_app, "gina", "/ban @bob")).text)  # a reason is needed
    assert refused((await say(any_app, "gina", "/ban bob rude")).text)  # an @handle
    assert refused((await say(any_app, "gina", "/ban @nobody rude")).text)
    assert refused((await say(any_app, "gina", "/ban @mia rude")).text)  # on the team
    banned = await say(any_app, "mia", "/ban @bob no-show twice")
    assert "can no longer order" in banned.text and "no-show twice" in banned.text, banned.text
    assert "banned since" in (await say(any_app, "gina", "/ban @bob again")).text

    for attempt in ("/order SVT-FML ALB:A 1", "/waitlist SVT-FML ALB:B 1", "/agree SVT-FML"):
        reply = await say(any_app, "bob", attempt)
        assert reply.text == f"⚠️ {BANNED}" and reply.refusal == "banned", (attempt, reply.text)
    assert await count(any_app, WaitlistEntry) == 0
    assert "no-show twice" in (await say(any_app, "gina", "/bans")).text
    assert refused((await say(any_app, "bob", "/bans")).text)
    assert "no-show twice" not in (await say(any_app, "bob", "/policy SVT-FML")).text

    assert "may order in your group orders again" in (await say(any_app, "gina", "/unban @bob")).text
    assert "was not banned" in (await say(any_app, "gina", "/unban @bob")).text
    assert "waitlist" in (await say(any_app, "bob", "/waitlist SVT-FML ALB:B 1")).text
    assert await count(any_app, WaitlistEntry) == 1
    assert len(await actions(any_app, "banned")) == 1 and len(await actions(any_app, "unbanned")) == 1
    assert "no-show twice" in (await actions(any_app, "banned"))[0]


async def test_double_taps_agree_ban_and_set_once(any_app: App) -> None:
    import asyncio

    await open_go(any_app)
    await buyer(any_app, "bob")
    await say(any_app, "gina", "/policy SVT-FML grace=1h")
    replies = await asyncio.gather(
        *(say(any_app, "amy", "/agree SVT-FML ALB:A 1") for _ in range(3)),
        *(say(any_app, "gina", "/ban @bob no-show") for _ in range(3)),
        *(say(any_app, "gina", f"/policy default late_fee={n}") for n in (1, 2, 3)),
    )
    assert not [r.text for r in replies if "went wrong" in r.text]
    assert await count(any_app, PolicyAgreement) == 1 and len(await actions(any_app, "policy_agreed")) == 1
    assert await count(any_app, Order) == 3  # each tap carried an order: agreed once, ordered each time
    assert len(await actions(any_app, "banned")) == 1
    saved = [r for r in replies[6:] if "Saved" in r.text]
    # each change applied in turn or refused as concurrent: never one silently lost
    assert len(saved) + sum("same moment" in r.text for r in replies[6:]) == 3
    async with any_app.core.reader() as uow:
        version = await uow.session.scalar(select(GOPolicySetting.version).where(GOPolicySetting.go_id == 0))
    assert version == len(saved) and len(await actions(any_app, "policy_set")) == 1 + len(saved)


async def test_a_default_in_another_currency_gives_its_rules_without_its_fees(any_app: App) -> None:
    await open_go(any_app)
    assert "Saved" in (await say(any_app, "gina", "/policy default currency=KRW late_fee=1000 grace=2h")).text
    shown = (await say(any_app, "bob", "/policy SVT-FML")).text
    assert "(the GOM's default)" in shown and "2 hours after" in shown and "no late fee" in shown
    assert "₩1,000" in (await say(any_app, "gina", "/policy default")).text
