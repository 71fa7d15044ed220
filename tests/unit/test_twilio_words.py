"""Commands texted as plain words read as the command table's commands."""

from __future__ import annotations

import pytest

from bots.twilio.incoming import as_command


@pytest.mark.parametrize(
    ("texted", "command"),
    [
        ("ORDER SVT-FML ALB 2", "/order SVT-FML ALB 2"),
        ("order svt-fml alb 2", "/order svt-fml alb 2"),
        ("/Pay SVT-FML-17", "/pay SVT-FML-17"),
        ("STATUS", "/myorders"),  # a buyer asking where their orders are
        ("status SVT-FML shipping", "/status SVT-FML shipping"),  # the GOM's command
        ("MyOrders", "/myorders"),
        ("menu", "/help"),
        ("thanks!", "thanks!"),
        ("2", "2"),
    ],
)
def test_plain_words_become_commands(texted: str, command: str) -> None:
    assert as_command(texted) == command
