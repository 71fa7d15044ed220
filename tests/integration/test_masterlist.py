"""The masterlist as a GOM's team reads it: each claim by the buyer's nickname (or a number),
never who they are; nicknames checked; CSV and PNG exports; on both databases."""

from __future__ import annotations

import asyncio
import csv
import io

from PIL import Image
from sqlalchemy import func, select

from core.db.models import AuditEntry, MasterlistPost
from core.quantities import LineRequest
from core.services import masterlist, ordering
from main import App
from tests.conftest import buyer, open_go, say

CODE = "SVT-FML"


async def order(app: App, who: str, quantity: int = 1, version: str = "A") -> str:
    actor = await buyer(app, who)
    placed = await ordering.place_order(app.core.uow(), actor, CODE, [LineRequest("ALB", version, quantity)])
    return placed.number


# --- what it shows ----------------------------------------------------------------------


async def test_the_masterlist_shows_nicknames_and_payment_status_never_who_buyers_are(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=20)
    assert "Your nickname is now 민지 🐰" in (await say(app, "bob.tan.secret", "/nickname 민지 🐰")).text
    first = await order(app, "bob.tan.secret", 2)
    await order(app, "amy+88@mail.example")  # no nickname: a number by claim order
    third = await order(app, "cho_private_handle", 1, "B")
    await say(app, "cho_private_handle", "/nickname 민지🐰")  # the same nickname, told apart
    await say(app, "gina", f"/markpaid {first} 51.80")
    await say(app, "gina", f"/markpaid {third} 10")

    shown = (await say(app, "gina", f"/masterlist {CODE}")).text

    assert "1. 민지 🐰 — FML album (Faded Mono Life) ×2 ✅ paid" in shown, shown
    assert "2. Buyer #2 — FML album (Faded Mono Life) ×1 ⏳ unpaid" in shown
    assert "3. 민지🐰 (2) — FML album (Fallen Misfit) ×1 🌓 part paid" in shown
    assert "3 claim(s) · 3 buyer(s) · 4 unit(s), 2 paid" in shown
    for personal in ("bob", "tan", "secret", "amy", "mail.example", "cho", "private", "handle"):
        assert personal not in shown.lower(), personal


async def test_cancelled_and_expired_claims_leave_the_list_and_numbers_stay_put(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=20, window=2)
    first = await order(app, "bob")
    await order(app, "amy")
    await say(app, "gina", f"/markpaid {await order(app, 'cho')} 25.90")
    assert "is cancelled" in (await say(app, "bob", f"/cancel {first}")).text
    app.core.clock.advance(hours=3)  # amy's payment window ends
    await app.ticker.tick()

    shown = (await say(app, "gina", f"/masterlist {CODE}")).text

    assert "1. Buyer #3 — FML album (Faded Mono Life) ×1 ✅ paid" in shown, shown
    assert "Buyer #1" not in shown and "Buyer #2" not in shown


async def test_bad_nicknames_are_refused_and_write_nothing(any_app: App) -> None:
    app = any_app
    await say(app, "bob", "/nickname Bobby")
    for bad in (
        "@everyone",
        "https://evil.example",
        "join t.me/x",
        "mina.kr",
        "<b>boss</b>",
        "**big**",
        "[click](x)",
        "+65 9123 4567",
        "bob@mail.example",
        "x",
        "a" * 25,
        "Buyer #1",
        "buyer 7",
        "zero\u200bwidth",
        "right\u202eleft",  # cleaned away, then still fine? no: the override goes, the name stays
    ):
        reply = await say(app, "bob", f"/nickname {bad}")
        if bad == "right\u202eleft":
            assert "rightleft" in reply.text  # a bidi override is dropped like in any name
            await say(app, "bob", "/nickname Bobby")
            continue
        assert reply.text.startswith("⚠️"), (bad, reply.text)
    assert "Your nickname is Bobby" in (await say(app, "bob", "/nickname")).text
    async with app.core.reader() as uow:
        changes = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "nickname")
        )
    assert changes == 3  # Bobby, rightleft, Bobby again


async def test_only_the_gos_team_sees_posts_or_exports_it(any_app: App) -> None:
    app = any_app
    await open_go(app)
    await open_go(app, "OTHER-GO", owner="olga")
    await order(app, "bob")
    assert "another GOM" in (await say(app, "olga", f"/masterlist {CODE}")).text
    assert "another GOM" in (await say(app, "olga", f"/masterlist {CODE} csv")).text
    assert "no group order NOPE" in (await say(app, "gina", "/masterlist NOPE")).text
    assert "Usage" in (await say(app, "gina", f"/masterlist {CODE} dance")).text
    assert "Page must be" in (await say(app, "gina", f"/masterlist {CODE} image 0")).text
    assert "1 image page(s)" in (await say(app, "gina", f"/masterlist {CODE} image 2")).text
    assert "No channel is linked" in (await say(app, "gina", f"/masterlist {CODE} post")).text
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(MasterlistPost)) == 0


# --- exports ------------------------------------------------------------------------------


async def test_csv_export_has_a_row_per_claim_and_no_contacts(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=20)
    await say(app, "bob", "/nickname =cmd|calc")  # refused: a formula cannot get in
    await say(app, "bob", "/nickname -Bobby")
    await order(app, "bob", 2)
    await order(app, "amy")

    reply = await say(app, "gina", f"/masterlist {CODE} csv")

    assert reply.document is not None and reply.document.filename == "SVT-FML-masterlist.csv"
    text = reply.document.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["#", "buyer", "item", "version", "quantity", "payment"]
    assert rows[1] == ["1", "'-Bobby", "FML album", "Faded Mono Life", "2", "unpaid"]
    assert rows[2] == ["2", "Buyer #2", "FML album", "Faded Mono Life", "1", "unpaid"]
    assert "amy" not in text and "bob" not in text.lower().replace("bobby", "")


async def test_image_export_is_a_readable_png_a_page_at_a_time(app: App) -> None:
    await open_go(app, cap=300)
    actors = await asyncio.gather(*(buyer(app, f"fan{n}") for n in range(60)))
    both = [LineRequest("ALB", "A", 1), LineRequest("ALB", "B", 1)]  # two lines of the list each
    await asyncio.gather(*(ordering.place_order(app.core.uow(), a, CODE, both) for a in actors))

    first = await say(app, "gina", f"/masterlist {CODE} image")
    last = await say(app, "gina", f"/masterlist {CODE} image 3")

    assert "page 1 of 3" in first.text and f"/masterlist {CODE} image 2" in first.text
    for reply, rows in ((first, masterlist.ROWS_PER_IMAGE), (last, 20)):
        assert reply.image is not None
        picture = Image.open(io.BytesIO(reply.image))
        picture.verify()
        picture = Image.open(io.BytesIO(reply.image))
        assert picture.format == "PNG" and picture.width == 1080
        assert 34 * rows < picture.height < 34 * rows + 400
        assert len(reply.image) < 400_000
