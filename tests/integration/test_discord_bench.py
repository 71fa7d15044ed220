"""The Discord benchmark runs (tiny) in the suite, so it cannot rot."""

from __future__ import annotations

import pytest

from bench import discord as discord_bench


def test_discord_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    figures = discord_bench.main(["--interactions", "30", "--rounds", "1"])
    out = capsys.readouterr().out
    assert "gomflow as a share of the floor" in out and "to the interaction response" in out
    assert "each round" in out
    assert figures["placed"] == 30 and figures["late"] == 0
    assert figures["rate"] > 0 and figures["floor_rate"] > 0


def test_the_free_core_run_answers_every_order_with_the_one_orders_reply(
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = discord_bench.main(["--interactions", "20", "--rounds", "1", "--free-core"])
    out = capsys.readouterr().out
    assert "free: one order's reply, nothing stored" in out
    assert "answered with the one order's reply" in out
    assert figures["placed"] == 20 and figures["late"] == 0
