"""A mistyped command is answered with the nearest one the sender may run, on every platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.telegram.adapter import TelegramBot
from core.clock import FrozenClock
from core.services.accounts import register_gom
from main import App
from tests.conftest import fresh_database_url, gom, say
from tests.e2e.conftest import fake  # noqa: F401  (fixture)
from tests.e2e.test_telegram_bot import BOB, handled, said, telegram  # noqa: F401  (fixture)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_rig import TwilioRig, twilio_rig

GINA_SMS = "+6591110000"
BOB_SMS = "+6591234567"


@pytest.fixture
async def rig(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[TwilioRig]:
    async with twilio_rig(await fresh_database_url("sqlite", tmp_path), clock) as rig:
        yield rig


async def test_a_mistyped_command_suggests_the_nearest_in_the_console(app: App) -> None:
    assert "Did you mean /order?" in (await say(app, "bob", "/ordr SVT-FML ALB 1")).text
    assert "Did you mean /myorders?" in (await say(app, "bob", "/myorder")).text
    typed = (await say(app, "bob", "ordr SVT-FML ALB 1")).text  # the slash forgotten as well
    assert "Did you mean /order?" in typed


async def test_nothing_is_suggested_for_gibberish_or_for_a_command_the_sender_may_not_run(app: App) -> None:
    await gom(app)
    nonsense = (await say(app, "bob", "/xqzzy")).text
    assert "I don't know /xqzzy" in nonsense and "Did you mean" not in nonsense
    assert "Did you mean /cancelgo" not in (await say(app, "bob", "/cancelg")).text  # a GOM command
    assert "Did you mean /cancelgo?" in (await say(app, "gina", "/cancelg")).text
    assert "Did you mean" not in (await say(app, "bob", "hello there")).text
    odd = (await say(app, "bob", "/ördér" + "x" * 3000)).text
    assert odd.startswith("I don't know /") and len(odd) < 300


async def test_a_mistyped_word_by_sms_suggests_the_word_to_text(rig: TwilioRig) -> None:
    await register_gom(rig.app.core.uow(), "sms", GINA_SMS, "Gina")
    answer = await rig.say("sms", BOB_SMS, "ORDR SVT-FML ALB 1")
    assert "Did you mean ORDER?" in answer, answer
    assert "/" not in answer.split("Did you mean")[1].split("?")[0]


async def test_a_mistyped_command_on_telegram_suggests_the_nearest(
    app: App,
    fake: FakeTelegram,  # noqa: F811
    telegram: TelegramBot,  # noqa: F811
) -> None:
    assert "Did you mean /order?" in await said(fake, BOB, "/ordr SVT-FML ALB 1")
