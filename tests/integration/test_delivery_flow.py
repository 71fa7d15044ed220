"""Delivery end to end through the command table: options, slots, addresses, stages,
tracking and the packing list, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from sqlalchemy import func, select

from bots.chat import ChatReply
from core.db.models import Address, OutboxMessage, Parcel, PickupSlot
from main import App
from tests.conftest import open_go, say

SLOT_WHEN = '"2026-12-12 14:00"'


def ok(reply: ChatReply) -> ChatReply:
    assert not reply.text.startswith("⚠️"), reply.text
    return reply


def refused(reply: ChatReply, *words: str) -> None:
    assert reply.text.startswith("⚠️"), reply.text
    for word in words:
        assert word in reply.text, (word, reply.text)


async def _setup(app: App) -> None:
    await open_go(app, moq=1, cap=50)
    ok(await say(app, "gina", "/paymethods SVT-FML manual"))
    ok(await say(app, "gina", '/shipopt SVT-FML MEET pickup "Meet-up at Bugis"'))
    ok(await say(app, "gina", f'/slot SVT-FML MEET {SLOT_WHEN} 1 "Bugis MRT exit C"'))
    ok(await say(app, "gina", '/shipopt SVT-FML NV courier "Ninja Van" tiers="500:3.50,1000:5.20"'))
    ok(await say(app, "gina", '/shipopt SVT-FML REG registered "Registered mail" fee=4.10'))


async def _pay(app: App, who: str, number: str) -> None:
    ok(await say(app, who, f"/paid {number} TXN-{number}"))
    ok(await say(app, "gina", f"/approve {number}"))


async def _outbox(app: App, template: str) -> list[dict[str, object]]:
    async with app.core.reader() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage.context).where(OutboxMessage.template == template).order_by(OutboxMessage.id)
        )
        return [json.loads(r) for r in rows]


async def test_buyers_choose_pickup_or_courier_and_follow_their_parcel(any_app: App) -> None:
    app = any_app
    await _setup(app)
    listing = ok(await say(app, "ana", "/delivery SVT-FML"))
    assert "Meet-up at Bugis [pickup]: free" in listing.text
    assert "1 of 1 places left" in listing.text
    assert "up to 500 g S$3.50 · up to 1,000 g S$5.20" in listing.text
    assert "Registered mail [registered]: S$4.10" in listing.text
    assert listing.buttons and listing.buttons[0][0].command == "/deliver SVT-FML MEET 1"

    refused(await say(app, "ana", "/deliver SVT-FML MEET 1"), "no order in SVT-FML")
    ok(await say(app, "ana", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "ana", "/order SVT-FML ALB:B 1"))
    ok(await say(app, "ben", "/order SVT-FML ALB:A 2"))
    chosen = ok(await say(app, "ana", "/deliver SVT-FML MEET 1"))
    assert "Pickup: Sat 12 Dec 2026, 14:00" in chosen.text and "Bugis MRT exit C" in chosen.text
    refused(await say(app, "ben", "/deliver SVT-FML MEET 1"), "is full")

    refused(await say(app, "ben", "/deliver SVT-FML NV"), "/address add")
    saved = ok(
        await say(
            app,
            "ben",
            '/address add name="Trần Thị Bình" phone=91234567 line1="1 Orchard Rd #05-01" '
            "postal=238823 country=sg",
        )
    )
    assert "+6591234567" in saved.text and "SG 238823" in saved.text
    chosen = ok(await say(app, "ben", "/deliver SVT-FML NV"))
    assert "Ship to: Trần Thị Bình, +6591234567" in chosen.text

    # ana changes her mind: her slot is given back, one parcel still holds both her orders
    ok(
        await say(
            app, "ana", '/address add name="Ana" phone=+60123456789 line1="Jalan 1" postal=50450 country=MY'
        )
    )
    ok(await say(app, "ana", "/deliver SVT-FML REG"))
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(PickupSlot.reserved)) == 0
        assert await uow.session.scalar(select(func.count()).select_from(Parcel)) == 2
    ok(await say(app, "ben", "/deliver SVT-FML MEET 1"))

    refused(await say(app, "gina", "/ship SVT-FML-1 ninjavan NV123456789"), "SVT-FML-1", "not paid")
    await _pay(app, "ana", "SVT-FML-1")
    refused(await say(app, "gina", "/ship SVT-FML-1 ninjavan NV123456789"), "SVT-FML-2", "not paid")
    await _pay(app, "ana", "SVT-FML-2")
    refused(await say(app, "gina", "/ship SVT-FML-1 dhl NV123456789"), "don't know the carrier")
    refused(await say(app, "gina", "/ship SVT-FML-1 singpost NV#12"), "not a tracking number")
    refused(await say(app, "ben", "/ship SVT-FML-1 singpost RR123456789SG"), "GOM")
    shipped = ok(await say(app, "gina", "/ship SVT-FML-1 singpost RR123456789SG"))
    assert "SVT-FML-1, SVT-FML-2 shipped with SingPost" in shipped.text
    [notice] = await _outbox(app, "parcel_shipped")
    assert notice["url"] == "https://www.singpost.com/track-items?trackingid=RR123456789SG"

    await _pay(app, "ben", "SVT-FML-3")
    refused(await say(app, "gina", "/ship SVT-FML-3 ninjavan NV1234"), "pickup")

    track = ok(await say(app, "ana", "/track"))
    assert "Orders: SVT-FML-1, SVT-FML-2" in track.text
    assert "Registered mail · shipping S$4.10" in track.text
    assert "Tracking: SingPost RR123456789SG — https://www.singpost.com/" in track.text
    assert "Ana, +60123456789, Jalan 1, MY 50450" in track.text
    track = ok(await say(app, "ben", "/track"))
    assert "Pickup: Bugis MRT exit C · Sat 12 Dec 2026, 14:00" in track.text
    assert "Ana" not in track.text  # another buyer's address is never shown


async def test_stage_changes_tell_buyers_in_their_own_words(any_app: App) -> None:
    app = any_app
    await _setup(app)
    ok(await say(app, "ana", "/order SVT-FML ALB:A 1"))
    await _pay(app, "ana", "SVT-FML-1")
    ok(await say(app, "gina", "/close SVT-FML confirm"))
    for stage in ("ordered", "arrived", "packing", "shipping", "completed"):
        ok(await say(app, "gina", f"/status SVT-FML {stage}"))
    texts = [app.bot.renderer.render("go_status", "console", c).text for c in await _outbox(app, "go_status")]
    assert [t.split(": ", 1)[1] for t in texts] == [
        "it has been ordered from the supplier.",
        "it has arrived at the GOM; packing comes next. Choose how yours reaches you: /delivery SVT-FML.",
        "it is being packed: check your delivery choice with /track while there is time.",
        "it is on its way: parcels are being sent and pickups are ready (/track shows yours).",
        "it is complete: thank you for joining.",
    ]
    refused(await say(app, "ana", "/deliver SVT-FML MEET 1"), "can no longer be chosen")


async def test_packing_list_opens_in_a_spreadsheet_with_every_script(any_app: App) -> None:
    app = any_app
    await _setup(app)
    names = {"minji": "김민지", "ploy": "พลอย", "thu": "Nguyễn Thu"}
    for handle in names:
        ok(await say(app, handle, "/order SVT-FML ALB:A 1"))
    ok(await say(app, "minji", "/deliver SVT-FML MEET 1"))
    ok(
        await say(
            app,
            "ploy",
            '/address add name="พลอย" phone=+66812345678 line1="ถนนสุขุมวิท" postal=10330 country=TH',
        )
    )
    ok(await say(app, "ploy", "/deliver SVT-FML REG"))
    await _pay(app, "ploy", "SVT-FML-2")
    async with app.core.uow() as uow:  # display names as buyers' chat apps report them
        from core.db.models import User

        for handle, name in names.items():
            user = await uow.session.scalar(select(User).where(User.display_name == handle))
            assert user is not None
            user.display_name = name
        await uow.commit()
    refused(await say(app, "minji", "/packing SVT-FML"), "GOM")
    reply = ok(await say(app, "gina", "/packing SVT-FML"))
    assert reply.document is not None and reply.document.filename == "SVT-FML-packing.csv"
    raw = reply.document.content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    by_buyer = {r["buyer"]: r for r in rows}
    assert set(by_buyer) == set(names.values())
    assert by_buyer["김민지"]["address or pickup slot"].startswith("Bugis MRT exit C")
    assert by_buyer["พลอย"]["address or pickup slot"] == "พลอย, ถนนสุขุมวิท, TH 10330"
    assert by_buyer["พลอย"]["phone"] == "'+66812345678"  # kept as text, not read as a formula
    assert by_buyer["พลอย"]["paid"] == "yes" and by_buyer["พลอย"]["shipping fee"] == "4.10"
    assert by_buyer["Nguyễn Thu"]["option"] == "(not chosen)"
    assert by_buyer["김민지"]["version"] == "Faded Mono Life"


async def test_a_drafts_options_exist_only_for_its_staff(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=50)
    ok(await say(app, "gina", '/newgo DRAFT-1 "Secret" currency=SGD moq=1 cap=5 deadline=+3d'))
    ok(await say(app, "gina", '/shipopt DRAFT-1 MEET pickup "Meet-up"'))
    assert "MEET — Meet-up" in ok(await say(app, "gina", "/delivery DRAFT-1")).text
    refused(await say(app, "ana", "/delivery DRAFT-1"), "There is no group order DRAFT-1")
    refused(await say(app, "ana", '/shipopt SVT-FML X pickup "Mine"'), "GOM")


async def test_bad_addresses_are_refused_and_nothing_is_kept(any_app: App) -> None:
    app = any_app
    base = 'name="Kim" line1="1 Orchard Rd"'
    refused(
        await say(app, "kim", f"/address add {base} phone=+6591234567 postal=12345 country=SG"), "6 digits"
    )
    refused(
        await say(app, "kim", f"/address add {base} phone=12345 postal=238823 country=SG"), "phone number"
    )
    refused(
        await say(app, "kim", f"/address add {base} phone=+6591234567 postal=238823 country=ZZ"), "country"
    )
    refused(await say(app, "kim", f"/address add {base} postal=238823 country=SG"), "Usage")
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Address)) == 0
    ok(await say(app, "kim", f"/address add {base} phone=+6591234567 postal=238823 country=SG"))
    refused(await say(app, "kim", "/address edit 1 postal=1234"), "6 digits")
    edited = ok(await say(app, "kim", '/address edit 1 line2="#05-01"'))
    assert "1 Orchard Rd, #05-01" in edited.text
    refused(await say(app, "lee", "/address delete 1"), "no address #1")
    refused(await say(app, "lee", "/address edit 1 line2=x"), "no address #1")
    assert "Deleted address #1" in ok(await say(app, "kim", "/address delete 1")).text
    assert "empty" in ok(await say(app, "kim", "/address")).text


async def test_an_address_is_asked_for_one_question_at_a_time(any_app: App) -> None:
    app = any_app
    first = ok(await say(app, "kim", "/address add"))
    assert "(1/6) Which country" in first.text
    assert "is not a country code" in (await say(app, "kim", "Narnia")).text
    assert "(2/6)" in ok(await say(app, "kim", "th")).text
    assert "(3/6)" in ok(await say(app, "kim", "พลอย ใจดี")).text
    again = await say(app, "kim", "12345")
    assert "not a phone number in TH" in again.text and "(3/6)" in again.text
    ok(await say(app, "kim", "081 234 5678"))
    ok(await say(app, "kim", "99 ถนนสุขุมวิท"))
    assert "(6/6) Postal code?" in ok(await say(app, "kim", "-")).text
    assert "5 digits" in (await say(app, "kim", "103300")).text
    async with app.core.reader() as uow:  # nothing is kept until the last answer
        assert await uow.session.scalar(select(func.count()).select_from(Address)) == 0
    done = ok(await say(app, "kim", "10330"))
    assert "พลอย ใจดี, +66812345678, 99 ถนนสุขุมวิท, TH 10330" in done.text
    assert "I didn't catch that" in (await say(app, "kim", "hello")).text  # the conversation is over
    ok(await say(app, "lee", "/address add"))
    assert "Nothing was created" in (await say(app, "lee", "/cancel")).text


async def test_a_shipment_and_a_change_to_pickup_at_once_never_both_land(any_app: App) -> None:
    app = any_app
    await _setup(app)
    ok(await say(app, "gina", f'/slot SVT-FML MEET {SLOT_WHEN} 20 "Jurong East"'))
    buyers = [f"fan{i}" for i in range(8)]
    for n, who in enumerate(buyers, 1):
        ok(await say(app, who, "/order SVT-FML ALB:A 1"))
        ok(
            await say(
                app, who, '/address add name="Fan" phone=+6591234567 line1="1 Rd" postal=238823 country=SG'
            )
        )
        ok(await say(app, who, "/deliver SVT-FML NV"))
        await _pay(app, who, f"SVT-FML-{n}")
    replies = await asyncio.gather(
        *(say(app, "gina", f"/ship SVT-FML-{n} jnt JT000{n}") for n in range(1, 9)),
        *(say(app, who, "/deliver SVT-FML MEET 2") for who in buyers),
    )
    shipped, moved = replies[:8], replies[8:]
    for ship, move in zip(shipped, moved, strict=True):
        assert ship.text.startswith("⚠️") != move.text.startswith("⚠️"), (ship.text, move.text)
    async with app.core.reader() as uow:
        parcels = (await uow.session.scalars(select(Parcel))).all()
        slot = await uow.session.scalar(select(PickupSlot).where(PickupSlot.position == 2))
    assert not [p for p in parcels if p.slot_id is not None and p.tracking is not None]
    assert slot is not None and slot.reserved == sum(p.slot_id == slot.id for p in parcels)


async def test_an_order_in_a_go_that_delivers_offers_to_choose_how(any_app: App) -> None:
    app = any_app
    await open_go(app, "PLAIN-GO", moq=1, cap=50)
    plain = ok(await say(app, "ana", "/order PLAIN-GO ALB:A 1"))
    assert all(b.label != "Choose delivery" for row in plain.buttons for b in row)
    await _setup(app)
    placed = ok(await say(app, "ana", "/order SVT-FML ALB:A 1"))
    (choose,) = [b for row in placed.buttons for b in row if b.label == "Choose delivery"]
    assert choose.command == "/delivery SVT-FML"
    assert "Meet-up at Bugis" in ok(await say(app, "ana", choose.command)).text
