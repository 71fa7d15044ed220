"""Ranking inclusions on a platform without buttons: numbered replies, right after ordering."""

from __future__ import annotations

from bots.console import ConsoleChat
from main import App
from tests.conftest import open_go, say


async def test_a_buyer_ranks_by_replying_numbers_right_after_ordering(app: App) -> None:
    await open_go(app, moq=1, items=('ALB 25.90 "FML album"',))
    await say(app, "gina", '/inclusions SVT-FML ALB add "Mingyu PC,Wonwoo PC,Hoshi PC"')
    out: list[str] = []
    chat = ConsoleChat(app.bot, out.append, numbered=True)
    await chat.feed("/as buyer bob")
    await chat.feed("/order SVT-FML ALB 1")
    assert "rank the ones you want with /rank SVT-FML-1" in out[-1]
    assert "3 for Rank the inclusions you want" in out[-1], out[-1]
    await chat.feed("3")
    assert "You have not ranked them yet." in out[-1]
    assert "Reply 1 for Next: Mingyu PC, 2 for Next: Wonwoo PC, 3 for Next: Hoshi PC." in out[-1], out[-1]
    await chat.feed("3")  # Hoshi first
    assert "Your ranking: Hoshi PC" in out[-1]
    assert "Reply 1 for Next: Mingyu PC, 2 for Next: Wonwoo PC, 3 for Start over." in out[-1], out[-1]
    await chat.feed("1")
    assert "Your ranking: Hoshi PC > Mingyu PC" in out[-1]
