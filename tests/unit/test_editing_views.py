"""Retired items and a version's own price, as buyers are offered them on every platform."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.choices import order_choices
from platforms import template_variants
from templates import JinjaRenderer
from tests.unit.editing_template_cases import GO

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("channel", ["console", "telegram", "sms", "discord"])
def test_retired_items_and_versions_are_left_off_the_card(channel: str) -> None:
    text = JinjaRenderer(template_variants()).render("go_card", channel, {"go": GO}).text
    assert "Lightstick" not in text and "Carat" not in text
    assert "Fallen Misfit" in text and "31.00" in text


def test_choices_offer_a_versions_own_price_and_nothing_retired() -> None:
    choices = order_choices(GO, NOW)
    assert [(c.token, c.price, c.price_minor) for c in choices.choices] == [
        ("ALB:A", "S$25.90", 2590),
        ("ALB:B", "S$31.00", 3100),
    ]


def test_on_discord_each_edit_setting_is_its_own_option_and_comes_back_as_typed() -> None:
    from bots.commands import COMMANDS
    from bots.commands.args import key_values, split_args
    from bots.discord.slash import command_line, options_of

    assert [o.name for o in options_of(COMMANDS["edititem"])] == ["code", "item", "name", "price", "stock"]
    assert [o.name for o in options_of(COMMANDS["editgo"])] == [
        "code",
        "title",
        "desc",
        "moq",
        "cap",
        "limit",
        "window",
        "deadline",
        "language",
    ]
    assert [o.name for o in options_of(COMMANDS["retire"])] == ["code", "item"]
    line = command_line(
        "edititem", {"code": "SVT-FML", "item": "ALB:B", "name": "Fallen Misfit", "price": "31"}
    )
    positional, options = key_values(split_args(line)[1:])
    assert positional == ["SVT-FML", "ALB:B"]
    assert options == {"name": "Fallen Misfit", "price": "31"}
