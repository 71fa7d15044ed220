"""The broadcast benchmark runs (tiny) in the suite, so it cannot rot."""

from __future__ import annotations

import pytest

from bench import broadcast


def test_broadcast_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    result = broadcast.main(["--messages", "60", "--rate", "400"])
    out = capsys.readouterr().out
    assert "achieved / ceiling" in out and "transactional latency" in out
    assert result["violations"] == 0
    assert result["requests"] == 121  # 60 × (open the DM + the message) + the transactional one
    assert result["achieved"] <= result["ceiling"]
