"""The bounds benchmark runs (tiny) in the suite, so it cannot rot; what it takes away is
taken away only while it measures."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import bounds
from core.services import ordering
from core.services.accounts import Actor, Caller, caller_plan
from core.views import LineView, OrderView
from templates import JinjaRenderer


def test_bounds_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    figures = bounds.main(["--buyers", "60", "--existing", "500", "--concurrency", "20", "--rounds", "1"])
    printed = capsys.readouterr().out
    assert "its reply's template free" in printed and "without it" in printed
    assert set(figures["chat"]) == {name for name, _ in bounds.CHAT_CASES}
    assert all(share > 0 for share in figures["chat"].values())
    assert set(figures["existing"]) == {True, False} and all(s > 0 for s in figures["existing"].values())


def test_a_free_part_answers_at_no_cost_only_inside_its_block() -> None:
    renderer = JinjaRenderer()
    actor = Actor(7, 8, "console", "ana", False, False)
    with bounds.free(bounds.FREE, [actor]):
        first = renderer.render("order_placed", "console", {"order": _order("A-1"), "rank": False})
        again = renderer.render("order_placed", "console", {"order": _order("A-2"), "rank": False})
        plan = ordering.caller_plan(Caller("console", "ana", "Ana", None), datetime.now(UTC))  # type: ignore[attr-defined]
        with pytest.raises(StopIteration) as done:
            next(plan)
    assert again is first and "A-1" in first.text
    assert done.value.value is actor
    assert "A-2" in renderer.render("order_placed", "console", {"order": _order("A-2"), "rank": False}).text
    assert ordering.caller_plan is caller_plan  # type: ignore[attr-defined]  # the real plan is back


def test_the_buyer_index_is_dropped(tmp_path: Path) -> None:
    path = str(tmp_path / "x.db")
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, buyer_id INTEGER)")
    connection.execute(f"CREATE INDEX {bounds.BUYER_INDEX} ON orders (buyer_id)")
    connection.close()
    bounds.drop_buyer_index(path)
    names = [
        r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    ]
    assert bounds.BUYER_INDEX not in names


def _order(number: str) -> OrderView:
    return OrderView(
        number,
        "A",
        "A drop",
        "placed",
        1,
        "SGD 1.00",
        "Mon",
        "Ana",
        [LineView("Album", "ALB", 1, "SGD 1.00")],
    )
