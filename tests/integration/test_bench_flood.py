"""The flood benchmark runs (small) in the suite, so it cannot rot; its figures are printed,
not asserted (a timed assertion fails on a busy machine, never because of the code)."""

from __future__ import annotations

import pytest

from bench import flood
from core.throttle import DEFAULT_BURST


def test_flood_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    result = flood.main(["--rate", "200", "--seconds", "1", "--others", "5"])
    out = capsys.readouterr().out

    assert "flooder: units reserved" in out and "others: p50 / p95 / max reply" in out
    assert result["recorded"] == result["offered"] + 5  # every update recorded, and handled
    assert result["units"] < result["offered"] / 2  # the flood's surplus reserved nothing
    assert result["answered"] >= DEFAULT_BURST  # the burst is answered, and "slow down" once
