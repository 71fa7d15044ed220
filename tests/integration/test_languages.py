"""Each person reads gomflow in their own language: from their app's hint on first contact,
from /language afterwards, from a GO's default when nothing says; replies and
notifications alike, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from core.db.models import User
from core.payments import methods
from main import App
from templates.i18n import translations
from tests.conftest import gom, in_language, open_go, say
from tests.integration.test_payments import ok

ORDER = "/order SVT-FML ALB:A 1"


def said(in_language: str, message: str, **values: str) -> str:
    """``message`` as the catalogue of ``in_language`` has it (and never the English)."""
    text = translations(in_language).gettext(message)
    assert text != message, f"{in_language} has no translation of {message!r}"
    return text % values if values else text


async def language_of(app: App, name: str) -> str | None:
    async with app.core.reader() as uow:
        return await uow.session.scalar(select(User.language).where(User.display_name == name))


async def test_a_first_contact_is_answered_in_the_language_their_app_says(any_app: App) -> None:
    app = any_app
    await open_go(app)
    placed = await say(app, "bob", ORDER, language="id")
    assert said("id", "Order placed!") in placed.text
    assert "Order placed!" not in placed.text
    assert await language_of(app, "bob") == "id"
    # their phone's language changing later does not undo what was chosen
    asked = await say(app, "bob", "/language", language="th-TH")
    assert said("id", "I write to you in %(language)s.", language="Bahasa Indonesia") in asked.text
    assert await language_of(app, "bob") == "id"


async def test_an_app_language_gomflow_does_not_speak_reads_english(any_app: App) -> None:
    app = any_app
    await open_go(app)
    placed = await say(app, "bob", ORDER, language="ja")
    assert "Order placed!" in placed.text
    assert await language_of(app, "bob") is None
    asked = await say(app, "bob", "/language")
    assert "I write to you in English." in asked.text and "th — ภาษาไทย" in asked.text


async def test_language_changes_replies_and_notifications_from_then_on(
    any_app: App, outbox_log: list[str]
) -> None:
    app = any_app
    await open_go(app)
    chosen = await say(app, "bob", "/language thai", language="en-GB")
    assert said("th", "Done: from now on I write to you in %(language)s.", language="ภาษาไทย") in chosen.text
    assert await language_of(app, "bob") == "th"
    assert said("th", "Order placed!") in (await say(app, "bob", ORDER, language="en-GB")).text
    assert "Order placed!" in (await say(app, "amy", ORDER)).text  # nothing says: English

    await say(app, "gina", "/cancelgo SVT-FML confirm")
    await app.dispatcher.run_once()
    refunded = "Your order is cancelled; anything you paid will be refunded."
    [to_bob] = [line for line in outbox_log if line.startswith("📨 to bob:")]
    [to_amy] = [line for line in outbox_log if line.startswith("📨 to amy:")]
    assert said("th", refunded) in to_bob and refunded not in to_bob
    assert refunded in to_amy


async def test_a_language_gomflow_does_not_have_is_refused_with_the_choices(any_app: App) -> None:
    app = any_app
    await say(app, "bob", "/language vi")
    refused = await say(app, "bob", "/language klingon")
    assert refused.refusal == "invalid_input"
    assert "klingon" in refused.text and "th (ภาษาไทย)" in refused.text
    assert await language_of(app, "bob") == "vi"


async def test_buyers_without_a_language_take_the_gos(any_app: App) -> None:
    app = any_app
    await open_go(app)
    edited = await say(app, "gina", "/editgo SVT-FML language=vi")
    assert "Tiếng Việt" in edited.text, edited.text
    assert said("vi", "Order placed!") in (await say(app, "carl", ORDER)).text
    assert await language_of(app, "carl") == "vi"
    assert said("ko", "Order placed!") in (await say(app, "dana", ORDER, language="ko")).text
    assert await language_of(app, "dana") == "ko"
    await say(app, "gina", "/editgo SVT-FML language=none")
    assert "Order placed!" in (await say(app, "erin", ORDER)).text
    assert await language_of(app, "erin") is None


async def test_an_orders_buttons_are_in_the_buyers_language(any_app: App) -> None:
    app = any_app
    await open_go(app)
    thai = await say(app, "bob", ORDER, language="th")
    assert [[b.label for b in row] for row in thai.buttons] == [
        [in_language("th", "Pay")],
        [in_language("th", "Cancel order")],
    ]
    assert [b.command for row in thai.buttons for b in row] == ["/pay SVT-FML-1", "/cancel SVT-FML-1"]
    # a buyer with no language of their own takes the GO's, the buttons too
    await say(app, "gina", "/editgo SVT-FML language=vi")
    carl = await say(app, "carl", ORDER)
    assert [b.label for row in carl.buttons for b in row] == [
        in_language("vi", "Pay"),
        in_language("vi", "Cancel order"),
    ]
    await say(app, "gina", "/editgo SVT-FML language=none")
    english = await say(app, "erin", ORDER)
    assert [b.label for row in english.buttons for b in row] == ["Pay", "Cancel order"]


async def test_a_fields_name_in_a_refusal_is_in_the_readers_language(any_app: App) -> None:
    await gom(any_app)
    ok(await say(any_app, "gina", "/language th"))
    refused = await say(any_app, "gina", '/newgo TH-GO "Thai GO" currency=THB moq=1 cap=lots deadline=+3d')
    said = in_language("th", "%(label)s must be a whole number, not '%(text)s'.", label="X", text="lots")
    assert refused.refusal is not None
    assert said.replace("X", in_language("th", "Capacity")) in refused.text, refused.text


async def test_a_fee_not_known_yet_reads_in_the_buyers_language(any_app: App) -> None:
    await open_go(any_app, moq=1)
    ok(await say(any_app, "gina", '/shipopt SVT-FML NV courier "Ninja Van" tiers="500:3.50,1000:5.20"'))
    ok(await say(any_app, "tida", "/order SVT-FML ALB:A 1", language="th"))
    address = '/address add name="Tida" phone=+66812345678 line1="1 Sukhumvit Rd" postal=10110 country=TH'
    ok(await say(any_app, "tida", address))
    ok(await say(any_app, "tida", "/deliver SVT-FML NV"))
    track = ok(await say(any_app, "tida", "/track"))
    assert in_language("th", "to be set once weighed") in track.text and "weighed" not in track.text


async def test_a_refusal_made_of_phrases_reads_whole_in_the_readers_language(any_app: App) -> None:
    await gom(any_app)
    ok(await say(any_app, "gina", "/language th"))
    ok(await say(any_app, "gina", '/newgo TH-GO "Thai GO" currency=THB moq=1 cap=5 deadline=+3d'))
    ok(await say(any_app, "gina", '/additem TH-GO POB 3 "Photocard"'))
    refused = await say(any_app, "gina", "/open TH-GO")
    ways = in_language("th", methods.WAYS_TO_PAY, code="TH-GO")
    why = "%(code)s has no payment method yet, so buyers could not pay. Set one first: %(ways)s."
    assert in_language("th", why, code="TH-GO", ways=ways) in refused.text, refused.text
