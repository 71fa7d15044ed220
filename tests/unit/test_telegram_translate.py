"""Reading Telegram commands the way people type them in private chats and groups."""

from __future__ import annotations

import pytest

from bots.telegram.render import group_link
from bots.telegram.translate import command_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/go SVT-FML", ("go", ["SVT-FML"], True)),
        ("/go@gomflow_bot SVT-FML", ("go", ["SVT-FML"], True)),
        ("/GO@GomFlow_Bot svt-fml", ("go", ["svt-fml"], True)),
        ("/go@other_bot SVT-FML", ("go", ["SVT-FML"], False)),
        ("hello there", (None, [], True)),
        ("/", ("", [], True)),
    ],
)
def test_command_of(text: str, expected: tuple[str | None, list[str], bool]) -> None:
    assert command_of(text, "gomflow_bot") == expected


def test_group_buttons_become_deep_links_only_for_gos() -> None:
    assert group_link("/go SVT-FML", "gomflow_bot") == "https://t.me/gomflow_bot?start=SVT-FML"
    assert group_link("/order SVT-FML ALB:A 1", "gomflow_bot") == "https://t.me/gomflow_bot?start=SVT-FML"
    assert group_link("/cancel SVT-FML-1", "gomflow_bot") is None
    assert group_link("/go SVT?FML", "gomflow_bot") is None
