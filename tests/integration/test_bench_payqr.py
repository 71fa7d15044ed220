"""The pay-page QR benchmark runs (small) in the suite, so it cannot rot; its timings are
printed, not asserted."""

from __future__ import annotations

import pytest

from bench import payqr


def test_payqr_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    result = payqr.main(["--loads", "20"])
    out = capsys.readouterr().out

    assert "as built: a bot reply meanwhile" in out and "drawn on the loop each time" in out
    assert result["ok"] == 20
    assert (result["drawn"], result["old_drawn"]) == (1, 20)
