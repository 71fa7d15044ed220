"""The GOM fixes mistakes through the command table: edits, prices per version, retiring,
/extend, confirmations before closing or cancelling, going ahead below the MOQ, copies."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bots.chat import ChatReply
from core.clock import FrozenClock
from core.db.models import AuditEntry, GroupOrder, Item, Order, OrderLine, PaymentSettings, Variant
from main import App
from tests.conftest import open_go, say

ALBUM = ('ALB 25.90 "FML album" versions="A:Faded Mono Life,B:Fallen Misfit@5"', 'POB 3 "Photocard" stock=10')


@pytest.fixture
def app(any_app: App) -> App:
    """Every test here runs on SQLite and, when configured, on PostgreSQL."""
    return any_app


def ok(reply: ChatReply) -> ChatReply:
    assert not reply.text.startswith("⚠️"), reply.text
    return reply


def refused(reply: ChatReply, words: str) -> ChatReply:
    assert reply.text.startswith("⚠️"), reply.text
    assert words in reply.text, reply.text
    return reply


async def _go(app: App, code: str = "SVT-FML") -> GroupOrder:
    async with app.core.reader() as uow:
        go = await uow.session.scalar(select(GroupOrder).where(GroupOrder.code == code))
        assert go is not None
        return go


async def _line_prices(app: App) -> dict[str, list[int]]:
    """Unit prices per order number, in line order."""
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.number, OrderLine.unit_price_minor)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .order_by(Order.id, OrderLine.id)
            )
        ).all()
    prices: dict[str, list[int]] = {}
    for number, price in rows:
        prices.setdefault(number, []).append(price)
    return prices


async def test_editgo_changes_words_limits_and_deadline_in_one_command(app: App) -> None:
    await open_go(app, moq=2, cap=10, items=ALBUM)
    reply = ok(
        await say(
            app,
            "gina",
            '/editgo SVT-FML title="FML 2nd press" desc="With POB" moq=3 cap=20 limit=4 window=24 '
            'deadline="2026-11-30 20:00"',
        )
    )
    assert "SVT-FML changed: title: FML 2nd press; description; MOQ 3; capacity 20; 4 per buyer" in reply.text
    assert "closes Mon 30 Nov 2026, 20:00" in reply.text
    go = await _go(app)
    assert (go.title, go.description, go.moq, go.capacity, go.per_buyer_limit) == (
        "FML 2nd press",
        "With POB",
        3,
        20,
        4,
    )
    assert go.payment_window_hours == 24
    ok(await say(app, "gina", "/editgo SVT-FML limit=none"))
    assert (await _go(app)).per_buyer_limit is None


async def test_editgo_refuses_a_capacity_or_limit_below_what_live_orders_hold(app: App) -> None:
    await open_go(app, moq=1, cap=10, items=ALBUM)
    ok(await say(app, "bob", "/order SVT-FML POB 3"))
    ok(await say(app, "cara", "/order SVT-FML POB 2"))
    refused(await say(app, "gina", "/editgo SVT-FML cap=4"), "5 units taken by live orders")
    refused(await say(app, "gina", "/editgo SVT-FML limit=2"), "A buyer already holds 3 units")
    refused(await say(app, "gina", "/editgo SVT-FML moq=6 cap=5"), "between 0 and the capacity")
    go = await _go(app)
    assert (go.capacity, go.per_buyer_limit, go.moq) == (10, None, 1)
    ok(await say(app, "gina", "/editgo SVT-FML cap=5 limit=3"))
    refused(await say(app, "dan", "/order SVT-FML POB 1"), "full")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("/editgo SVT-FML", "Usage: /editgo"),
        ("/editgo SVT-FML colour=red", "don't know the option(s) colour"),
        ("/editgo SVT-FML cap=999999999999", "whole number"),
        ("/editgo SVT-FML cap=-3", "whole number"),
        ("/editgo SVT-FML cap=200000", "Capacity must be between"),
        ('/editgo SVT-FML title=""', "Title cannot be empty"),
        ("/editgo SVT-FML title=" + "세" * 201, "Title is too long"),
        ('/editgo SVT-FML deadline="2020-01-01 10:00"', "already passed"),
        ("/editgo NOPE cap=3", "There is no group order NOPE"),
        ("/edititem SVT-FML ALB price=0", "more than zero"),
        ("/edititem SVT-FML ALB price=abc", "amount"),
        ("/edititem SVT-FML ZZZ price=3", "has no item ZZZ"),
        ("/edititem SVT-FML ALB:Q price=3", "has no version Q"),
        ("/edititem SVT-FML ALB", "Usage: /edititem"),
        ("/removeitem SVT-FML", "Usage: /removeitem"),
        ("/retire SVT-FML 🎵", "is not an item code"),
        ("/copygo SVT-FML", "Usage: /copygo"),
        ("/copygo SVT-FML x", "A GO code is"),
        ("/close SVT-FML maybe", "Usage: /close"),
        ("/cancelgo SVT-FML now please", "Usage: /cancelgo"),
    ],
)
async def test_bad_edits_get_a_clear_answer_and_change_nothing(app: App, text: str, words: str) -> None:
    await open_go(app, moq=2, cap=10, items=ALBUM)
    before = await _go(app)
    refused(await say(app, "gina", text), words)
    after = await _go(app)
    assert (
        after.title,
        after.capacity,
        after.moq,
        after.deadline,
        after.status,
        after.catalogue_version,
    ) == (
        before.title,
        before.capacity,
        before.moq,
        before.deadline,
        before.status,
        before.catalogue_version,
    )


async def test_a_buyer_or_another_gom_cannot_edit(app: App) -> None:
    await open_go(app, items=ALBUM)
    await open_go(app, code="OTHER-GO", owner="otto", items=ALBUM)
    refused(await say(app, "bob", "/editgo SVT-FML cap=3"), "is for GOMs")
    refused(await say(app, "otto", "/editgo SVT-FML cap=3"), "run by another GOM")
    refused(await say(app, "otto", "/edititem SVT-FML ALB price=1"), "run by another GOM")
    refused(await say(app, "otto", "/copygo SVT-FML MINE"), "run by another GOM")
    assert (await _go(app)).capacity == 10


async def test_a_version_has_its_own_price_and_old_orders_keep_theirs(app: App) -> None:
    await open_go(app, items=ALBUM)
    first = ok(await say(app, "bob", "/order SVT-FML ALB:B 1"))
    assert "25.90" in first.text
    reply = ok(await say(app, "gina", "/edititem SVT-FML ALB:B price=31.50"))
    assert "ALB:B: price S$31.50 (new orders)" in reply.text
    assert "Fallen Misfit: S$31.50" in (await say(app, "cara", "/go SVT-FML")).text
    ok(await say(app, "cara", "/order SVT-FML ALB:B 1 ALB:A 1"))
    ok(await say(app, "gina", "/edititem SVT-FML ALB price=27"))  # the item; A follows it, B keeps its own
    ok(await say(app, "dan", "/order SVT-FML ALB:A 1 ALB:B 1"))
    assert await _line_prices(app) == {
        "SVT-FML-1": [2590],
        "SVT-FML-2": [3150, 2590],
        "SVT-FML-3": [2700, 3150],
    }


async def test_a_stale_price_is_refused_not_charged(app: App) -> None:
    await open_go(app, items=ALBUM)
    choices = await say(app, "bob", "/go SVT-FML")
    assert "25.90" in choices.text
    ok(await say(app, "gina", "/edititem SVT-FML ALB:A price=30"))
    from core.errors import PriceChanged
    from core.quantities import LineRequest
    from core.services.ordering import place_order
    from tests.conftest import buyer

    bob = await buyer(app, "bob")
    with pytest.raises(PriceChanged, match=r"changed from S\$25.90 to S\$30.00"):
        await place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 1)], {"ALB:A": 2590})
    assert await _line_prices(app) == {}


async def test_stock_can_rise_or_fall_but_never_below_what_is_held(app: App) -> None:
    await open_go(app, moq=1, cap=50, items=ALBUM)
    ok(await say(app, "bob", "/order SVT-FML ALB:B 2 POB 4"))
    refused(await say(app, "gina", "/edititem SVT-FML ALB:B stock=1"), "Live orders hold 2 of ALB:B")
    refused(await say(app, "gina", "/edititem SVT-FML POB stock=3"), "Live orders hold 4 of POB")
    ok(await say(app, "gina", '/edititem SVT-FML ALB:B stock=2 name="Fallen Misfit (Carat)"'))
    refused(await say(app, "cara", "/order SVT-FML ALB:B 1"), "sold out")
    ok(await say(app, "gina", "/edititem SVT-FML POB stock=none"))
    ok(await say(app, "cara", "/order SVT-FML POB 20"))
    async with app.core.reader() as uow:
        variant = await uow.session.scalar(select(Variant).where(Variant.code == "B"))
        assert variant is not None and (variant.name, variant.stock) == ("Fallen Misfit (Carat)", 2)


async def test_remove_only_what_nobody_ordered_and_retire_the_rest(app: App) -> None:
    await open_go(app, moq=1, items=(*ALBUM, 'LS 9 "Lightstick"'))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1 POB 1"))
    refused(await say(app, "gina", "/removeitem SVT-FML POB"), "/retire SVT-FML POB")
    refused(await say(app, "gina", "/removeitem SVT-FML ALB"), "has been ordered")
    ok(await say(app, "gina", "/removeitem SVT-FML ALB:B"))
    ok(await say(app, "gina", "/removeitem SVT-FML LS"))
    retired = ok(await say(app, "gina", "/retire SVT-FML POB"))
    assert "POB retired" in retired.text
    refused(await say(app, "gina", "/retire SVT-FML POB"), "retired already")
    refused(await say(app, "cara", "/order SVT-FML POB 1"), "no longer offered")
    card = ok(await say(app, "cara", "/go SVT-FML")).text
    assert "Photocard" not in card and "Lightstick" not in card and "Fallen Misfit" not in card
    ok(await say(app, "cara", "/order SVT-FML ALB:A 1"))
    async with app.core.reader() as uow:
        codes = set((await uow.session.scalars(select(Item.code))).all())
        assert codes == {"ALB", "POB"}
        lines = await uow.session.scalar(select(func.count()).select_from(OrderLine))
        assert lines == 3  # bob's POB stays on his order
    assert "Photocard" in ok(await say(app, "bob", "/myorders")).text


async def test_extend_counts_from_the_current_deadline_and_errors_show_it(app: App) -> None:
    await open_go(app, items=ALBUM)  # the deadline is three days from 2026-11-20 12:00 UTC
    reply = ok(await say(app, "gina", "/extend SVT-FML +2d"))
    assert "SVT-FML now closes Wed 25 Nov 2026, 20:00 +08" in reply.text
    reply = ok(await say(app, "gina", "/extend SVT-FML 2026-12-24 20:00"))
    assert "now closes Thu 24 Dec 2026, 20:00 +08" in reply.text
    earlier = refused(
        await say(app, "gina", "/extend SVT-FML 2026-12-01 20:00"), "later than the current one"
    )
    assert "now SVT-FML closes Thu 24 Dec 2026, 20:00 +08" in earlier.text
    nonsense = refused(await say(app, "gina", "/extend SVT-FML someday"), "not a time I understand")
    assert "Thu 24 Dec 2026, 20:00 +08" in nonsense.text


async def test_close_before_the_deadline_shows_what_happens_then_confirms(app: App) -> None:
    await open_go(app, moq=2, items=ALBUM)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 2"))
    preview = ok(await say(app, "gina", "/close SVT-FML"))
    assert "1 live order(s), 2 unit(s), S$51.80 in all; 0 paid" in preview.text
    assert "closing confirms" in preview.text
    assert [b.command for row in preview.buttons for b in row] == ["/close SVT-FML confirm"]
    assert (await _go(app)).status == "open"
    closed = ok(await say(app, "gina", "/close SVT-FML confirm"))
    assert "MOQ reached" in closed.text
    again = refused(await say(app, "gina", "/close SVT-FML confirm"), "is confirmed")
    assert "cannot become closed" in again.text


async def test_below_the_moq_the_gom_may_go_ahead_anyway(app: App) -> None:
    await open_go(app, moq=5, items=ALBUM)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 2"))
    preview = ok(await say(app, "gina", "/close SVT-FML"))
    assert "not reached (2/5)" in preview.text
    assert [b.command for row in preview.buttons for b in row] == [
        "/close SVT-FML proceed",
        "/close SVT-FML fail",
    ]
    closed = ok(await say(app, "gina", "/close SVT-FML proceed"))
    assert "going ahead anyway" in closed.text
    assert (await _go(app)).status == "confirmed"
    assert "waiting for payment" in ok(await say(app, "bob", "/myorders")).text


async def test_after_the_deadline_close_acts_at_once(app: App, clock: FrozenClock) -> None:
    await open_go(app, moq=5, items=ALBUM)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 2"))
    clock.advance(days=4)
    assert "failed" in ok(await say(app, "gina", "/close SVT-FML")).text


async def test_cancelgo_shows_orders_and_money_then_cancels_on_confirm(app: App) -> None:
    await open_go(app, moq=1, items=ALBUM)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1 POB 2"))
    preview = ok(await say(app, "gina", "/cancelgo SVT-FML"))
    assert "1 live order(s), 3 unit(s), S$31.90 in all" in preview.text
    assert [b.command for row in preview.buttons for b in row] == ["/cancelgo SVT-FML confirm"]
    assert (await _go(app)).status == "open"
    ok(await say(app, "gina", "/cancelgo SVT-FML confirm"))
    assert (await _go(app)).status == "cancelled"
    refused(await say(app, "gina", "/cancelgo SVT-FML confirm"), "cannot change any more")


async def test_copygo_copies_the_set_up_and_never_the_orders(app: App, clock: FrozenClock) -> None:
    await open_go(app, moq=3, cap=40, limit=2, items=(*ALBUM, 'LS 9 "Lightstick"'))
    ok(await say(app, "gina", "/paymethods SVT-FML paynow:+6591234567 manual"))
    ok(await say(app, "gina", "/edititem SVT-FML ALB:B price=31"))
    ok(await say(app, "bob", "/order SVT-FML ALB:B 1 LS 1"))
    ok(await say(app, "gina", "/retire SVT-FML LS"))
    clock.advance(days=5)
    copied = ok(await say(app, "gina", "/copygo SVT-FML svt-fml-2"))
    assert "Copied SVT-FML to SVT-FML-2 as a draft: 2 item(s)" in copied.text
    assert "/extend SVT-FML-2" in copied.text  # the old deadline has passed
    refused(await say(app, "gina", "/copygo SVT-FML SVT-FML-2"), "taken")
    refused(await say(app, "gina", "/open SVT-FML-2"), "/extend it first")
    ok(await say(app, "gina", "/extend SVT-FML-2 +7d"))
    ok(await say(app, "gina", "/open SVT-FML-2"))
    new = await _go(app, "SVT-FML-2")
    assert (new.moq, new.capacity, new.per_buyer_limit, new.reserved_units, new.order_seq) == (3, 40, 2, 0, 0)
    async with app.core.reader() as uow:
        items = (
            await uow.session.scalars(select(Item).where(Item.go_id == new.id).order_by(Item.position))
        ).all()
        assert [(i.code, i.price_minor, i.stock, i.reserved) for i in items] == [
            ("ALB", 2590, None, 0),
            ("POB", 300, 10, 0),
        ]
        versions = (
            await uow.session.execute(
                select(Variant.code, Variant.price_minor, Variant.stock, Variant.reserved)
                .join(Item, Item.id == Variant.item_id)
                .where(Item.go_id == new.id)
                .order_by(Variant.position)
            )
        ).all()
        assert [tuple(v) for v in versions] == [("A", None, None, 0), ("B", 3100, 5, 0)]
        methods = await uow.session.scalar(
            select(PaymentSettings.methods).where(PaymentSettings.go_id == new.id)
        )
        assert methods is not None and "paynow" in methods and "manual" in methods
        orders = await uow.session.scalar(
            select(func.count()).select_from(Order).where(Order.go_id == new.id)
        )
        assert orders == 0
    ordered = ok(await say(app, "cara", "/order SVT-FML-2 ALB:B 1"))
    assert "31.00" in ordered.text


async def test_without_buttons_the_choice_is_a_numbered_reply_and_acts_once(app: App) -> None:
    """SMS, WhatsApp and email have no buttons: the preview's buttons become "Reply 1 for …"."""
    from bots.console import ConsoleChat

    await open_go(app, moq=5, items=ALBUM)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 2"))
    out: list[str] = []
    chat = ConsoleChat(app.bot, out.append, numbered=True)
    await chat.feed("/as gom gina")
    await chat.feed("/close SVT-FML")
    assert "Reply 1 for Go ahead anyway, 2 for Close and fail SVT-FML." in out[-1]
    await chat.feed("1")
    assert "going ahead anyway" in out[-1]
    await chat.feed("1")  # the same answer again: the menu ended with the reply without buttons
    assert (await _go(app)).status == "confirmed"
    async with app.core.reader() as uow:
        confirmed = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.to_status == "confirmed")
        )
    assert confirmed == 1
