"""The GOM dashboard over HTTP: signed in by a one-time link from /dashboard, a session that
ends, every page as the signed-in person with their team role, a proof reviewed through a
form that only the session's own pages can send; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from core.clock import FrozenClock
from core.db.models import AuditEntry, DashboardSignIn, PaymentProof
from core.languages import LANGUAGES
from main import App
from tests.conftest import assert_checks_pass, gom, in_language, open_go, say
from tests.integration.test_payments import PNG, ok, order_status, send
from web.app import build_web_app

Client = TestClient[Any, Any]


@pytest.fixture
async def web(any_app: App) -> AsyncIterator[tuple[App, Client]]:
    async with TestClient(TestServer(build_web_app(any_app.core), host="127.0.0.1")) as client:
        yield any_app, client


async def a_go_with_a_proof(app: App, image: bytes | None = None) -> None:
    """Gina's SVT-FML with hana and mia on her team, and bob's order with a proof waiting."""
    await open_go(app)
    for who in ("hana", "mia"):
        ok(await say(app, who, "/start"))
    ok(await say(app, "gina", "/helper add @hana"))
    ok(await say(app, "gina", "/helper add @mia manager"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await send(app, "bob", "/paid SVT-FML-1 DBS-REF-1", image))


async def sign_in_path(app: App, who: str = "gina") -> str:
    reply = ok(await say(app, who, "/dashboard"))
    [url] = [b.url for row in reply.buttons for b in row if b.url]
    assert url in reply.text
    return urlsplit(url).path


async def signed_in(app: App, client: Client, who: str = "gina") -> None:
    path = await sign_in_path(app, who)
    answer = await client.post(path, allow_redirects=False)
    assert answer.status == 303, await answer.text()
    assert answer.headers["Location"] == "/dashboard"


async def page(client: Client, path: str, status: int = 200) -> str:
    answer = await client.get(path)
    text = await answer.text()
    assert answer.status == status, (path, answer.status, text)
    return text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, "the page has no form token"
    return found[1]


async def proof_states(app: App) -> list[str]:
    async with app.core.reader() as uow:
        return list((await uow.session.scalars(select(PaymentProof.status).order_by(PaymentProof.id))).all())


async def test_a_gom_signs_in_by_the_link_and_sees_their_group_orders(web: tuple[App, Client]) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    path = await sign_in_path(app)
    # opening the link (as a chat app's link preview would) spends nothing
    for _ in range(2):
        offer = await page(client, path)
        assert "gina" in offer and '<form method="post">' in offer
    answer = await client.post(path, allow_redirects=False)
    assert answer.status == 303
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    home = await client.get("/dashboard")
    assert home.status == 200
    assert "default-src 'none'" in home.headers["Content-Security-Policy"]
    assert home.headers["Cache-Control"] == "no-store"
    text = await home.text()
    assert "Signed in as gina" in text and "SVT-FML" in text and "Test GO" in text
    orders = await page(client, "/dashboard/go/SVT-FML")
    assert "SVT-FML-1" in orders and "bob" in orders and "FML album" in orders and "S$25.90" in orders
    money = await page(client, "/dashboard/go/SVT-FML/payments")
    assert "SVT-FML-1" in money and "bob" in money and "S$25.90" in money
    per_buyer = await page(client, "/dashboard/go/SVT-FML/buyers")
    assert "1 buyer," in per_buyer and "bob" in per_buyer and "SVT-FML-1-I1" in per_buyer
    proofs = await page(client, "/dashboard/go/SVT-FML/proofs")
    assert "SVT-FML-1" in proofs and "DBS-REF-1" in proofs
    export = await client.get("/dashboard/go/SVT-FML/orders.csv")
    assert export.status == 200 and "attachment" in export.headers["Content-Disposition"]
    assert "SVT-FML-1" in (await export.read()).decode("utf-8-sig")
    buyers = await client.get("/dashboard/go/SVT-FML/buyers.csv")
    assert buyers.status == 200 and "bob" in (await buyers.read()).decode("utf-8-sig")
    packing = await page(client, "/dashboard/go/SVT-FML/packing")
    assert "packing list" in packing
    async with app.core.reader() as uow:
        signed = await uow.session.scalar(
            select(func.count()).where(AuditEntry.action == "dashboard_signed_in")
        )
    assert signed == 1


async def test_a_used_or_expired_link_opens_nothing(web: tuple[App, Client], clock: FrozenClock) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    path = await sign_in_path(app)
    assert (await client.post(path, allow_redirects=False)).status == 303
    for method in ("GET", "POST"):
        again = await client.request(method, path, allow_redirects=False)
        assert again.status == 410
        assert "used already or has expired" in await again.text()
    late = await sign_in_path(app)
    clock.advance(minutes=16)
    assert (await client.post(late, allow_redirects=False)).status == 410
    for token in ("not-a-real-token", "✓" * 500, "x" * 5000):
        stranger = await client.post(f"/dashboard/sign-in/{token}", allow_redirects=False)
        assert stranger.status == 404
        assert "not one of ours" in await stranger.text()
    async with app.core.reader() as uow:
        sessions = await uow.session.scalar(
            select(func.count()).where(DashboardSignIn.session_hash.is_not(None))
        )
    assert sessions == 1


async def test_a_session_ends_after_its_hours_and_on_sign_out(
    web: tuple[App, Client], clock: FrozenClock
) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    await signed_in(app, client)
    await page(client, "/dashboard")
    clock.advance(hours=8, minutes=1)
    ended = await page(client, "/dashboard", 401)
    assert "session has ended" in ended and "/dashboard" in ended
    await signed_in(app, client)
    token = csrf_of(await page(client, "/dashboard"))
    forged = await client.post("/dashboard/sign-out", data={"csrf": "0" * 64}, allow_redirects=False)
    assert forged.status == 403
    await page(client, "/dashboard")  # still signed in
    out = await client.post("/dashboard/sign-out", data={"csrf": token}, allow_redirects=False)
    assert out.status == 303
    client.session.cookie_jar.clear()
    assert (await client.get("/dashboard")).status == 401


async def test_a_signed_out_session_is_over_even_with_its_cookie_kept(web: tuple[App, Client]) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    await signed_in(app, client)
    cookies = {c.key: c.value for c in client.session.cookie_jar}
    token = csrf_of(await page(client, "/dashboard"))
    out = await client.post("/dashboard/sign-out", data={"csrf": token}, allow_redirects=False)
    assert out.status == 303
    replayed = await client.get("/dashboard", cookies=cookies)
    assert replayed.status == 401


async def test_a_large_go_shows_its_orders_and_buyers_a_page_at_a_time(web: tuple[App, Client]) -> None:
    app, client = web
    await open_go(app, moq=1, cap=100)
    fans = [f"fan{n:02}" for n in range(27)]
    for fan in fans:
        ok(await say(app, fan, "/order SVT-FML ALB:A 1"))
    ok(await say(app, "fan00", "/order SVT-FML ALB:B 2"))  # a second order: still one buyer
    await signed_in(app, client)
    first = await page(client, "/dashboard/go/SVT-FML")
    assert "28 order(s), 29 unit(s)" in first and "Page 1 of 2" in first
    assert "SVT-FML-20<" in first and "SVT-FML-21<" not in first
    second = await page(client, "/dashboard/go/SVT-FML?page=2")
    assert "SVT-FML-28<" in second and "SVT-FML-1<" not in second
    mine = await page(client, "/dashboard/go/SVT-FML?buyer=%40fan00")
    assert "SVT-FML-1<" in mine and "SVT-FML-28<" in mine and "SVT-FML-2<" not in mine
    buyers = await page(client, "/dashboard/go/SVT-FML/buyers")
    assert "27 buyers" in buyers and "Page 1 of 2" in buyers and "SVT-FML-1, SVT-FML-28" in buyers
    last = await page(client, "/dashboard/go/SVT-FML/buyers?page=2")
    assert "fan25" in last and "fan26" in last and "fan24" not in last
    assert "S$25.90" in last  # fan26 still owes one album


async def test_a_sign_in_is_told_in_the_chat_and_signout_there_ends_every_session(
    web: tuple[App, Client], outbox_log: list[str]
) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    await signed_in(app, client)
    await app.dispatcher.run_once()
    [notice] = [line for line in outbox_log if "dashboard" in line]
    assert notice.startswith("📨 to gina") and "You signed in to the dashboard" in notice
    assert "/dashboard signout" in notice
    unused = await sign_in_path(app)
    refused = await say(app, "gina", "/dashboard now")
    assert refused.refusal is not None and "/dashboard signout" in refused.text
    await page(client, "/dashboard")  # a refused command ended nothing
    ended = ok(await say(app, "gina", "/dashboard signout"))
    assert "1 dashboard session ended" in ended.text
    assert (await client.get("/dashboard")).status == 401
    assert (await client.post(unused, allow_redirects=False)).status == 410
    again = ok(await say(app, "gina", "/dashboard signout"))
    assert "No dashboard session was open" in again.text


async def test_a_helper_taken_off_the_team_loses_the_dashboard_at_once(web: tuple[App, Client]) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    await signed_in(app, client, "hana")
    token = csrf_of(await page(client, "/dashboard/orders/SVT-FML-1/proofs"))
    ok(await say(app, "gina", "/helper remove @hana"))
    assert (await client.get("/dashboard/go/SVT-FML")).status == 403
    tried = await client.post(
        "/dashboard/orders/SVT-FML-1/proofs/1/approve", data={"csrf": token}, allow_redirects=False
    )
    assert tried.status == 403
    assert await proof_states(app) == ["pending"]


async def test_the_link_is_never_given_in_a_group_chat(any_app: App) -> None:
    await gom(any_app)
    reply = await say(any_app, "gina", "/dashboard", in_group=True)
    assert "/dashboard/sign-in/" not in reply.text and not any(b.url for row in reply.buttons for b in row)


async def test_a_helper_of_another_gom_sees_nothing_of_this_one(web: tuple[App, Client]) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    await open_go(app, "OTTO-GO", owner="otto")
    ok(await say(app, "olly", "/start"))
    ok(await say(app, "otto", "/helper add @olly"))
    await signed_in(app, client, "olly")
    home = await page(client, "/dashboard")
    assert "OTTO-GO" in home and "SVT-FML" not in home
    token = csrf_of(home)
    for path in (
        "/dashboard/go/SVT-FML",
        "/dashboard/go/SVT-FML/payments",
        "/dashboard/go/SVT-FML/buyers",
        "/dashboard/go/SVT-FML/proofs",
        "/dashboard/go/SVT-FML/orders.csv",
        "/dashboard/go/SVT-FML/buyers.csv",
        "/dashboard/go/SVT-FML/packing",
        "/dashboard/orders/SVT-FML-1/proofs",
    ):
        text = await page(client, path, 403)
        assert "bob" not in text and "DBS-REF-1" not in text, path
    tried = await client.post(
        "/dashboard/orders/SVT-FML-1/proofs/1/approve", data={"csrf": token}, allow_redirects=False
    )
    assert tried.status == 403
    assert await proof_states(app) == ["pending"]
    refused = await say(app, "bob", "/dashboard")  # a buyer is not given a link at all
    assert refused.refusal is not None and "/dashboard/sign-in/" not in refused.text


async def test_a_proof_approved_in_the_dashboard_pays_the_order_and_tells_the_buyer(
    web: tuple[App, Client], outbox_log: list[str]
) -> None:
    app, client = web
    await a_go_with_a_proof(app, PNG)
    await signed_in(app, client, "hana")  # a helper: proofs are theirs to review
    listed = await page(client, "/dashboard/go/SVT-FML/proofs")
    assert "/dashboard/orders/SVT-FML-1/proofs" in listed
    review = await page(client, "/dashboard/orders/SVT-FML-1/proofs")
    assert "S$25.90" in review and "DBS-REF-1" in review and "/proofs/1/image" in review
    picture = await client.get("/dashboard/orders/SVT-FML-1/proofs/1/image")
    assert picture.status == 200 and picture.content_type == "image/png"
    assert await picture.read() != b""
    answer = await client.post(
        "/dashboard/orders/SVT-FML-1/proofs/1/approve", data={"csrf": csrf_of(review)}, allow_redirects=False
    )
    assert answer.status == 303
    done = await page(client, answer.headers["Location"])
    assert "Approved" in done and "No proof of payment waits for review" in done
    assert await order_status(app, "SVT-FML-1") == "paid"
    assert await proof_states(app) == ["approved"]
    await app.dispatcher.run_once()
    told = [line for line in outbox_log if line.startswith("📨 to bob")]
    assert any("SVT-FML-1" in line and "S$25.90" in line for line in told), told
    shown = ok(await say(app, "gina", "/proof SVT-FML-1"))
    assert "hana" in shown.text  # reviewed by whoever pressed the button, as in the chat
    await assert_checks_pass(app)


async def test_a_proof_rejected_in_the_dashboard_needs_a_reason_and_tells_the_buyer(
    web: tuple[App, Client], outbox_log: list[str]
) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    await signed_in(app, client, "mia")
    token = csrf_of(await page(client, "/dashboard/orders/SVT-FML-1/proofs"))
    reject = "/dashboard/orders/SVT-FML-1/proofs/1/reject"
    empty = await client.post(reject, data={"csrf": token, "reason": "   "}, allow_redirects=False)
    assert empty.status == 400 and "Say why" in await empty.text()
    assert await proof_states(app) == ["pending"]
    reason = {"csrf": token, "reason": "No such transfer"}
    answer = await client.post(reject, data=reason, allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"].endswith("done=rejected")
    assert await proof_states(app) == ["rejected"]
    await app.dispatcher.run_once()
    assert any(line.startswith("📨 to bob") and "No such transfer" in line for line in outbox_log), outbox_log


async def test_a_forged_form_changes_nothing(web: tuple[App, Client]) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    await signed_in(app, client)
    token = csrf_of(await page(client, "/dashboard/orders/SVT-FML-1/proofs"))
    approve = "/dashboard/orders/SVT-FML-1/proofs/1/approve"
    for data, headers in (
        ({}, {}),  # no token: a form on another site
        ({"csrf": "f" * 64}, {}),  # a made-up one
        ({"csrf": token}, {"Origin": "https://evil.example"}),  # sent from another site's page
        ({"csrf": token}, {"Origin": "null"}),  # from a page that hides where it is (a sandbox)
    ):
        forged = await client.post(approve, data=data, headers=headers, allow_redirects=False)
        assert forged.status == 403
        assert "not sent from your dashboard" in await forged.text()
    assert await proof_states(app) == ["pending"]
    assert await order_status(app, "SVT-FML-1") == "placed"


async def test_two_presses_of_one_link_open_one_session(web: tuple[App, Client]) -> None:
    app, client = web
    await gom(app)
    path = await sign_in_path(app)
    answers = await asyncio.gather(*(client.post(path, allow_redirects=False) for _ in range(4)))
    assert sorted(a.status for a in answers) == [303, 410, 410, 410]
    async with app.core.reader() as uow:
        sessions = await uow.session.scalar(
            select(func.count()).where(DashboardSignIn.session_hash.is_not(None))
        )
    assert sessions == 1


async def test_approving_in_the_dashboard_while_the_gom_rejects_in_the_chat(web: tuple[App, Client]) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    await signed_in(app, client, "hana")
    token = csrf_of(await page(client, "/dashboard/orders/SVT-FML-1/proofs"))
    approve = client.post(
        "/dashboard/orders/SVT-FML-1/proofs/1/approve", data={"csrf": token}, allow_redirects=False
    )
    web_answer, chat_answer = await asyncio.gather(approve, say(app, "gina", "/reject SVT-FML-1 #1 not seen"))
    decided = await proof_states(app)
    if decided == ["approved"]:
        assert web_answer.status == 303 and chat_answer.refusal is not None
        assert await order_status(app, "SVT-FML-1") == "paid"
    else:
        assert decided == ["rejected"] and chat_answer.refusal is None
        assert web_answer.status == 409, await web_answer.text()
        assert await order_status(app, "SVT-FML-1") == "placed"
    await assert_checks_pass(app)


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/dashboard/go/SVT-FML?page=abc", 400, "is not a number"),
        ("/dashboard/go/SVT-FML?page=99", 400, "There is no page 99"),
        ("/dashboard/go/SVT-FML?show=everything", 400, "Show all, unpaid or paid"),
        ("/dashboard/go/SVT-FML?buyer=" + "b" * 100, 400, "too long"),
        ("/dashboard/go/SVT-FML/buyers?page=2", 400, "fill 1 page(s)"),
        ("/dashboard/go/SVT-FML/buyers?page=%EF%BC%92", 400, "is not a number"),
        ("/dashboard/go/NO-SUCH-GO", 404, "NO-SUCH-GO"),
        ("/dashboard/go/%E2%9C%93%F0%9F%92%9C", 404, ""),
        ("/dashboard/orders/SVT-FML-99/proofs", 404, "SVT-FML-99"),
        ("/dashboard/orders/SVT-FML-1/proofs/0/image", 400, "is not a number"),
        ("/dashboard/orders/SVT-FML-1/proofs/7/image", 404, "no proof #7"),
    ],
)
async def test_bad_addresses_get_a_clear_page(
    web: tuple[App, Client], path: str, status: int, says: str
) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    await signed_in(app, client)
    text = await page(client, path, status)
    assert says in text and "Traceback" not in text


async def test_pages_without_a_session_ask_for_the_link(web: tuple[App, Client]) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    for path in ("/dashboard", "/dashboard/go/SVT-FML", "/dashboard/orders/SVT-FML-1/proofs/1/image"):
        text = await page(client, path, 401)
        assert "send /dashboard to the bot" in text.lower() and "bob" not in text
    stolen = await client.post("/dashboard/orders/SVT-FML-1/proofs/1/approve", allow_redirects=False)
    assert stolen.status == 401
    assert await proof_states(app) == ["pending"]


async def test_the_dashboard_is_in_the_readers_language(web: tuple[App, Client]) -> None:
    app, client = web
    await a_go_with_a_proof(app)
    ok(await say(app, "gina", "/language th"))
    path = await sign_in_path(app)
    assert in_language("th", "Sign in to the dashboard") in await page(client, path)
    assert (await client.post(path, allow_redirects=False)).status == 303
    home = await client.get("/dashboard")
    assert home.headers["Content-Language"] == "th"
    text = await home.text()
    assert in_language("th", "Your group orders") in text and "Your group orders" not in text
    english = await page(client, "/dashboard?lang=en")
    assert "Your group orders" in english


async def test_every_page_reads_in_every_language(app: App) -> None:
    async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:
        await a_go_with_a_proof(app, PNG)
        await signed_in(app, client)
        pages = (
            "/dashboard",
            "/dashboard/go/SVT-FML",
            "/dashboard/go/SVT-FML/payments",
            "/dashboard/go/SVT-FML/buyers",
            "/dashboard/go/SVT-FML/proofs",
            "/dashboard/orders/SVT-FML-1/proofs",
            "/dashboard/go/NO-SUCH-GO",
        )
        for language in LANGUAGES:
            for path in pages:
                answer = await client.get(f"{path}?lang={language}")
                text = await answer.text()
                assert answer.status == (404 if "NO-SUCH" in path else 200), (language, path, text)
                assert f'<html lang="{language}">' in text
                if language != "en":  # in the reader's words, down to the refusal of a GO not there
                    said = "Back to your group orders" if "NO-SUCH" in path else "Sign out"
                    assert in_language(language, said) in text and f">{said}<" not in text, (language, path)
