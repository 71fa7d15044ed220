"""The email benchmark runs (tiny) in the suite, so it cannot rot; its figures are not asserted."""

from __future__ import annotations

import pytest

from bench import email


def test_email_benchmark_answers_every_order_and_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    figures = email.main(["--messages", "12", "--concurrency", "3"])
    assert figures["messages"] == 12 and figures["rate"] > 0 and figures["floor_rate"] > 0
    assert "gomflow as a share of the floor" in capsys.readouterr().out
