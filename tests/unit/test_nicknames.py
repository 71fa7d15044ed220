"""Nicknames: what a buyer may call themselves on a public list, and the labels a GO's
masterlist gives its buyers (first claim first, look-alikes told apart)."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.services.nicknames import assign_labels, check_nickname, label_key


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("민지 🐰", "민지 🐰"),
        ("  Jin's   army  ", "Jin's army"),
        ("ชมพู่", "ชมพู่"),
        ("Mina-Lee!", "Mina-Lee!"),
        ("ミナ.", "ミナ."),
        ("Nguyễn", "Nguyễn"),
        ("carat 1996", "carat 1996"),
        ("right\u202eleft", "rightleft"),  # a bidi override never reaches a list
    ],
)
def test_nicknames_of_any_script_are_kept_tidied(typed: str, kept: str) -> None:
    assert check_nickname(typed) == kept


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("", "Usage"),
        ("x", "2 to 24 characters"),
        ("a" * 25, "2 to 24 characters"),
        ("@everyone", "cannot have @"),
        ("<@123456>", "cannot have"),
        ("**bold**", "cannot have *"),
        ("[x](y)", "cannot have"),
        ("<b>hi</b>", "cannot have"),
        ("`code`", "cannot have `"),
        ("a|b", "cannot have |"),
        ("bob@mail.example", "cannot have @"),
        ("https link", "a link"),
        ("www.fan.page", "a link"),
        ("shop.com", "a link"),
        ("t.me/x", "cannot have /"),
        ("+65 9123 4567", "at most 6 digits"),
        ("DBS 123-456-789", "at most 6 digits"),
        ("zero\u200bwidth", "invisible"),
        ("Buyer #3", "cannot have #"),
        ("buyer 3", "kept for buyers"),
        ("ＢＵＹＥＲ x", "kept for buyers"),
        ("=1+1", "cannot have ="),
    ],
)
def test_a_nickname_that_could_mention_link_format_or_expose_someone_is_refused(typed: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        check_nickname(typed)


def test_look_alike_nicknames_compare_equal() -> None:
    assert label_key("Mina Lee") == label_key("minalee") == label_key("ＭＩＮＡ ＬＥＥ")
    assert label_key("민지") != label_key("민지2")


def test_labels_follow_first_claims_and_tell_look_alikes_apart_the_same_way_every_time() -> None:
    buyers = [(7, "Mina"), (3, None), (9, "mina"), (4, "MINA"), (5, None), (8, "Jin")]
    labels = assign_labels(buyers)
    assert labels == {7: "Mina", 3: "Buyer #2", 9: "mina (2)", 4: "MINA (3)", 5: "Buyer #5", 8: "Jin"}
    assert assign_labels(list(buyers)) == labels
