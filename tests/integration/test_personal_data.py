"""/mydata hands a buyer everything held about them; /forgetme and a GOM's /forgetbuyer erase
it, and the books still add up (``gomflow check``), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

from sqlalchemy import func, select

from bots.chat import Attachment, ChatRequest
from bots.dispatch import handle
from core.db.models import Address, Identity, Order, PaymentProof, User
from main import App
from tests.conftest import assert_checks_pass, open_go, say
from tests.images import screenshot

ADDRESS = '/address add name="Ana Lim" phone=+6591234567 line1="1 Orchard Rd" postal=238823 country=SG'


async def _ana_with_history(app: App) -> bytes:
    await open_go(app, moq=1)
    assert "⚠️" not in (await say(app, "gina", "/paymethods SVT-FML manual")).text
    assert "⚠️" not in (await say(app, "ana", ADDRESS)).text
    assert "⚠️" not in (await say(app, "ana", "/order SVT-FML ALB:A 2")).text
    assert "⚠️" not in (await say(app, "bob", "/order SVT-FML ALB:B 1")).text
    image = screenshot()
    request = ChatRequest(
        "console", "ana", "ana", "/paid SVT-FML-1 DBS-555", handle="ana", chat_id="ana",
        attachment=Attachment("p.png", image, "image/png"),
    )  # fmt: skip
    assert "⚠️" not in (await handle(app.bot, request)).text
    assert "⚠️" not in (await say(app, "gina", "/approve SVT-FML-1")).text
    return image


async def _buyer_of(app: App, number: str) -> User:
    async with app.core.reader() as uow:
        query = select(User).join(Order, Order.buyer_id == User.id).where(Order.number == number)
        user = await uow.session.scalar(query)
    assert user is not None
    return user


async def test_mydata_is_a_file_with_everything_held_about_the_buyer(any_app: App) -> None:
    app = any_app
    image = await _ana_with_history(app)
    reply = await say(app, "ana", "/mydata")
    assert reply.document is not None and reply.document.mime_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(reply.document.content)) as archive:
        data = json.loads(archive.read("data.json"))
        (proof_file,) = [n for n in archive.namelist() if n.startswith("proof-")]
        assert archive.read(proof_file)[:8] == image[:8]
    assert data["person"]["display_name"] == "ana"
    assert data["addresses"][0]["phone"] == "+6591234567" and data["addresses"][0]["line1"] == "1 Orchard Rd"
    assert [o["number"] for o in data["orders"]] == ["SVT-FML-1"] and data["orders"][0]["units"] == 2
    assert data["payment_proofs"][0]["reference"] == "DBS-555"
    assert "bob" not in json.dumps(data)  # only their own


async def test_forgetme_asks_then_erases_and_the_books_still_add_up(any_app: App) -> None:
    app = any_app
    await _ana_with_history(app)
    asked = await say(app, "ana", "/forgetme")
    assert "cannot be undone" in asked.text and asked.buttons[0][0].command == "/forgetme confirm"
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Address)) == 1  # nothing yet
    done = await say(app, "ana", "/forgetme confirm")
    assert "Erased" in done.text
    async with app.core.reader() as uow:
        ana = await _buyer_of(app, "SVT-FML-1")
        assert ana.display_name == f"erased buyer #{ana.id}"
        assert await uow.session.scalar(select(func.count()).select_from(Address)) == 0
        proof = await uow.session.scalar(select(PaymentProof))
        assert (
            proof is not None and proof.image is None and proof.reference == "" and proof.status == "approved"
        )
        handles = (
            await uow.session.scalars(select(Identity.external_id).where(Identity.user_id == ana.id))
        ).all()
        assert handles and all(h.startswith("erased:") for h in handles)
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 2
    await assert_checks_pass(app)
    sheet = await say(app, "gina", "/export SVT-FML")
    assert sheet.document is not None and "erased buyer #" in sheet.document.content.decode("utf-8-sig")
    again = await say(app, "ana", "/mydata")  # the same chat is a new, empty person now
    assert again.document is not None
    with zipfile.ZipFile(io.BytesIO(again.document.content)) as archive:
        assert json.loads(archive.read("data.json"))["orders"] == []


async def test_a_gom_erases_a_buyer_of_their_own_go_only(any_app: App) -> None:
    app = any_app
    await _ana_with_history(app)
    await open_go(app, "OTHER", owner="otto")
    refused = await say(app, "otto", "/forgetbuyer SVT-FML-2 confirm")
    assert refused.text.startswith("⚠️") and "not in one of your group orders" in refused.text
    assert "written request" in (await say(app, "gina", "/forgetbuyer SVT-FML-2")).text
    done = await say(app, "gina", "/forgetbuyer SVT-FML-2 confirm")
    assert "erased buyer #" in done.text
    assert (await say(app, "bob", "/forgetbuyer SVT-FML-1 confirm")).text.startswith("⚠️")  # buyers may not
    gom = await say(app, "gina", "/forgetme confirm")
    assert gom.text.startswith("⚠️") and "operator" in gom.text
    async with app.core.reader() as uow:  # bob's later message made a new, empty person
        buyers = await uow.session.execute(
            select(Order.number, User.display_name, User.id).join(User, User.id == Order.buyer_id)
        )
        named = {number: (name, user_id) for number, name, user_id in buyers}
    assert named["SVT-FML-2"] == (f"erased buyer #{named['SVT-FML-2'][1]}", named["SVT-FML-2"][1])
    assert named["SVT-FML-1"][0] == "ana"
    await assert_checks_pass(app)


async def test_a_double_tap_on_forgetme_and_the_gom_erasing_at_once_all_end_erased(any_app: App) -> None:
    app = any_app
    await _ana_with_history(app)
    ana = await _buyer_of(app, "SVT-FML-1")
    replies = await asyncio.gather(
        say(app, "ana", "/forgetme confirm"),
        say(app, "ana", "/forgetme confirm"),
        say(app, "gina", "/forgetbuyer SVT-FML-1 confirm"),
    )
    assert all(not r.text.startswith("⚠️") for r in replies), [r.text for r in replies]
    erased = await _buyer_of(app, "SVT-FML-1")
    assert erased.id == ana.id and erased.display_name == f"erased buyer #{ana.id}"
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Address)) == 0
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 2
    await assert_checks_pass(app)
