"""Bank statements reconciled: a report first, the matches applied once on confirmation,
a file sent again changing nothing, and the races (a double tap, a proof approved at the
same moment) counting the money once. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bots.chat import Attachment, ChatReply, ChatRequest
from bots.dispatch import handle
from core.config import Settings
from core.db.models import AuditEntry, Order, Payment, PaymentRequest, Refund, StatementImport
from core.payments.status import AttemptStatus, RefundStatus
from core.permissions import Permission
from core.services import statements
from core.services.accounts import identify
from main import App, import_statement, read_statement_file
from tests.conftest import assert_checks_pass, open_go, say
from tests.integration.test_delivery_flow import ok, refused

BUYERS = ("ana", "ben", "cat", "dan")


async def send_file(app: App, text: str, content: bytes, who: str = "gina") -> ChatReply:
    request = ChatRequest(
        "console", who, who, text, handle=who, chat_id=who,
        attachment=Attachment("dbs.csv", content, "text/csv"),
    )  # fmt: skip
    return await handle(app.bot, request)


async def _requests(app: App) -> dict[str, tuple[str, int]]:
    """ana, ben, cat and dan each owe one album (the same amount): reference and amount."""
    await open_go(app, moq=1, cap=50)
    for who in BUYERS:
        ok(await say(app, who, "/order SVT-FML ALB:A 1"))
    for n in range(1, len(BUYERS) + 1):
        ok(await say(app, BUYERS[n - 1], f"/pay SVT-FML-{n}"))
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.number, PaymentRequest.reference, PaymentRequest.amount_minor)
                .join(PaymentRequest, PaymentRequest.order_id == Order.id)
                .order_by(Order.id)
            )
        ).all()
    return {BUYERS[i]: (ref, amount) for i, (_number, ref, amount) in enumerate(rows)}


def _statement(owed: dict[str, tuple[str, int]], extra: str = "") -> bytes:
    """ana by reference, ben by a cut one, cat a cent short, dan with no reference (the
    amount fits everyone), ana again, and a USD credit naming dan."""

    def money(minor: int) -> str:
        return f"{minor // 100}.{minor % 100:02d}"

    (ana, a), (ben, b), (cat, c), (_dan, d) = (owed[w] for w in BUYERS)
    lines = [
        "Account Details For:,POSB eSavings 123-45678-9",
        "",
        "Date,Description,Debit,Credit,Currency",
        f"01 Dec 2026,PAYNOW OTHR {ana} TAN,,{money(a)},SGD",
        f"01 Dec 2026,IB FUND TRF {ben.replace('-', '')[:-1]},,{money(b)},SGD",
        f"02 Dec 2026,PAYNOW {cat},,{money(c - 1)},SGD",
        f"02 Dec 2026,TRANSFER FROM A FRIEND,,{money(d)},SGD",
        "02 Dec 2026,NETS FAIRPRICE,12.00,,SGD",
        f"03 Dec 2026,PAYNOW {ana} AGAIN,,{money(a)},SGD",
        f"03 Dec 2026,WIRE {owed['dan'][0]},,{money(d)},USD",
    ]
    return ("\n".join(lines) + "\n" + extra).encode("utf-8-sig")


async def _paid(app: App) -> list[tuple[str, str, int]]:
    async with app.core.reader() as uow:
        return [
            (number, provider, amount)
            for number, provider, amount in (
                await uow.session.execute(
                    select(Order.number, Payment.provider, Payment.amount_minor)
                    .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                    .join(Order, Order.id == PaymentRequest.order_id)
                    .where(Payment.status == AttemptStatus.SUCCEEDED)
                    .order_by(Order.number)
                )
            ).all()
        ]


async def test_a_statement_is_reported_then_applied_once_and_a_resend_changes_nothing(any_app: App) -> None:
    app = any_app
    owed = await _requests(app)
    content = _statement(owed)
    refused(await send_file(app, "/statement", b"%PDF-1.7\n..."), "That is a PDF")
    refused(await send_file(app, "/statement", b""), "empty")
    refused(await say(app, "gina", "/statement"), "Usage")
    refused(await send_file(app, "/statement", content, who="ana"))
    refused(await say(app, "gina", "/statement apply 999"), "no statement #999")

    preview = ok(await send_file(app, "/statement", content))
    text = preview.text
    assert "6 incoming credit(s): 2 matched, 1 ambiguous, 3 unmatched" in text
    assert (
        "S$0.01 short" in text
        and "the credit is in USD and the request in SGD" in text
        and "already paid by row 4" in text
    )
    assert "2 open request(s) still unpaid" in text
    assert "Nothing is applied until you confirm: /statement apply" in text
    [[button]] = preview.buttons
    assert button.command.startswith("/statement apply ")
    assert await _paid(app) == []

    applied = ok(await say(app, "gina", button.command))
    assert "2 payment(s) recorded" in applied.text
    amount = owed["ana"][1]
    assert await _paid(app) == [("SVT-FML-1", "statement", amount), ("SVT-FML-2", "statement", amount)]
    refused(await say(app, "gina", button.command), "already applied")

    again = ok(await send_file(app, "/statement", content))
    assert "This file was sent before as statement #" in again.text and "nothing changed" in again.text
    longer = ok(await send_file(app, "/statement", _statement(owed, "04 Dec 2026,INTEREST,,0.05,SGD\n")))
    assert "2 already applied before" in longer.text and "0 matched" in longer.text
    assert len(await _paid(app)) == 2
    async with app.core.reader() as uow:
        evidence = (
            await uow.session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == statements.APPLIED_BY_STATEMENT)
            )
        ).all()
    assert len(evidence) == 2 and all("dbs.csv row" in e and "2026-12-01" in e for e in evidence)
    ok(await say(app, "cat", "/paid SVT-FML-3 TXN-3"))
    ok(await say(app, "gina", "/approve SVT-FML-3"))
    ok(await say(app, "gina", "/markpaid SVT-FML-4 25.90 cash at the meet-up"))
    books = ok(await say(app, "gina", "/reconcile SVT-FML"))
    assert books.document is not None
    rows = list(csv.reader(io.StringIO(books.document.content.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["settled by", "evidence"]
    settled = {row[0]: row[-2:] for row in rows[1:]}
    assert settled["SVT-FML-1"] == [
        "statement line",
        f"dbs.csv row 4, 2026-12-01: PAYNOW OTHR {owed['ana'][0]} TAN",
    ]
    assert settled["SVT-FML-3"] == ["proof", "proof-1, reference typed: TXN-3; approved by gina"]
    assert settled["SVT-FML-4"] == ["manual", "marked paid by gina; cash at the meet-up"]
    ok(
        await say(app, "gina", "/refund SVT-FML-2 confirm sold out")
    )  # money from a transfer: sent back by hand
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(Refund.status))).all() == [RefundStatus.MANUAL]
    await assert_checks_pass(app)


async def _gina(app: App) -> statements.Actor:
    actor = await identify(app.core.uow(), "console", "gina", "gina")
    return actor.acting_for(Permission.PROOFS)


async def test_a_double_tap_on_apply_while_a_proof_is_approved_counts_the_money_once(any_app: App) -> None:
    """Apply tapped twice at the moment the GOM approves ana's proof for the same request:
    one apply runs, the other is refused, and ana's money is counted once (by the proof:
    a request with a proof waiting is left to the review)."""
    app = any_app
    owed = await _requests(app)
    gina = await _gina(app)
    ok(await say(app, "ana", "/paid SVT-FML-1 TXN-1"))
    report = await statements.preview_statement(app.core.uow(), gina, _statement(owed), "dbs.csv")
    assert report.matched[0].why == "a proof waits for review: /approve SVT-FML-1 (this line confirms it)"

    *applies, approved = await asyncio.gather(
        *(statements.apply_statement(app.core.uow(), gina, report.import_id) for _ in range(2)),
        say(app, "gina", "/approve SVT-FML-1"),
        return_exceptions=True,
    )

    assert isinstance(approved, ChatReply)
    ok(approved)
    assert sorted(type(r).__name__ for r in applies) == ["AlreadyChanged", "StatementReport"]
    [applied] = [r for r in applies if isinstance(r, statements.StatementReport)]
    assert [line.row for line in applied.skipped] == [4]
    paid = await _paid(app)
    assert [p for p in paid if p[0] == "SVT-FML-1"] == [("SVT-FML-1", "manual", owed["ana"][1])]
    assert [p for p in paid if p[0] == "SVT-FML-2"] == [("SVT-FML-2", "statement", owed["ben"][1])]
    await assert_checks_pass(app)


async def test_the_command_line_reads_a_file_and_imports_it(
    any_app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = any_app
    owed = await _requests(app)
    path = tmp_path / "dbs.csv"
    path.write_bytes(_statement(owed))
    assert read_statement_file(path, None) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed[0] == {
        "row": 4, "date": "2026-12-01", "amount_minor": owed["ana"][1], "currency": "SGD",
        "description": f"PAYNOW OTHR {owed['ana'][0]} TAN",
    }  # fmt: skip
    assert [p["amount_minor"] for p in printed][4] == -1200
    (tmp_path / "s.pdf").write_bytes(b"%PDF-1.4")
    assert read_statement_file(tmp_path / "s.pdf", None) == 2
    assert "That is a PDF" in capsys.readouterr().err

    settings = Settings(database_url=str(app.core.db.engine.url.render_as_string(hide_password=False)))
    assert await import_statement(settings, ["console", "gina"], path, None, True) == 0
    assert "2 payment(s) recorded" in capsys.readouterr().out
    assert len(await _paid(app)) == 2


async def test_a_pasted_bank_notification_is_matched_shown_and_applied_once(any_app: App) -> None:
    app = any_app
    owed = await _requests(app)
    reference, amount = owed["ben"]
    money = f"{amount // 100}.{amount % 100:02d}"
    notification = f"DBS: You've received S${money} via PayNow from BEN LIM.\nComments: {reference}"

    preview = ok(await say(app, "gina", f"/statement {notification}"))
    assert "1" in preview.text and preview.buttons, preview.text
    assert await _paid(app) == []  # nothing applied before the GOM confirms
    apply = preview.buttons[0][0].command
    assert apply is not None and apply.startswith("/statement apply ")
    ok(await say(app, "gina", apply))
    assert await _paid(app) == [("SVT-FML-2", "statement", amount)]

    # the same notification forwarded again, or applied again, changes nothing
    await say(app, "gina", f"/statement {notification}")
    await say(app, "gina", apply)
    assert await _paid(app) == [("SVT-FML-2", "statement", amount)]
    await assert_checks_pass(app)


@pytest.mark.parametrize(
    "text",
    [
        "You have sent SGD 10.00 to BOB. Ref: SVT-FML-1-I1",  # money going out
        "Your OTP is 123456. Do not share it.",  # not about money received
        "You have received a parcel.",  # received, but no amount
        "received " + "x" * 3500,  # a long text, and no amount in it
    ],
)
async def test_a_pasted_text_that_is_not_money_received_is_refused_and_nothing_kept(
    app: App, text: str
) -> None:
    await _requests(app)
    answer = await say(app, "gina", f"/statement {text}")
    refused(answer)
    assert "notification" in answer.text or "received" in answer.text, answer.text
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(StatementImport)) == 0
    assert await _paid(app) == []
