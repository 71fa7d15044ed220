"""The dashboard benchmark runs (tiny) in the suite, so it cannot rot."""

from __future__ import annotations

import pytest

from bench import dashboard


def test_dashboard_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    results = dashboard.main(["--orders", "60", "--rounds", "1"])
    printed = capsys.readouterr().out
    assert "a GO: items, summary, first page of orders" in printed and "every order as a CSV file" in printed
    assert set(results) == {label for label, _ in dashboard.pages(60)}
    assert all(figures["bytes"] > 0 and figures["median"] > 0 for figures in results.values())
