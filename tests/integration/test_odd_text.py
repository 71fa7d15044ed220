"""A person whose name or message holds odd characters uses gomflow like anyone else."""

from __future__ import annotations

from sqlalchemy import select

from bots.chat import ChatRequest
from bots.dispatch import handle
from core.db.models import User
from core.text import REPLACEMENT
from main import App
from tests.conftest import open_go, say

ODD_NAME = "Eve\ud800\x00\u202eevil\u202c Kim"  # a lone surrogate, a NUL, an RLO override
SHOWN = f"Eve{REPLACEMENT}evil Kim"


async def as_eve(app: App, text: str) -> str:
    request = ChatRequest("console", "eve-1", ODD_NAME, text, handle="@eve\x00\u202e", chat_id="eve-1")
    return (await handle(app.bot, request)).text


async def test_a_buyer_with_a_broken_display_name_can_browse_order_and_is_shown_cleanly(any_app: App) -> None:
    await open_go(any_app)
    browse = await as_eve(any_app, "/browse")
    assert "SVT-FML" in browse and "something went wrong" not in browse
    placed = await as_eve(any_app, "/order SVT-FML ALB:A 1")
    assert "SVT-FML-1" in placed and not placed.startswith("⚠️"), placed
    listing = (await say(any_app, "gina", "/orders SVT-FML")).text
    assert SHOWN in listing
    assert not any(c in listing for c in ("\x00", "\u202e", "\u202c", "\ud800"))
    async with any_app.core.reader() as uow:
        names = (await uow.session.scalars(select(User.display_name).where(User.is_gom.is_(False)))).all()
    assert names == [SHOWN]


async def test_a_nul_or_lone_surrogate_in_an_argument_gets_an_answer_not_an_error(any_app: App) -> None:
    await open_go(any_app)
    for text in ("/order SVT-FML\x00 ALB:A 1", "/order SVT\ud800 ALB:A 1", "/browse\x00"):
        reply = await as_eve(any_app, text)
        assert "something went wrong" not in reply, (text, reply)
    assert "SVT-FML-1" in await as_eve(any_app, "/myorders")
