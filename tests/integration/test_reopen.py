"""A GO below its MOQ at its deadline waits for the GOM: go ahead, fail it, or /reopen it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from sqlalchemy import select

from core.db.models import GroupOrder, Order
from core.errors import GomflowError
from core.quantities import LineRequest
from core.services import due, go_decision, group_orders, ordering
from main import App
from tests.conftest import assert_checks_pass, buyer, gom, link_email, open_go, say
from tests.integration.test_scheduler import keys
from tests.integration.test_staff_notices import notices_to

WINDOW = 24 * 14  # hours to pay: long enough that no order expires while the GOM decides


async def go_and_orders(app: App) -> tuple[str, list[str]]:
    async with app.core.reader() as uow:
        go = await uow.session.scalar(select(GroupOrder).where(GroupOrder.code == "SVT-FML"))
        assert go is not None
        orders = (await uow.session.scalars(select(Order.status).order_by(Order.id))).all()
        return go.status, list(orders)


async def waiting_go(app: App) -> None:
    """SVT-FML with one unit of an MOQ of 5, past its deadline and closed by the tick."""
    await open_go(app, moq=5, cap=10, window=WINDOW)
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 1)])
    app.core.clock.advance(days=3, minutes=1)
    report = await app.ticker.tick()
    assert not report.failed, report


async def outcomes(*calls: Awaitable[object]) -> list[object]:
    """Run ``calls`` at once; each result or the gomflow refusal it raised."""
    return list(await asyncio.gather(*calls, return_exceptions=True))


def one_won(results: list[object]) -> None:
    refused = [r for r in results if isinstance(r, GomflowError)]
    assert len(refused) == len(results) - 1, results
    assert all(not isinstance(r, BaseException) or isinstance(r, GomflowError) for r in results), results


async def test_a_go_below_its_moq_waits_for_the_gom_at_its_deadline_with_its_orders_kept(
    any_app: App,
) -> None:
    app = any_app
    await open_go(app, moq=5, cap=10, window=WINDOW)
    await link_email(app, "gina", "SVT-FML", "fans@example.com")
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 1)])
    app.core.clock.advance(days=3, minutes=1)
    await app.ticker.tick()
    await app.ticker.tick()

    assert await go_and_orders(app) == ("closed", ["placed"])
    assert await keys(app, "go_failed:") == []
    assert [k for k in await keys(app, "go_status:") if ":failed:" in k] == []
    decided = await notices_to(app, "gina", "staff_go_decided")
    assert [n["status"] for n in decided] == ["closed"]
    text = app.bot.renderer.render("staff_go_decided", "console", decided[0]).text
    for choice in ("/close SVT-FML proceed", "/close SVT-FML fail", "/reopen SVT-FML +3d"):
        assert choice in text, text
    refused = await say(app, "amy", "/order SVT-FML ALB:A 1")
    assert refused.text.startswith("⚠️"), refused.text
    await assert_checks_pass(app)


async def test_a_waiting_go_fails_as_before_when_the_gom_does_not_decide_in_time(any_app: App) -> None:
    app = any_app
    await waiting_go(app)
    app.core.clock.advance(hours=47)
    await app.ticker.tick()
    assert (await go_and_orders(app))[0] == "closed"

    app.core.clock.advance(hours=2)
    await app.ticker.tick()
    await app.ticker.tick()
    assert await go_and_orders(app) == ("failed", ["cancelled"])
    assert len(await keys(app, "go_failed:")) == 1
    decided = await notices_to(app, "gina", "staff_go_decided")
    assert [n["status"] for n in decided] == ["closed", "failed"]
    await assert_checks_pass(app)


async def test_the_gom_goes_ahead_or_fails_a_waiting_go_with_close(any_app: App) -> None:
    app = any_app
    await waiting_go(app)
    asked = await say(app, "gina", "/close SVT-FML")
    assert "/reopen SVT-FML" in asked.text and "/close SVT-FML fail" in asked.text, asked.text
    assert (await go_and_orders(app))[0] == "closed"
    done = await say(app, "gina", "/close SVT-FML proceed")
    assert "going ahead anyway" in done.text, done.text
    assert await go_and_orders(app) == ("confirmed", ["placed"])
    assert len(await keys(app, "go_confirmed:")) == 1

    again = await say(app, "gina", "/close SVT-FML fail")
    assert again.text.startswith("⚠️"), again.text
    assert (await go_and_orders(app))[0] == "confirmed"


async def test_the_gom_fails_a_waiting_go_at_once(any_app: App) -> None:
    app = any_app
    await waiting_go(app)
    done = await say(app, "gina", "/close SVT-FML fail")
    assert "failed" in done.text, done.text
    assert await go_and_orders(app) == ("failed", ["cancelled"])


async def test_reopen_opens_a_waiting_go_again_until_its_new_deadline(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=5, cap=10, window=WINDOW)
    await link_email(app, "gina", "SVT-FML", "fans@example.com")
    await say(app, "bob", "/order SVT-FML ALB:A 1")
    app.core.clock.advance(days=3, minutes=1)
    await app.ticker.tick()

    reply = await say(app, "gina", "/reopen SVT-FML +2d")
    assert not reply.text.startswith("⚠️") and "open" in reply.text, reply.text
    assert await go_and_orders(app) == ("open", ["placed"])
    ordered = await say(app, "amy", "/order SVT-FML ALB:A 1")
    assert not ordered.text.startswith("⚠️"), ordered.text
    await app.ticker.tick()
    assert len([k for k in await keys(app, "go_status:") if ":reopened:" in k]) == 1

    app.core.clock.advance(days=2, minutes=1)  # the new deadline passes below the MOQ again
    await app.ticker.tick()
    assert (await go_and_orders(app))[0] == "closed"
    decided = await notices_to(app, "gina", "staff_go_decided")
    assert [n["status"] for n in decided] == ["closed", "closed"]
    await assert_checks_pass(app)


async def test_reopen_refuses_what_it_cannot_do_with_a_clear_answer(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=5, cap=10, window=WINDOW)
    still_open = await say(app, "gina", "/reopen SVT-FML +2d")
    assert still_open.text.startswith("⚠️") and "waiting" in still_open.text, still_open.text
    await say(app, "bob", "/order SVT-FML ALB:A 1")
    app.core.clock.advance(days=3, minutes=1)
    await app.ticker.tick()
    for bad in ("/reopen SVT-FML", "/reopen SVT-FML yesterday-ish", "/reopen SVT-FML 2020-01-01 10:00"):
        refused = await say(app, "gina", bad)
        assert refused.text.startswith("⚠️"), (bad, refused.text)
    stranger = await say(app, "bob", "/reopen SVT-FML +2d")
    assert stranger.text.startswith("⚠️"), stranger.text
    assert (await go_and_orders(app))[0] == "closed"

    await say(app, "gina", "/close SVT-FML proceed")
    confirmed = await say(app, "gina", "/reopen SVT-FML +2d")
    assert confirmed.text.startswith("⚠️") and "confirmed" in confirmed.text, confirmed.text
    assert (await go_and_orders(app))[0] == "confirmed"


async def test_a_double_tap_on_reopen_reopens_once(any_app: App) -> None:
    app = any_app
    await waiting_go(app)
    gina = await gom(app)
    results = await outcomes(
        go_decision.reopen_group_order(app.core.uow(), gina, "SVT-FML", "+2d"),
        go_decision.reopen_group_order(app.core.uow(), gina, "SVT-FML", "+2d"),
    )
    one_won(results)
    assert (await go_and_orders(app))[0] == "open"


async def test_go_ahead_racing_reopen_never_reopens_a_confirmed_go(any_app: App) -> None:
    """Go ahead first: the reopen is refused. Reopen first: the GO is open, and the go-ahead
    then closes it early as /close CODE proceed does on any open GO; either way it is
    confirmed once and no order is lost."""
    app = any_app
    await waiting_go(app)
    gina = await gom(app)
    results = await outcomes(
        go_decision.reopen_group_order(app.core.uow(), gina, "SVT-FML", "+2d"),
        group_orders.close_group_order(app.core.uow(), gina, "SVT-FML", proceed=True),
    )
    reopened, closed = results
    assert not isinstance(closed, BaseException), results
    assert isinstance(reopened, GomflowError) or not isinstance(reopened, BaseException), results
    assert await go_and_orders(app) == ("confirmed", ["placed"])
    assert len(await keys(app, "go_confirmed:")) == 1
    await assert_checks_pass(app)


async def test_reopen_racing_the_failing_tick_acts_once(any_app: App) -> None:
    app = any_app
    await waiting_go(app)
    app.core.clock.advance(hours=49)
    gina = await gom(app)
    reopened, failed = await outcomes(
        go_decision.reopen_group_order(app.core.uow(), gina, "SVT-FML", "+2d"),
        due.fail_undecided_group_orders(app.core.uow(), app.core.settings.decision_window_hours),
    )
    status, orders = await go_and_orders(app)
    if isinstance(reopened, GomflowError):
        assert failed == ["SVT-FML"] and (status, orders) == ("failed", ["cancelled"])
    else:
        assert failed == [] and (status, orders) == ("open", ["placed"])
    await assert_checks_pass(app)
