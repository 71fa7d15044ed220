"""The one cleaning every text from a platform goes through."""

from __future__ import annotations

import unicodedata

import pytest

from bots.chat import Attachment, ChatRequest
from core.text import REPLACEMENT, clean_name, clean_text


def encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    for lone in ("\ud800", "\udfff", "\ud83d"):
        cleaned = clean_text(f"a{lone}b")
        assert cleaned == f"a{REPLACEMENT}b" and encodes(cleaned)


def test_a_surrogate_pair_in_two_code_points_becomes_its_character() -> None:
    assert clean_text("hi \ud83d\ude00") == "hi \U0001f600"


def test_nul_and_other_controls_are_dropped_but_newline_and_tab_stay() -> None:
    assert clean_text("a\x00b\x07c\x1bd\x7fe\x85f") == "abcdef"
    assert clean_text("line one\nline\ttwo") == "line one\nline\ttwo"
    assert clean_text("dos\r\nold mac\rend") == "dos\nold mac\nend"


def test_text_is_normalised_to_nfc() -> None:
    decomposed = "Se\u0301oul"
    assert clean_text(decomposed) == "S\u00e9oul"
    assert unicodedata.is_normalized("NFC", clean_text(decomposed))


def test_length_is_capped_only_when_asked() -> None:
    assert clean_text("x" * 5000) == "x" * 5000
    assert clean_text("x" * 5000, 10) == "x" * 10


def test_plain_text_is_returned_unchanged() -> None:
    for plain in ("/order SVT-FML ALB:A 1", "김민지 🐰", ""):
        assert clean_text(plain) == plain


@pytest.mark.parametrize(
    "control", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
)
def test_a_name_loses_bidirectional_controls(control: str) -> None:
    assert clean_name(f"bob{control}gnp.exe") == "bobgnp.exe"


def test_a_name_is_one_line_with_single_spaces_and_capped() -> None:
    assert clean_name("  Min\n\tji   Kim \x00 ") == "Min ji Kim"
    assert clean_name("n" * 500) == "n" * 120
    assert clean_name("\u202e\x00") == ""


def test_every_chat_request_is_cleaned_as_it_is_made() -> None:
    request = ChatRequest(
        "console", "u\x001", "Eve\ud800\x00\u202eevil", "/order\x00 X\ud800 1", handle="@e\u202ev\x00e"
    )
    assert request.name == f"Eve{REPLACEMENT}evil"
    assert request.text == f"/order X{REPLACEMENT} 1"
    assert request.handle == "@eve" and request.user_id == "u1"
    for value in (request.name, request.text, request.handle, request.user_id):
        assert encodes(value) and "\x00" not in value


def test_an_attachment_name_is_cleaned_too() -> None:
    attachment = Attachment("proof\x00\u202egpj.exe", b"x", "image/png")
    assert attachment.filename == "proofgpj.exe" and encodes(attachment.filename)
