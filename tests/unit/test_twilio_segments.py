"""How an SMS is carried: GSM-7 or UCS-2, its segment count, and long texts split on words."""

from __future__ import annotations

import pytest

from channels.sms_segments import MAX_MESSAGE, SmsShape, shape, split_message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Order SVT-FML-1 placed", SmsShape("GSM-7", 22, 1)),
        ("a" * 160, SmsShape("GSM-7", 160, 1)),
        ("a" * 161, SmsShape("GSM-7", 161, 2)),
        ("a" * 306, SmsShape("GSM-7", 306, 2)),
        ("a" * 307, SmsShape("GSM-7", 307, 3)),
        ("€" * 80, SmsShape("GSM-7", 160, 1)),  # the extension table takes two septets a character
        ("€" * 81, SmsShape("GSM-7", 162, 2)),
        ("สวัสดีครับ", SmsShape("UCS-2", 10, 1)),  # Thai
        ("ก" * 70, SmsShape("UCS-2", 70, 1)),
        ("ก" * 71, SmsShape("UCS-2", 71, 2)),
        ("안녕하세요 앨범 주문", SmsShape("UCS-2", 11, 1)),  # Korean
        ("가" * 135, SmsShape("UCS-2", 135, 3)),
        ("🎉" * 35, SmsShape("UCS-2", 70, 1)),  # an emoji is two UTF-16 units
        ("🎉" * 36, SmsShape("UCS-2", 72, 2)),
        ("Paid ✅ " + "a" * 60, SmsShape("UCS-2", 67, 1)),  # one emoji makes it all UCS-2
    ],
)
def test_encoding_and_segments(text: str, expected: SmsShape) -> None:
    assert shape(text) == expected


def test_a_long_message_is_split_on_word_boundaries() -> None:
    words = [f"word{i}" for i in range(700)]
    text = " ".join(words)
    parts = split_message(text)
    assert len(parts) > 1 and all(len(p) <= MAX_MESSAGE for p in parts)
    assert [w for p in parts for w in p.split(" ")] == words


def test_a_line_break_is_preferred_and_a_word_longer_than_a_message_is_cut() -> None:
    assert split_message("first line\nsecond line", 15) == ["first line", "second line"]
    assert split_message("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_message("short") == ["short"]
