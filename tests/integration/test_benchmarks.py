"""Small runs of the benchmarks, so they cannot rot; their figures are not asserted here."""

from __future__ import annotations

import pytest

from bench import drop, memory, telegram
from tests.conftest import NO_POSTGRES, POSTGRES_URL


def test_drop_benchmark_runs_and_never_oversells(capsys: pytest.CaptureFixture[str]) -> None:
    [result] = drop.main(
        ["--backend", "sqlite", "--buyers", "300", "--concurrency", "50", "--floor-runs", "200"]
    )
    assert result.oversell == 0
    assert result.placed + result.refused == 300 and result.refused > 0
    assert result.floor_tps > 0 and len(result.latencies_ms) == 300
    assert "ours as a share of the floor" in capsys.readouterr().out


@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
def test_drop_benchmark_runs_on_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOMFLOW_BENCH_POSTGRES_URL", POSTGRES_URL or "")
    [result] = drop.main(
        ["--backend", "postgres", "--buyers", "200", "--concurrency", "50", "--floor-runs", "100"]
    )
    assert result.oversell == 0 and result.placed > 0


def test_memory_benchmark_reads_the_peak_of_a_real_run(capsys: pytest.CaptureFixture[str]) -> None:
    peak = memory.main(["--orders", "500", "--buyers", "40"])
    assert 10 < peak < 2000
    assert "drop orders answered through the console  40" in capsys.readouterr().out


def test_telegram_benchmark_orders_by_taps_against_the_echo_floor(capsys: pytest.CaptureFixture[str]) -> None:
    figures = telegram.main(["--taps", "40", "--concurrency", "4"])
    assert figures["placed"] == 40 and figures["rate"] > 0 and figures["floor_rate"] > 0
    assert "gomflow as a share of the floor" in capsys.readouterr().out


def test_qr_photo_benchmark_reads_the_qr_and_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import qr_photo

    result = qr_photo.main(["--megapixels", "1", "--rounds", "1"])
    assert result["read ms"] > 0 and result["pause ms (inline)"] > 0
    assert "longest loop pause, read in a thread" in capsys.readouterr().out


def test_scale_benchmark_runs_at_a_tiny_size(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import scale

    figures = scale.main(
        [
            "--backend",
            "sqlite",
            "--buyers",
            "120",
            "--concurrency",
            "30",
            "--existing",
            "2000",
            "--rounds",
            "2",
        ]
    )
    assert len(figures["sqlite_rounds"]) == 2 and figures["chat_share"] > 0 and figures["full_share"] > 0
    assert figures["sqlite_empty"].oversell == 0 and figures["sqlite_full"].oversell == 0
    assert figures["sqlite_empty"].floor > 0 and figures["sqlite_empty"].chat.rate > 0
    assert figures["sqlite_empty"].desk.cpu_seconds > 0 and figures["sqlite_empty"].floor_cpu_seconds > 0
    printed = capsys.readouterr().out
    assert "as a share of the floor" in printed and "CPU per order" in printed


@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
def test_scale_benchmark_runs_on_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import scale

    monkeypatch.setenv("GOMFLOW_BENCH_POSTGRES_URL", POSTGRES_URL or "")
    figures = scale.main(["--backend", "postgres", "--buyers", "80", "--concurrency", "20", "--workers", "2"])
    assert figures["postgres"].oversell == 0 and figures["postgres"].floor > 0
