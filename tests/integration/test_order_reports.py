"""``/orders`` a page at a time with a summary, and ``/export`` streamed, on both databases."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from bench.reports import CODE, GOM, STATUSES, seed
from bots.chat import ChatReply
from core.services import buyer_sheet, order_pages, report_files, reports
from core.services.accounts import identify
from main import App
from tests.conftest import open_go, say

ORDERS = 45  # three pages of 20: 20, 20, 5
FITS = order_pages.FITS_IN_ONE_MESSAGE


def numbers(reply: ChatReply) -> list[str]:
    return re.findall(rf"^({CODE}-\d+) \[", reply.text, flags=re.MULTILINE)


def commands(reply: ChatReply) -> list[str]:
    return [b.command or "" for row in reply.buttons for b in row]


async def csv_rows(app: App) -> list[list[str]]:
    reply = await say(app, GOM, f"/export {CODE}")
    assert reply.document is not None, reply.text
    return list(csv.reader(io.StringIO(reply.document.content.decode("utf-8-sig"), newline="")))[1:]


@pytest.fixture
async def archive(any_app: App) -> App:
    await seed(any_app.core.settings.database_url, ORDERS)
    return any_app


async def test_a_large_go_answers_with_a_summary_and_pages(archive: App) -> None:
    first = await say(archive, GOM, f"/orders {CODE}")
    assert f"{CODE}: {ORDERS} order(s), {ORDERS} unit(s)" in first.text
    assert "Page 1 of 3" in first.text
    assert numbers(first) == [f"{CODE}-{i}" for i in range(1, 21)]
    assert commands(first) == [f"/orders {CODE} page 2", f"/export {CODE}"]

    middle = await say(archive, GOM, f"/orders {CODE} page 2")
    assert numbers(middle) == [f"{CODE}-{i}" for i in range(21, 41)]
    assert commands(middle) == [f"/orders {CODE} page 1", f"/orders {CODE} page 3", f"/export {CODE}"]

    last = await say(archive, GOM, f"/orders {CODE} page 3")
    assert numbers(last) == [f"{CODE}-{i}" for i in range(41, 46)]
    assert commands(last) == [f"/orders {CODE} page 2", f"/export {CODE}"]


BAD_PAGES = [
    ("page 4", "There is no page 4: the orders of ARCHIVE fill 3 page(s)"),
    ("page 0", "A page is a whole number from 1"),
    ("page -1", "A page is a whole number from 1"),
    ("page two", "A page is a whole number from 1"),
    ("page 99999999999", "A page is a whole number from 1"),
    ("page ２", "A page is a whole number from 1"),
    ("page", "Which page?"),
    ("everything", "I don't understand 'everything'"),
    ("unpaid page 3", "There is no page 3: the unpaid orders of ARCHIVE fill 2 page(s)"),
]


async def test_a_page_that_is_not_there_is_explained_and_strangers_see_none(archive: App) -> None:
    for words, answer in BAD_PAGES:
        reply = await say(archive, GOM, f"/orders {CODE} {words}")
        assert reply.text.startswith("⚠️") and answer in reply.text, (words, reply.text)
        assert not reply.buttons
    await identify(archive.core.uow(), "console", "mallory", "mallory", "mallory")
    for command in (f"/orders {CODE} page 2", f"/orders {CODE} @old1", f"/export {CODE}"):
        reply = await say(archive, "mallory", command)
        assert reply.text.startswith("⚠️") and reply.document is None, command
        assert CODE + "-1" not in reply.text


async def test_filters_list_only_the_orders_asked_for(archive: App) -> None:
    statuses = [STATUSES[i % len(STATUSES)].value for i in range(ORDERS)]
    unpaid = await say(archive, GOM, f"/orders {CODE} unpaid")
    expected = [f"{CODE}-{i + 1}" for i, s in enumerate(statuses) if s == "placed"]
    assert f"({len(expected)} order(s))" in unpaid.text
    assert numbers(unpaid) == expected[:20]
    assert all(f"{n} [placed]" in unpaid.text for n in numbers(unpaid))
    assert commands(unpaid)[0] == f"/orders {CODE} unpaid page 2"

    paid = await say(archive, GOM, f"/orders {CODE} page 1 paid")
    assert numbers(paid) == [f"{CODE}-{i + 1}" for i, s in enumerate(statuses) if s == "paid"]

    buyers = max(1, ORDERS // 4)  # bench.reports.seed shares the orders out over them
    mine = await say(archive, GOM, f"/orders {CODE} @OLD3")
    assert numbers(mine) == [f"{CODE}-{i + 1}" for i in range(ORDERS) if i % buyers == 3]
    nobody = await say(archive, GOM, f"/orders {CODE} @nobody unpaid")
    assert "No orders unpaid of @nobody." in nobody.text and not numbers(nobody)


async def test_the_summary_and_the_pages_match_the_file_row_for_row(archive: App) -> None:
    pages = [await say(archive, GOM, f"/orders {CODE} page {page}") for page in (1, 2, 3)]
    rows = await csv_rows(archive)
    assert [row[0] for row in rows] == [n for page in pages for n in numbers(page)]
    assert {row[3] for row in rows} <= {f"console:old{i}" for i in range(ORDERS)}
    per_status = Counter(row[1] for row in rows)
    units = Counter[str]()
    money = Counter[str]()
    for row in rows:
        units[row[1]] += int(row[6])
        money[row[1]] += int(row[8].replace(".", ""))  # cents, exactly
    summary = pages[0].text
    for status, count in per_status.items():
        assert f"{status} {count} ({units[status]} unit(s), S${money[status] / 100:,.2f})" in summary
    assert f"awaiting payment S${money['placed'] / 100:,.2f}" in summary
    assert f"· paid S${money['paid'] / 100:,.2f}" in summary


async def test_a_go_with_none_or_few_orders_answers_as_before(any_app: App) -> None:
    await open_go(any_app, cap=50)
    assert "SVT-FML: 0 order(s), 0 units live." in (await say(any_app, "gina", "/orders SVT-FML")).text
    empty = await say(any_app, "gina", "/orders SVT-FML unpaid")
    assert "0 order(s)" in empty.text and "No orders unpaid." in empty.text
    assert "There is no page 2" in (await say(any_app, "gina", "/orders SVT-FML page 2")).text
    reply = await say(any_app, "gina", "/export SVT-FML")
    assert reply.document is not None and reply.document.content.count(b"\r\n") == 1  # the header
    # a few orders, asked for plainly, are listed whole, as before pages
    for i in range(3):
        await say(any_app, f"fan{i}", "/order SVT-FML ALB:A 1")
    reply = await say(any_app, "gina", "/orders SVT-FML")
    assert reply.text.startswith("SVT-FML: 3 order(s), 3 units live.")
    assert "Page" not in reply.text and not reply.buttons
    paged = await say(any_app, "gina", "/orders SVT-FML page 1")
    assert "Page 1 of 1" in paged.text and not paged.buttons[:-1]


async def test_the_file_is_written_without_holding_the_list(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CSV of 6,000 orders is written while Python holds less than twice the file's
    size, imports' caches included: a chunk at a time. Building it whole, as before,
    held every row, then the whole text, then its bytes: several times the file."""
    await seed(app.core.settings.database_url, 6_000, buyers=30)
    gom = await identify(app.core.uow(), "console", GOM, GOM, GOM)
    target = tmp_path / "orders.csv"
    monkeypatch.setattr(report_files, "CHUNK", 250)
    with target.open("wb") as out:  # warm up: compiled statements and caches are not the list
        await report_files.write_orders_csv(app.core.reader(), gom, CODE, out)
    tracemalloc.start()
    try:
        with target.open("wb") as out:
            await report_files.write_orders_csv(app.core.reader(), gom, CODE, out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = target.stat().st_size
    assert target.read_bytes().count(b"\r\n") == 6_001
    assert peak < 2 * size, f"peak {peak:,} bytes while writing a {size:,}-byte file"


def test_page_size_keeps_a_page_inside_one_chat_message() -> None:
    assert order_pages.PAGE_SIZE * 150 < 4_000


async def test_payments_of_a_large_go_add_up_to_the_full_report(
    any_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await open_go(any_app, cap=60)
    buyers = FITS + 2
    for i in range(buyers):
        assert "⚠️" not in (await say(any_app, f"fan{i}", "/order SVT-FML ALB:A 1")).text
    for number in (1, 2, 3):
        assert "⚠️" not in (await say(any_app, "gina", f"/markpaid SVT-FML-{number} 25.90")).text
    assert "⚠️" not in (await say(any_app, "gina", "/markpaid SVT-FML-4 10")).text  # a part
    assert "⚠️" not in (await say(any_app, "fan5", "/cancel SVT-FML-6")).text
    gina = await identify(any_app.core.uow(), "console", "gina", "gina", "gina")
    full = await reports.payments_report(any_app.core.reader(), gina, "SVT-FML")

    first = await say(any_app, "gina", "/payments SVT-FML")
    assert first.text.startswith(
        f"💰 Payments for SVT-FML: {full.paid_count} paid ({full.paid_total}), "
        f"{full.unpaid_count} unpaid ({full.unpaid_total})."
    ), (first.text, full)
    assert "Page 1 of 2" in first.text
    assert commands(first) == ["/payments SVT-FML page 2", "/payments SVT-FML csv"]
    rows = full.rows
    shown = [line for line in first.text.splitlines() if line.startswith("• ")]
    assert shown == [f"• {r.number} {r.buyer} — {r.kind} {r.amount} [{r.status}]" for r in rows][: len(shown)]

    second = await say(any_app, "gina", "/payments SVT-FML page 2")
    assert "SVT-FML-27" in second.text and "SVT-FML-1 " not in second.text
    paid = await say(any_app, "gina", "/payments SVT-FML paid")
    assert "(3 order(s))" in paid.text and "SVT-FML-4 " not in paid.text
    assert "There is no page 3" in (await say(any_app, "gina", "/payments SVT-FML page 3")).text
    assert "I don't understand 'cvs'" in (await say(any_app, "gina", "/payments SVT-FML cvs")).text
    # the per-buyer sheet, written a few buyers at a time, lists them all, first order first
    monkeypatch.setattr(buyer_sheet, "CHUNK", 4)
    sheet = await say(any_app, "gina", "/payments SVT-FML csv")
    assert sheet.document is not None and sheet.document.filename == "SVT-FML-buyers.csv"
    lines = list(csv.reader(io.StringIO(sheet.document.content.decode("utf-8-sig"), newline="")))[1:]
    assert [(line[0], line[5]) for line in lines] == [(b.buyer, b.due.replace("S$", "")) for b in full.buyers]
