"""Shortfalls: fewer units arrive, the policy's rule picks who goes short, the value not
delivered lowers what is owed and the rest goes back (refund or store credit), once."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry, Order, OrderLine, OutboxMessage, Refund, Shortfall, StoreCreditEntry
from core.policy import GOPolicy, ShortfallRule
from core.services import shortfalls
from main import App
from tests.conftest import assert_checks_pass, open_go, say
from tests.integration.test_payments import ok

PRICE = 2590


def refused(reply: object, words: str) -> None:
    text = getattr(reply, "text", "")
    assert text.startswith("⚠️") and words in text, text


async def four_buyers(app: App) -> None:
    """ana 2 paid, dan 3 with S$30 paid, ben 1 paid, cara 1 unpaid; then ordered."""
    await open_go(app, moq=1, cap=50)
    for who, units in (("ana", 2), ("dan", 3), ("ben", 1), ("cara", 1)):
        ok(await say(app, who, f"/order SVT-FML ALB:A {units}"))
    ok(await say(app, "gina", "/markpaid SVT-FML-1 51.80"))
    ok(await say(app, "gina", "/markpaid SVT-FML-2 30"))
    ok(await say(app, "gina", "/markpaid SVT-FML-3 25.90"))
    ok(await say(app, "gina", "/close SVT-FML confirm"))
    ok(await say(app, "gina", "/status SVT-FML ordered"))


async def orders(app: App) -> dict[str, tuple[str, int, int]]:
    """number -> (status, total, units short)."""
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.number, Order.status, Order.total_minor, func.sum(OrderLine.short_units))
                .join(OrderLine, OrderLine.order_id == Order.id)
                .group_by(Order.number, Order.status, Order.total_minor)
            )
        ).all()
    return {n: (s, int(t), int(short)) for n, s, t, short in rows}


async def test_last_claims_go_short_and_each_is_owed_exactly_what_did_not_arrive(any_app: App) -> None:
    app = any_app
    await four_buyers(app)

    preview = ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=4"))
    assert "ALB:A FML album · Faded Mono Life: 4 arrived of 7 expected — 3 short" in preview.text
    assert "SVT-FML-4 (cara): 1× ALB:A = S$25.90; owes S$25.90 less" in preview.text
    assert "SVT-FML-3 (ben): 1× ALB:A = S$25.90; S$25.90 refunded" in preview.text
    assert "SVT-FML-2 (dan): 1× ALB:A = S$25.90; owes S$25.90 less" in preview.text
    confirm = preview.buttons[0][0].command
    assert confirm == "/shortfall SVT-FML ALB:A=4 seed=SVT-FML-1 confirm"
    async with app.core.reader() as uow:  # a preview writes nothing
        assert await uow.session.scalar(select(func.count()).select_from(Shortfall)) == 0

    done = ok(await say(app, "gina", confirm))
    assert "3 unit(s), S$77.70 not delivered, over 3 order(s)" in done.text
    assert "Buyers owe S$51.80 less." in done.text and "S$25.90 goes back as refunds." in done.text
    assert "/refunded ORDER REFERENCE: SVT-FML-3" in done.text

    assert await orders(app) == {
        "SVT-FML-1": ("paid", 2 * PRICE, 0),
        "SVT-FML-2": ("placed", 2 * PRICE, 1),  # S$30 paid of S$51.80: S$21.80 still owed
        "SVT-FML-3": ("refunded", 0, 1),  # none of it arrived: it ends, what was paid goes back
        "SVT-FML-4": ("cancelled", 0, 1),  # nothing of it arrived and nothing was paid
    }
    pay = ok(await say(app, "dan", "/pay SVT-FML-2"))
    assert "S$21.80" in pay.text
    async with app.core.reader() as uow:
        refunds = (await uow.session.execute(select(Refund.amount_minor, Refund.status))).all()
        run = await uow.session.scalar(select(Shortfall))
        audited = await uow.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "shortfall"))
        notices = (
            await uow.session.scalars(
                select(OutboxMessage.context).where(OutboxMessage.template == "shortfall_notice")
            )
        ).all()
    assert refunds == [(PRICE, "manual")]
    assert run is not None and (run.units_short, run.value_minor, run.refund_minor) == (3, 3 * PRICE, PRICE)
    assert run.owed_less_minor + run.refund_minor + run.credit_minor == run.value_minor
    decided = json.loads(audited or "{}")
    assert decided["rule"] == "last_first" and decided["seed"] == "SVT-FML-1"
    assert decided["arrived"] == {"ALB:A": 4} and decided["expected"] == {"ALB:A": 7}
    assert sorted(json.loads(n)["number"] for n in notices) == ["SVT-FML-2", "SVT-FML-3", "SVT-FML-4"]
    ok(await say(app, "gina", "/refunded SVT-FML-3 BANK-77"))
    await assert_checks_pass(app)


async def test_packing_list_and_export_count_what_arrived(app: App) -> None:
    await four_buyers(app)
    ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=4 confirm"))
    packing = await say(app, "gina", "/packing SVT-FML")
    assert packing.document is not None
    rows = list(csv.DictReader(io.StringIO(packing.document.content.decode("utf-8-sig"))))
    packed = {(r["order"], int(r["quantity"])) for r in rows}
    assert packed == {("SVT-FML-1", 2), ("SVT-FML-2", 2)}  # ben's one unit never came
    export = await say(app, "gina", "/export SVT-FML")
    assert export.document is not None
    lines = list(csv.DictReader(io.StringIO(export.document.content.decode("utf-8-sig"))))
    exported = {r["order"]: (int(r["quantity"]), r["line total"]) for r in lines}
    assert exported["SVT-FML-2"] == (2, "51.80") and exported["SVT-FML-3"] == (0, "0.00")


async def test_a_confirm_tapped_twice_applies_once(any_app: App) -> None:
    app = any_app
    await four_buyers(app)
    command = "/shortfall SVT-FML ALB:A=4 confirm"
    replies = await asyncio.gather(*(say(app, "gina", command) for _ in range(4)))
    texts = [r.text for r in replies]
    assert sum(t.startswith("✅ Shortfall recorded") for t in texts) == 1, texts
    assert all("Nothing is short" in t or "just recorded" in t for t in texts if not t.startswith("✅")), (
        texts
    )
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Shortfall)) == 1
        assert await uow.session.scalar(select(func.count()).select_from(Refund)) == 1
        assert await uow.session.scalar(select(func.sum(OrderLine.short_units))) == 3
    await assert_checks_pass(app)


async def test_store_credit_remedy_chosen_for_one_run(any_app: App) -> None:
    app = any_app
    await four_buyers(app)
    ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=6 credit confirm"))  # only cara's goes short
    ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=5 credit confirm"))  # then ben's
    async with app.core.reader() as uow:
        entries = (
            await uow.session.execute(select(StoreCreditEntry.kind, StoreCreditEntry.amount_minor))
        ).all()
        assert await uow.session.scalar(select(func.count()).select_from(Refund)) == 0
    assert entries == [("shortfall", PRICE)]
    mine = ok(await say(app, "ben", "/credit"))
    assert "S$25.90 with gina" in mine.text
    theirs = ok(await say(app, "gina", "/credit @ben"))
    assert "ben's store credit with you" in theirs.text and "S$25.90" in theirs.text
    refused(await say(app, "cara", "/credit @ben"), "GOM's team")
    await assert_checks_pass(app)


async def test_lottery_draw_is_the_one_the_seed_gives(any_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    app = any_app

    async def lottery(*_: object) -> GOPolicy:
        return GOPolicy(shortfall_rule=ShortfallRule.LOTTERY)

    monkeypatch.setattr(shortfalls, "policy_of", lottery)
    await four_buyers(app)
    first = ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=4 seed=kpop2026"))
    again = ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=4 seed=kpop2026"))
    assert first.text == again.text and "(lottery, seed kpop2026)" in first.text
    ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=4 seed=kpop2026 confirm"))
    async with app.core.reader() as uow:
        run = await uow.session.scalar(select(Shortfall))
        short = dict((await uow.session.execute(select(OrderLine.id, OrderLine.short_units))).all())
    assert run is not None and (run.rule, run.seed, run.units_short) == ("lottery", "kpop2026", 3)
    assert sum(short.values()) == 3
    await assert_checks_pass(app)


BAD = [
    ("/shortfall SVT-FML", "Usage: /shortfall"),
    ("/shortfall SVT-FML ALB=3", "ALB comes in versions"),
    ("/shortfall SVT-FML ALB:Z=3", "no version Z"),
    ("/shortfall SVT-FML POB=3", "no item POB"),
    ("/shortfall SVT-FML ALB:A=-1", "could not read"),
    ("/shortfall SVT-FML ALB:A=3.5", "could not read"),
    ("/shortfall SVT-FML ALB:A=99999999", "could not read"),
    ("/shortfall SVT-FML ALB:A=3 ALB:A=2", "named twice"),
    ("/shortfall SVT-FML ALB:A=３", "could not read"),
    ("/shortfall SVT-FML ALB:A=3 seed=💥", "A seed is"),
    ("/shortfall NOPE ALB:A=3", "no group order NOPE"),
]


async def test_bad_input_is_refused_and_writes_nothing(app: App) -> None:
    await four_buyers(app)
    for command, words in BAD:
        refused(await say(app, "gina", command), words)
        refused(await say(app, "gina", f"{command} confirm"), words)
    assert (await orders(app))["SVT-FML-4"] == ("placed", PRICE, 0)
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Shortfall)) == 0


async def test_only_the_gos_own_team_with_refunds_may_enter_a_shortfall(app: App) -> None:
    await four_buyers(app)
    await open_go(app, "OTTO-GO", owner="otto")
    refused(await say(app, "otto", "/shortfall SVT-FML ALB:A=4 confirm"), "run by another GOM")
    refused(await say(app, "ana", "/shortfall SVT-FML ALB:A=4 confirm"), "")
    assert sum(s for _, _, s in (await orders(app)).values()) == 0


async def test_refused_before_the_go_is_ordered(app: App) -> None:
    await open_go(app, moq=1, cap=50)
    ok(await say(app, "ana", "/order SVT-FML ALB:A 1"))
    refused(await say(app, "gina", "/shortfall SVT-FML ALB:A=0"), "is open; a shortfall is entered once")


async def test_first_claims_first_then_a_refund_sends_back_only_what_is_left(
    any_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = any_app

    async def first_first(*_: object) -> GOPolicy:
        return GOPolicy(shortfall_rule=ShortfallRule.FIRST_FIRST)

    monkeypatch.setattr(shortfalls, "policy_of", first_first)
    await four_buyers(app)
    preview = ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=6"))
    assert "Who goes short (first first)" in preview.text
    assert "SVT-FML-1 (ana): 1× ALB:A = S$25.90; S$25.90 refunded" in preview.text
    ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=6 confirm"))
    assert (await orders(app))["SVT-FML-1"] == ("paid", PRICE, 1)

    again = ok(await say(app, "gina", "/refund SVT-FML-1"))
    assert "S$25.90 goes back" in again.text  # not the S$51.80 first paid
    ok(await say(app, "gina", "/refund SVT-FML-1 confirm changed my mind"))
    async with app.core.reader() as uow:
        amounts = (await uow.session.scalars(select(Refund.amount_minor).order_by(Refund.id))).all()
    assert amounts == [PRICE, PRICE]
    ok(await say(app, "gina", "/refunded SVT-FML-1 BANK-1"))
    assert (await orders(app))["SVT-FML-1"][0] == "refunded"
    await assert_checks_pass(app)


async def test_an_order_none_of_which_arrived_ends_and_its_money_is_refunded_even_for_credit(
    app: App,
) -> None:
    await four_buyers(app)
    done = ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=1 credit confirm"))
    assert "S$30.00 goes back as refunds." in done.text  # dan's part payment: his order ended
    assert "S$51.80 goes back as store credit." in done.text  # ana's one unit and ben's order
    assert await orders(app) == {
        "SVT-FML-1": ("paid", PRICE, 1),
        "SVT-FML-2": ("cancelled", 0, 3),
        "SVT-FML-3": ("paid", 0, 1),
        "SVT-FML-4": ("cancelled", 0, 1),
    }
    async with app.core.reader() as uow:
        run = await uow.session.scalar(select(Shortfall))
        refunds = (await uow.session.scalars(select(Refund.amount_minor))).all()
    assert run is not None
    assert (run.refund_minor, run.credit_minor, run.owed_less_minor) == (3000, 5180, 7360)
    assert run.refund_minor + run.credit_minor + run.owed_less_minor == run.value_minor == 6 * PRICE
    assert refunds == [3000]
    await assert_checks_pass(app)
