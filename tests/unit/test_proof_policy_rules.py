"""The pure rules of a proof's reading against its request (core.payments.reading.policy)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from core.payments.reading import ProofReading
from core.payments.reading.policy import Expected, judge, normal_reference

ORDERED = datetime(2026, 12, 1, 4, 0, 30, tzinfo=UTC)  # 12:00:30 in Singapore
ASKED = Expected(4900, "SGD", "SVT-FML-3-I1", ORDERED, "Asia/Singapore")


def reading(**changes: object) -> ProofReading:
    fields: dict[str, object] = {
        "amount_minor": 4900,
        "currency": "sgd",
        "reference": "svt fml 3 i1",
        "txn_id": "T1",
        "paid_at": datetime(2026, 12, 1, 12, 0),  # the phone's local time, no zone, minutes only
        "confidence": 0.9,
    }
    fields.update(changes)
    return ProofReading(**fields)  # type: ignore[arg-type]


def test_a_reading_matching_in_every_field_is_approvable() -> None:
    verdict = judge(reading(), ASKED)
    assert verdict.exact and verdict.approvable, verdict.mismatches


def test_a_local_time_before_the_order_minute_is_a_mismatch() -> None:
    verdict = judge(reading(paid_at=datetime(2026, 12, 1, 11, 59)), ASKED)
    assert verdict.exact and not verdict.approvable
    assert verdict.mismatches == ["date read 2026-12-01T11:59, expected after 2026-12-01T04:00+00:00"]


def test_fields_not_read_are_mismatches_and_nothing_read_is_never_exact() -> None:
    verdict = judge(ProofReading(note="not a receipt"), ASKED)
    assert not verdict.exact and not verdict.approvable
    assert {c.read for c in verdict.checks} == {"not read"}


def test_edits_flags_and_low_confidence_stop_an_approval_but_not_an_exact_match() -> None:
    assert not judge(reading(edited=("fonts differ",)), ASKED).approvable
    assert not judge(reading(), ASKED, ("the same screenshot was already sent",)).approvable
    low = judge(reading(confidence=0.3), ASKED)
    assert low.exact and not low.approvable


def test_an_unknown_currency_read_is_shown_as_read() -> None:
    verdict = judge(reading(currency="XYZ"), ASKED)
    assert [c.read for c in verdict.checks][:2] == ["4900 XYZ", "XYZ"]


def test_references_compare_without_spaces_dashes_or_case() -> None:
    assert normal_reference(" svt-fml 3-i1 ") == normal_reference("SVT-FML-3-I1")


def test_letters_ocr_takes_for_digits_compare_as_those_digits() -> None:
    # screenshots are read by OCR, which cannot tell O from 0 or I and l from 1 in many fonts;
    # the reference is checked against the one request the proof was sent for, never looked up
    assert judge(reading(reference="KP0P1-971-Pl"), replace(ASKED, reference="KPOP1-971-P1")).exact
    assert normal_reference("KPOP-3-I1") != normal_reference("KPOP-3-I2")
