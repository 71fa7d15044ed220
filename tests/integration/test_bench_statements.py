"""The statement benchmark runs (small) in the suite, so it cannot rot; its timings are
printed, not asserted, but its accuracy on the generated corpus is."""

from __future__ import annotations

import pytest

from bench import statements


def test_statement_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    result = statements.main(["--lines", "40", "--requests", "12", "--big", "200"])
    out = capsys.readouterr().out

    assert "matchable matched right" in out and "read + match one 200-line file" in out
    assert result["rows_right"] == 1.0
    assert result["matched_right"] >= 0.98
    assert result["false_matches"] == 0
