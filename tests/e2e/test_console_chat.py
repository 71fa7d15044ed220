"""The console chat driven end to end: typed lines in, printed transcript out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from bots.console import ConsoleChat
from main import App


async def lines(*typed: str) -> AsyncIterator[str]:
    for line in typed:
        yield line + "\n"


async def test_a_whole_group_order_from_the_terminal(app: App, tmp_path: Path, outbox_log: list[str]) -> None:
    out: list[str] = []
    chat = ConsoleChat(app.bot, out.append, export_dir=tmp_path)
    await chat.run(
        lines(
            "/order SVT 1",  # nobody yet
            "/as gom gina",
            "/newgo",
            "svt fml",
            "svt-fml",
            "Seventeen FML 세븐틴 🎵",
            "sgd",
            "1",
            "3",
            "none",
            "yesterday",
            "+2d",
            '/additem SVT-FML ALB 25.90 "FML album" versions="A:Faded Mono Life,B:Fallen Misfit"',
            "/paymethods SVT-FML manual",
            "/open SVT-FML",
            "/as buyer bob",
            "/go SVT-FML",
            "2",  # the second button: order one Fallen Misfit
            "/order SVT-FML ALB:A 3",
            "/order SVT-FML ALB:A 2",
            "/as buyer amy",
            "/order SVT-FML ALB:A 1",
            "/waitlist SVT-FML ALB:A 1",
            "/as buyer bob",
            "/cancel SVT-FML-1",
            "/as gom gina",
            "/export SVT-FML",
        )
    )
    await app.dispatcher.run_once()
    transcript = "\n".join(out)

    assert "Switch who you are" in out[1]
    assert "(1/7) Pick a short code" in transcript
    assert "A GO code is 2–20 letters" in transcript  # "svt fml" has a space
    assert "Seventeen FML 세븐틴 🎵" in transcript
    assert "That deadline has already passed" not in transcript  # "yesterday" is not a time at all
    assert "'yesterday' is not a time I understand" in transcript
    assert "Created SVT-FML as a draft" in transcript
    assert "[2] Order 1 × FML album (Fallen Misfit)" in transcript
    assert "Order SVT-FML-1 (SVT-FML · Seventeen FML 세븐틴 🎵) — waiting for payment" in transcript
    assert "1 × FML album (Fallen Misfit) [ALB:B] — S$25.90" in transcript
    assert "Only 2 slot(s) left in SVT-FML; you asked for 3." in transcript
    assert "SVT-FML is full" in transcript
    assert "You're #1 on the SVT-FML waitlist" in transcript
    assert "Order SVT-FML-1 is cancelled" in transcript
    assert any(m.startswith("📨 to amy: 🎉 A slot freed up in SVT-FML") for m in outbox_log)
    assert (tmp_path / "SVT-FML-orders.csv").read_bytes().count(b"\r\n") == 4  # header + 3 orders


async def test_refuses_what_it_cannot_read_with_a_clear_answer(app: App) -> None:
    out: list[str] = []
    chat = ConsoleChat(app.bot, out.append)
    for line in (
        "/as buyer bob",
        "/order",
        "/order SVT-FML ALB 10000000000000",
        "/frobnicate",
        "hello?",
        "/newgo X",
        "/as admin bob",
        "x" * 5000,
        "/go " + "Ж" * 300,
    ):
        await chat.feed(line)
    transcript = "\n".join(out)
    assert "Usage: /order CODE ITEM QTY" in transcript
    assert "is far more than anyone can order" in transcript
    assert "I don't know /frobnicate" in transcript
    assert "I didn't catch that" in transcript
    assert "/newgo is for GOMs" in transcript
    assert "Usage: /as gom NAME" in transcript
    assert "That message is too long (5,000 characters" in transcript
    assert "Traceback" not in transcript and "something went wrong" not in transcript
