"""Per-buyer totals: what each buyer owes, has paid, got back and still has to pay across
all their orders in a GO, in /payments and in its CSV, with the payment references and
times in the GO's timezone."""

from __future__ import annotations

import csv
import io

from main import App
from tests.books import assert_books
from tests.conftest import open_go, say
from tests.integration.test_payments import ok, paynow_go


async def a_few_buyers_paid_in_parts(app: App) -> None:
    await paynow_go(app, cap=20)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))  # 1: paid in cash, then shipping asked
    ok(await say(app, "bob", "/order SVT-FML ALB:B 2"))  # 2: part paid
    ok(await say(app, "amy", "/order SVT-FML ALB:A 1"))  # 3: nothing paid, never opened /pay
    ok(await say(app, "cat", "/order SVT-FML ALB:A 1"))  # 4: a deposit, cancelled, refunded
    ok(await say(app, "gina", "/markpaid SVT-FML-1 25.90 cash"))
    ok(await say(app, "gina", "/shipping SVT-FML-1 4.50"))
    ok(await say(app, "gina", "/markpaid SVT-FML-2 10 deposit"))
    ok(await say(app, "gina", "/markpaid SVT-FML-4 5 deposit"))
    ok(await say(app, "gina", "/cancel SVT-FML-4"))
    ok(await say(app, "gina", "/refunded SVT-FML-4 PAYNOW-BACK-1"))


async def test_payments_shows_each_buyers_totals_across_their_orders(any_app: App) -> None:
    app = any_app
    await a_few_buyers_paid_in_parts(app)
    report = ok(await say(app, "gina", "/payments SVT-FML"))
    lines = report.text.splitlines()
    [bob] = [line for line in lines if line.startswith("👤 bob")]
    assert "2 orders" in bob and "owed S$82.20" in bob and "paid S$35.90" in bob
    assert "still due S$46.30" in bob and "refunded" not in bob
    [amy] = [line for line in lines if line.startswith("👤 amy")]
    assert "owed S$25.90" in amy and "paid S$0.00" in amy and "still due S$25.90" in amy
    [cat] = [line for line in lines if line.startswith("👤 cat")]
    assert "owed S$0.00" in cat and "paid S$5.00" in cat and "refunded S$5.00" in cat
    assert "still due S$0.00" in cat
    await assert_books(app)


async def test_the_buyers_csv_has_exact_totals_references_and_local_times(app: App) -> None:
    await a_few_buyers_paid_in_parts(app)
    reply = ok(await say(app, "gina", "/payments SVT-FML csv"))
    assert reply.document is not None and reply.document.filename == "SVT-FML-buyers.csv"
    rows = list(csv.DictReader(io.StringIO(reply.document.content.decode("utf-8-sig"), newline="")))
    by_buyer = {row["buyer"]: row for row in rows}
    assert list(by_buyer) == ["bob", "amy", "cat"]
    bob = by_buyer["bob"]
    assert (bob["orders"], bob["owed"], bob["paid"], bob["refunded"], bob["still due"], bob["currency"]) == (
        "SVT-FML-1 SVT-FML-2",
        "82.20",
        "35.90",
        "0.00",
        "46.30",
        "SGD",
    )
    assert bob["references"] == "SVT-FML-1-I1 SVT-FML-1-S2 SVT-FML-2-I1"
    # the clock stands at 12:00 UTC: 20:00 in Singapore, the GO's timezone
    assert bob["last payment"] == "2026-11-20 20:00 +08"
    assert by_buyer["amy"]["still due"] == "25.90" and by_buyer["amy"]["last payment"] == ""
    assert (by_buyer["cat"]["paid"], by_buyer["cat"]["refunded"], by_buyer["cat"]["still due"]) == (
        "5.00",
        "5.00",
        "0.00",
    )


async def test_the_buyers_csv_refusals(app: App) -> None:
    await open_go(app)
    for who, text, expected in [
        ("gina", "/payments NOPE csv", "There is no group order NOPE"),
        ("gina", "/payments SVT-FML pdf", "Usage: /payments CODE [csv]"),
        ("bob", "/payments SVT-FML csv", ""),
    ]:
        reply = await say(app, who, text)
        assert reply.text.startswith("⚠️") and expected in reply.text, (text, reply.text)
        assert reply.document is None
