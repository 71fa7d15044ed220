"""CSV files a GOM opens in a spreadsheet hold text, never a formula, whatever the
spreadsheet splits on."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from bots.chat import Attachment, ChatRequest
from bots.dispatch import handle
from core.services.reports import safe_cell
from main import App
from tests.conftest import open_go, say
from tests.images import screenshot

PNG = screenshot()
ATTACK = "x;=cmd|' /C calc'!A0"
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
ROOT = Path(__file__).resolve().parents[2]


async def export(app: App, command: str) -> str:
    reply = await say(app, "gina", command)
    assert reply.document is not None, reply.text
    return reply.document.content.decode("utf-8-sig")


async def order_as(app: App, name: str, text: str, attachment: Attachment | None = None) -> None:
    request = ChatRequest("console", "mallory", name, text, handle="mallory", attachment=attachment)
    reply = await handle(app.bot, request)
    assert not reply.text.startswith("⚠️"), reply.text


def assert_spreadsheet_safe(text: str) -> None:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for line, fields in zip(text.split("\r\n"), rows, strict=False):
        assert line == ",".join('"' + f.replace('"', '""') + '"' for f in fields), line  # every field quoted
    for delimiter in (",", ";"):
        for fields in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            for field in fields:
                assert not field.startswith(DANGEROUS), (delimiter, field)


@pytest.mark.parametrize("command", ["/export SVT-FML", "/reconcile SVT-FML"])
async def test_a_buyer_named_like_a_formula_is_quoted_and_guarded(app: App, command: str) -> None:
    await open_go(app)
    await say(app, "gina", "/paymethods SVT-FML paynow:+6591234567 manual")
    await order_as(app, ATTACK, "/order SVT-FML ALB:A 1")
    await order_as(app, ATTACK, "/pay SVT-FML-1")
    await order_as(app, ATTACK, "", Attachment("proof.png", PNG, "image/png"))
    assert "SVT-FML-1" in (await say(app, "gina", "/approve SVT-FML-1")).text
    text = await export(app, command)
    assert_spreadsheet_safe(text)
    buyer_row = next(r for r in csv.reader(io.StringIO(text, newline="")) if r[0] == "SVT-FML-1")
    assert "x;'=cmd|' /C calc'!A0" in buyer_row


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-5", "'-5"),
        ("\tx", "'\tx"),
        ("a;=b", "a;'=b"),
        ("a,+b", "a,'+b"),
        ('a;"=b', "a;\"'=b"),
        ("a; -b", "a; '-b"),
        ("line\n=x", "line\n'=x"),
        ("Mary-Jane @home", "Mary-Jane @home"),
    ],
)
def test_safe_cell_guards_every_cell_a_spreadsheet_could_split_out(value: str, shown: str) -> None:
    assert safe_cell(value) == shown


def test_every_csv_writer_in_gomflow_uses_the_spreadsheet_dialect() -> None:
    sources = [p for d in ("core", "bots", "web", "channels", "scheduler") for p in (ROOT / d).rglob("*.py")]
    writers = [
        (path.name, call)
        for path in sources
        for call in re.findall(r"csv\.(?:writer|DictWriter)\([^)]*\)", path.read_text(encoding="utf-8"))
    ]
    assert len(writers) >= 2
    assert all("SPREADSHEET" in call for _, call in writers), writers
