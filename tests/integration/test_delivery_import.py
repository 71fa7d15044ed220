"""Bulk tracking import: a validation report before anything is applied, then all or nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bots.chat import Attachment, ChatReply, ChatRequest
from bots.dispatch import handle
from core.db.models import OutboxMessage, Parcel
from main import App, import_tracking
from tests.conftest import open_go, say
from tests.integration.test_delivery_flow import ok, refused

ADDRESS = 'name="X" phone=+6591234567 line1="1 Orchard Rd" postal=238823 country=SG'


async def send_file(app: App, text: str, content: bytes) -> ChatReply:
    request = ChatRequest(
        "console", "gina", "gina", text, handle="gina", chat_id="gina",
        attachment=Attachment("tracking.csv", content, "text/csv"),
    )  # fmt: skip
    return await handle(app.bot, request)


async def _parcels(app: App) -> None:
    """ana, ben, cat: paid, by courier (ana with two orders); dan unpaid; eve at a pickup."""
    await open_go(app, moq=1, cap=50)
    ok(await say(app, "gina", "/paymethods SVT-FML manual"))
    ok(await say(app, "gina", '/shipopt SVT-FML NV courier "Ninja Van" fee=3.50'))
    ok(await say(app, "gina", '/shipopt SVT-FML MEET pickup "Meet-up"'))
    ok(await say(app, "gina", '/slot SVT-FML MEET "2026-12-12 14:00" 5 "Bugis"'))
    for who in ("ana", "ben", "cat", "dan", "eve"):
        ok(await say(app, who, "/order SVT-FML ALB:A 1"))
        ok(await say(app, who, f"/address add {ADDRESS}"))
        ok(await say(app, who, "/deliver SVT-FML MEET 1" if who == "eve" else "/deliver SVT-FML NV"))
    ok(await say(app, "ana", "/order SVT-FML ALB:B 1"))  # SVT-FML-6, in ana's parcel
    for who, number in (("ana", 1), ("ben", 2), ("cat", 3), ("eve", 5), ("ana", 6)):
        ok(await say(app, who, f"/paid SVT-FML-{number} TXN{number}"))
        ok(await say(app, "gina", f"/approve SVT-FML-{number}"))


async def _shipped(app: App) -> int:
    async with app.core.reader() as uow:
        return int(
            await uow.session.scalar(
                select(func.count()).select_from(Parcel).where(Parcel.tracking.is_not(None))
            )
            or 0
        )


async def test_a_file_with_problems_is_reported_line_by_line_and_nothing_applied(any_app: App) -> None:
    app = any_app
    await _parcels(app)
    content = (
        b"order,carrier,tracking\n"
        b"SVT-FML-1,ninjavan,NV0001\n"
        b"SVT-FML-6,ninjavan,NV0002\n"  # same parcel as line 2
        b"SVT-FML-99,ninjavan,NV0003\n"
        b"SVT-FML-2,pigeon,NV0004\n"
        b"SVT-FML-3,jnt,NV0001\n"  # number used on line 2
        b"SVT-FML-4,jnt,JT0005\n"  # unpaid
        b"SVT-FML-5,jnt,JT0006\n"  # pickup
        b"SVT-FML-2,jnt,bad number\n"
    )
    reply = await send_file(app, "/importtracking SVT-FML", content)
    text = reply.text
    assert "nothing was applied" in text
    for expected in (
        "line 3: SVT-FML-6 is in the same parcel as line 2",
        "line 4: there is no order SVT-FML-99 in SVT-FML",
        "line 5: I don't know the carrier 'pigeon'",
        "line 6: the tracking number NV0001 is on line 2 too",
        "line 7: SVT-FML-4 is not paid yet",
        "line 8: SVT-FML-5 is collected at a pickup",
        "line 9: 'bad number' is not a tracking number",
    ):
        assert expected in text, (expected, text)
    assert "• line 2:" not in text  # the good line is not a problem
    assert reply.buttons == []
    assert await _shipped(app) == 0


async def test_excel_files_are_read_and_applied_only_when_confirmed(any_app: App) -> None:
    app = any_app
    await _parcels(app)
    excel = "\ufeffOrder;Tracking Number\r\n\r\nSVT-FML-1;NV0001\r\n;\r\nSVT-FML-2;NV0002\r\n\r\n".encode()
    refused(await send_file(app, "/importtracking SVT-FML", excel), "header order,carrier,tracking")
    reply = await send_file(app, "/importtracking SVT-FML ninjavan", excel)
    assert "all 2 line(s) check out" in reply.text, reply.text
    assert await _shipped(app) == 0
    [[button]] = reply.buttons
    applied = ok(await say(app, "gina", button.command or ""))
    assert "2 parcel(s) marked shipped" in applied.text
    assert await _shipped(app) == 2
    refused(await say(app, "gina", button.command or ""), "already applied")
    async with app.core.reader() as uow:
        told = await uow.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.template == "parcel_shipped")
        )
    assert told == 2


async def test_a_change_after_the_check_applies_nothing(any_app: App) -> None:
    app = any_app
    await _parcels(app)
    content = b"order,carrier,tracking\nSVT-FML-1,jnt,JT0001\nSVT-FML-3,jnt,JT0003\n"
    reply = await send_file(app, "/importtracking SVT-FML", content)
    [[button]] = reply.buttons
    ok(await say(app, "cat", "/deliver SVT-FML MEET 1"))  # cat now collects in person
    refused(await say(app, "gina", button.command or ""), "nothing was applied", "SVT-FML-3")
    assert await _shipped(app) == 0
    refused(await say(app, "ben", button.command or ""), "GOM")


async def test_bad_files_get_a_clear_answer(any_app: App) -> None:
    app = any_app
    await _parcels(app)
    refused(await send_file(app, "/importtracking SVT-FML", b"\xff\xfe\x00o"), "UTF-8")
    refused(await send_file(app, "/importtracking SVT-FML", b"\n\n"), "empty")
    refused(await send_file(app, "/importtracking SVT-FML", b"name,number\na,b\n"), "header")
    refused(await say(app, "gina", "/importtracking SVT-FML"), "send a CSV")


async def test_two_confirmations_at_once_apply_the_file_once(any_app: App) -> None:
    app = any_app
    await _parcels(app)
    ok(await say(app, "hana", "/start"))
    ok(await say(app, "gina", "/helper add hana"))
    reply = await send_file(app, "/importtracking SVT-FML", b"order,carrier,tracking\nSVT-FML-1,jnt,JT0001\n")
    [[button]] = reply.buttons
    replies = await asyncio.gather(
        say(app, "gina", button.command or ""), say(app, "hana", button.command or "")
    )
    texts = sorted(r.text for r in replies)
    assert "1 parcel(s) marked shipped" in texts[1] and "already applied" in texts[0], texts
    async with app.core.reader() as uow:
        told = await uow.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.template == "parcel_shipped")
        )
    assert told == 1


async def test_the_command_line_checks_then_applies_a_file(
    any_app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = any_app
    await _parcels(app)
    settings = app.core.settings
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"order;tracking\nSVT-FML-4;JT0004\n")
    assert await import_tracking(settings, ["console", "gina"], "SVT-FML", bad, "jnt", True) == 1
    assert "line 2: SVT-FML-4 is not paid yet" in capsys.readouterr().out
    good = tmp_path / "good.csv"
    good.write_bytes(b"\xef\xbb\xbforder;tracking\r\nSVT-FML-2;JT0002\r\n")
    assert await import_tracking(settings, ["console", "ana"], "SVT-FML", good, "jnt", True) == 1
    assert "run by another GOM" in capsys.readouterr().err
    assert await _shipped(app) == 0
    assert await import_tracking(settings, ["console", "gina"], "SVT-FML", good, "jnt", True) == 0
    assert "1 parcel(s) marked shipped" in capsys.readouterr().out
    assert await _shipped(app) == 1
    assert (
        await import_tracking(settings, ["console", "gina"], "SVT-FML", tmp_path / "none.csv", "", False) == 2
    )
