"""The reports benchmark runs (tiny) in the suite, so it cannot rot."""

from __future__ import annotations

import pytest

from bench import reports


def test_reports_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    results = reports.main(["--orders", "30", "--skip-whole", "--here"])
    printed = capsys.readouterr().out
    assert "/orders now: summary and first page" in printed and "/export" in printed
    assert results["first page"]["bytes"] < results["export"]["bytes"]
    assert all(figures["peak_mb"] > 0 for figures in results.values())
