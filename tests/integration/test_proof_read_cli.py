"""Transfer screenshots read through the real OCR engine, and ``gomflow proof read``.

The screenshots are drawn by ``bench.proof_corpus`` into a temporary folder; three OCR reads
in all, since each costs about a second of CPU.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bench.proof_corpus import Sample, make_sample
from core.payments.reading.proof import read_proof
from main import parser, proof_read

pytest.importorskip(
    "rapidocr_onnxruntime", reason="the OCR extra is not installed: pip install 'gomflow[ocr]'"
)


def drawn(tmp_path: Path, index: int, seed: int, *, edited: bool = False) -> tuple[Sample, Path]:
    sample, data = make_sample(index, random.Random(seed), edited=edited)
    path = tmp_path / f"{sample.name}.jpg"
    path.write_bytes(data)
    return sample, path


@pytest.mark.parametrize(("index", "seed"), [(0, 11), (2, 5)], ids=["paynow", "promptpay-thai"])
def test_reads_amount_reference_and_transaction_id_from_a_screenshot(
    tmp_path: Path, index: int, seed: int
) -> None:
    sample, path = drawn(tmp_path, index, seed)
    reading = read_proof(path.read_bytes())
    assert (reading.amount_minor, reading.currency) == (sample.amount_minor, sample.currency)
    assert reading.reference == sample.reference
    assert reading.txn_id == sample.txn_id
    assert reading.edited == ()
    assert reading.confidence >= 0.5
    assert reading.image_hash is not None and len(reading.image_hash) == 16


def test_cli_prints_the_reading_of_an_edited_screenshot_as_one_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample, path = drawn(tmp_path, 1, 8, edited=True)
    assert proof_read(path, None) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {"amount_minor", "currency", "reference", "txn_id", "datetime", "recipient", "confidence"} <= set(
        printed
    )
    assert printed["amount_minor"] == sample.amount_minor  # what the edited picture says
    assert any("amount" in why for why in printed["edited"]), printed["edited"]


def test_cli_refuses_a_file_that_is_not_a_screenshot_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "statement.pdf"
    garbage.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 10)
    assert proof_read(garbage, None) == 2
    assert "not a picture" in capsys.readouterr().err


def test_cli_refuses_a_file_over_20_mb_without_reading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as out:
        out.truncate(21 * 1024 * 1024)  # sparse: no 21 MB written
    assert proof_read(huge, None) == 2
    assert "20 MB" in capsys.readouterr().err


def test_cli_refuses_a_missing_file_and_an_unknown_currency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert proof_read(tmp_path / "nowhere.png", None) == 2
    assert "cannot be read" in capsys.readouterr().err
    _, path = drawn(tmp_path, 0, 1)
    assert proof_read(path, "XYZ") == 2
    assert "XYZ" in capsys.readouterr().err


def test_proof_read_is_a_command() -> None:
    args = parser().parse_args(["proof", "read", "shot.png", "--currency", "THB"])
    assert (args.command, args.action, args.image, args.currency) == (
        "proof",
        "read",
        Path("shot.png"),
        "THB",
    )
