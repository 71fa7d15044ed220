"""Email in and out: gomflow's SMTP listener (aiosmtpd) takes mail from a real SMTP client
(aiosmtplib), answers in the thread through a local relay, and never answers a robot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import func, select

from bots.email.adapter import EmailBot
from core import inbound
from core.clock import FrozenClock
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import Identity, InboundUpdate, Order, PaymentProof
from core.privacy.identities import stored_id
from main import App, bootstrap
from platforms import PLATFORMS
from tests.conftest import BACKENDS, fresh_database_url, open_go, say
from tests.e2e.test_command_line import free_port
from tests.fakes.mail import GOMFLOW, TRUSTED, Relay, mail, relay, text_of
from tests.images import screenshot

PNG = screenshot()
BOB = "bob@example.test"


async def wait_for(condition: Callable[[], Awaitable[bool] | bool], timeout: float = 60.0) -> None:
    """The condition itself, re-checked; generous, since a busy machine is slow, not wrong."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if await result if isinstance(result, Awaitable) else result:
            return
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


class Post:
    """gomflow with its SMTP listener running, a relay for what it sends, and a way to write."""

    def __init__(self, app: App, bot: EmailBot, out: Relay) -> None:
        self.app, self.bot, self.out = app, bot, out

    async def send(self, message: EmailMessage, *, sender: str | None = None) -> None:
        await aiosmtplib.send(message, hostname="127.0.0.1", port=self.bot.port, sender=sender)

    async def ask(self, message: EmailMessage) -> EmailMessage:
        """Send ``message`` and wait for gomflow's answer in its thread."""
        await self.send(message)
        await wait_for(lambda: bool(self.answers_to(message)))
        (answer,) = self.answers_to(message)
        return answer

    def answers_to(self, message: EmailMessage) -> list[EmailMessage]:
        return [m for m in self.out.messages if m["In-Reply-To"] == message["Message-ID"]]

    async def handled(self, message: EmailMessage) -> bool:
        return await self.handled_id(str(message["Message-ID"]))

    async def handled_id(self, message_id: str) -> bool:
        async with self.app.core.reader() as uow:
            at = await uow.session.scalar(
                select(InboundUpdate.handled_at).where(
                    InboundUpdate.source == "email", InboundUpdate.external_id == message_id
                )
            )
        return at is not None


def email_settings(url: str, relay_port: int) -> Settings:
    return Settings(
        database_url=url,
        smtp_host="127.0.0.1",
        smtp_port=relay_port,
        smtp_from=GOMFLOW,
        smtp_starttls=False,
        email_listen_host="127.0.0.1",
        email_listen_port=0,
        email_max_bytes=10 * 1024 * 1024,
        email_authserv_id=TRUSTED,
    )


@pytest.fixture(params=BACKENDS)
async def post(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Post]:
    url = await fresh_database_url(request.param, tmp_path)
    port = free_port()
    settings = email_settings(url, port)
    app = bootstrap(settings, clock=clock, write=lambda _: None)
    await upgrade(app.core.db)
    (platform,) = [p for p in PLATFORMS if p.name == "email"]
    assert platform.inbound is not None
    bot = platform.inbound(app.wiring, app.bot, app.channels["email"])
    assert isinstance(bot, EmailBot)
    with relay(port) as out:
        async with bot.running():
            yield Post(app, bot, out)
    await app.core.close()


async def paying_go(app: App) -> None:
    await open_go(app)
    reply = await say(app, "gina", "/paymethods SVT-FML paynow:+6591234567 manual")
    assert not reply.text.startswith("⚠️"), reply.text


async def test_a_whole_order_by_email_is_answered_in_its_thread(post: Post) -> None:
    """A command in the subject, a menu number and a proof image, each answered in the thread."""
    await paying_go(post.app)
    asked = mail(f"Bob <{BOB}>", "ORDER SVT-FML ALB:A 2")
    placed = await post.ask(asked)
    assert placed["Subject"] == "Re: ORDER SVT-FML ALB:A 2"
    assert placed["References"] == asked["Message-ID"]
    assert placed["Auto-Submitted"] == "auto-replied" and placed["List-Unsubscribe"] is None
    text = text_of(placed)
    assert "SVT-FML-1" in text and "Reply 1 for Pay" in text
    html = placed.get_body(preferencelist=("html",))
    assert html is not None and "SVT-FML-1" in html.get_content()
    assert 'href="mailto:orders@gomflow.test?subject=Re%3A%20ORDER%20SVT-FML%20ALB%3AA%202&amp;body=1"' in (
        html.get_content()
    )  # option 1 is a link that writes the reply "1"

    pay = mail(BOB, f"Re: {placed['Subject']}", "1\n\n> quoted text", replying_to=placed)
    options = await post.ask(pay)
    assert options["References"] == f"{asked['Message-ID']} {placed['Message-ID']} {pay['Message-ID']}"
    assert "SVT-FML-1" in text_of(options)

    proof = mail(BOB, f"Re: {options['Subject']}", "paid, ref TXN77", replying_to=options, image=PNG)
    received = await post.ask(proof)
    assert "is with the GOM for review" in text_of(received)
    async with post.app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(PaymentProof)) == 1
        identity = await uow.session.scalar(select(Identity).where(Identity.channel == "email"))
        assert identity is not None and identity.address == BOB


async def test_the_same_message_id_is_acted_on_once(post: Post) -> None:
    """Delivered twice at once and once more later: one order, one answer (DESIGN rule 5)."""
    await open_go(post.app)
    asked = mail(BOB, "/order SVT-FML ALB:A 1")
    await asyncio.gather(post.send(asked), post.send(asked))
    await wait_for(lambda: bool(post.answers_to(asked)))
    await wait_for(lambda: post.handled(asked))
    await post.send(asked)
    later = await post.ask(mail(BOB, "/myorders"))
    assert "SVT-FML-1" in text_of(later)
    assert len(post.answers_to(asked)) == 1
    async with post.app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List-Id": "<kpop.lists.example.test>"},
        {"X-Autoreply": "yes"},
    ],
    ids=["auto-submitted", "precedence", "list-id", "x-autoreply"],
)
async def test_robots_are_never_answered(post: Post, headers: dict[str, str]) -> None:
    await open_go(post.app)
    robot = mail(BOB, "Out of office: /order SVT-FML ALB:A 1", "/order SVT-FML ALB:A 1", headers=headers)
    await post.send(robot)
    await wait_for(lambda: post.handled(robot))
    assert post.out.messages == []
    async with post.app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 0


async def test_a_bounce_marks_the_address_unreachable_and_is_not_answered(post: Post) -> None:
    await post.ask(mail(BOB, "/help"))
    bounce_id = "<dsn-1@mx.example.test>"
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=post.bot.port) as smtp:
        await smtp.sendmail("", [GOMFLOW], dsn(bounce_id, failed=BOB))  # MAIL FROM:<>
    await wait_for(lambda: post.handled_id(bounce_id))
    async with post.app.core.reader() as uow:
        reachable = await uow.session.scalar(
            select(Identity.reachable).where(
                Identity.channel == "email", Identity.external_id == stored_id("email", BOB)
            )
        )
    assert reachable is False
    assert len(post.out.messages) == 1  # only the answer to /help


def dsn(message_id: str, failed: str) -> bytes:
    """A delivery status notification (RFC 3464) as a mail server sends one back."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n"
        f"To: {GOMFLOW}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.test\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "\r\n--b1--\r\n"
    ).encode()


async def test_mail_without_a_command_gets_a_clear_answer(post: Post) -> None:
    answer = await post.ask(mail(BOB, "hello", "Do you ship to Penang?"))
    assert "I didn't catch that" in text_of(answer)


async def test_an_html_only_message_is_read_as_its_text(post: Post) -> None:
    await open_go(post.app)
    html = (
        "<html><head><style>p{}</style></head><body><p>ORDER SVT-FML ALB:B 1</p><p>thanks!</p></body></html>"
    )
    answer = await post.ask(mail(BOB, "my order", html=html))
    assert "SVT-FML-1" in text_of(answer)


async def test_a_message_over_the_size_limit_is_refused_and_nothing_is_kept(post: Post) -> None:
    big = mail(
        BOB, "/pay SVT-FML-1", "proof attached", image=b"\x89PNG\r\n\x1a\n" + b"\0" * (20 * 1024 * 1024)
    )
    with pytest.raises(aiosmtplib.SMTPException) as refused:
        await post.send(big)
    assert "552" in str(refused.value) or "size" in str(refused.value).lower()
    async with post.app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(InboundUpdate)) == 0


async def test_an_image_over_the_proof_limit_gets_a_clear_answer(post: Post) -> None:
    await paying_go(post.app)
    await post.ask(mail(BOB, "/order SVT-FML ALB:A 1"))
    too_big = mail(BOB, "proof", "ref 1", image=PNG + b"\0" * (6 * 1024 * 1024))
    answer = await post.ask(too_big)
    assert "larger than 5 MB" in text_of(answer)
    async with post.app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(PaymentProof)) == 0


async def test_a_forged_gom_address_cannot_manage_a_group_order(post: Post) -> None:
    """The GOM's address is known, but only a message a trusted server verified may act as them."""
    await open_go(post.app)
    gina = "gina@example.test"
    await post.ask(mail(gina, "/help", verified=True))
    from core.services.accounts import register_gom

    await register_gom(post.app.core.uow(), "email", gina, "gina")
    forged = await post.ask(mail(gina, "/close SVT-FML"))
    assert "was not verified" in text_of(forged) and "Nothing was changed" in text_of(forged)
    wrong_server = mail(
        gina, "/mygos", headers={"Authentication-Results": "evil.test; dkim=pass header.d=example.test"}
    )
    assert "was not verified" in text_of(await post.ask(wrong_server))
    genuine = await post.ask(mail(gina, "/mygos", verified=True))
    assert "was not verified" not in text_of(genuine)
    linking = await post.ask(mail(gina, "LINK K7QM-3XWP"))  # joining accounts needs it too
    assert "/link manages" in text_of(linking) and "was not verified" in text_of(linking)


async def test_a_forged_buyer_address_cannot_cancel_their_order_typed_or_by_number(post: Post) -> None:
    """Anyone can write "From: bob": ordering is answered to the real Bob, but undoing what
    Bob has takes a verified sender, whether typed or picked from a numbered menu."""
    await paying_go(post.app)
    placed = await post.ask(mail(BOB, "ORDER SVT-FML ALB:A 1"))
    assert "Reply 1 for Pay, 2 for Cancel order" in text_of(placed)
    by_number = await post.ask(mail(BOB, f"Re: {placed['Subject']}", "2", replying_to=placed))
    assert "/cancel manages" in text_of(by_number) and "was not verified" in text_of(by_number)
    typed = await post.ask(mail(BOB, "/cancel SVT-FML-1"))
    assert "was not verified" in text_of(typed)
    leaving = await post.ask(mail(BOB, "/waitlist leave SVT-FML"))  # a place in a queue too
    assert "/waitlist manages" in text_of(leaving) and "was not verified" in text_of(leaving)
    places = await post.ask(mail(BOB, "/waitlist"))  # looking is anyone's
    assert "was not verified" not in text_of(places)
    async with post.app.core.reader() as uow:
        assert await uow.session.scalar(select(Order.status)) == "placed"
    genuine = await post.ask(mail(BOB, "/cancel SVT-FML-1", verified=True))
    assert "cancelled" in text_of(genuine)
    async with post.app.core.reader() as uow:
        assert await uow.session.scalar(select(Order.status)) == "cancelled"


async def test_mail_recorded_before_a_stop_is_handled_at_the_next_start(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """Recorded (the 250 was given) but never handled: the next start answers it."""
    port = free_port()
    settings = email_settings(f"sqlite+aiosqlite:///{tmp_path}/gomflow.db", port)
    app = bootstrap(settings, clock=clock, write=lambda _: None)
    await upgrade(app.core.db)
    waiting = mail(BOB, "/help")
    (platform,) = [p for p in PLATFORMS if p.name == "email"]
    assert platform.inbound is not None
    bot = platform.inbound(app.wiring, app.bot, app.channels["email"])
    assert isinstance(bot, EmailBot)
    import base64
    import json

    payload = json.dumps({"mail_from": BOB, "raw": base64.b64encode(waiting.as_bytes()).decode()})
    await inbound.record(app.core.desk, "email", [(str(waiting["Message-ID"]), payload)])
    try:
        with relay(port) as out:
            async with bot.running():
                await wait_for(lambda: bool(out.to(BOB)))
        assert out.to(BOB)[0]["In-Reply-To"] == waiting["Message-ID"]
    finally:
        await app.core.close()


async def test_gomflow_run_starts_the_listener_through_the_registry(
    tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.integration.test_platforms import serving

    port, listen = free_port(), free_port()
    settings = replace(
        email_settings(f"sqlite+aiosqlite:///{tmp_path}/run.db", port), email_listen_port=listen, http_port=0
    )
    app = bootstrap(settings, clock=clock, write=lambda _: None)
    await upgrade(app.core.db)
    try:
        with relay(port) as out, caplog.at_level(logging.INFO, logger="gomflow"):
            async with serving(app):
                await wait_for(lambda: "email: receiving and sending" in caplog.messages)
                asked = mail(BOB, "/help")
                await aiosmtplib.send(asked, hostname="127.0.0.1", port=listen)
                await wait_for(lambda: bool(out.to(BOB)))
        assert out.to(BOB)[0]["In-Reply-To"] == asked["Message-ID"]
    finally:
        await app.core.close()


async def test_the_mailto_unsubscribe_mutes_the_sender(post: Post) -> None:
    """List-Unsubscribe's mailto: target (RFC 2369) writes "unsubscribe" to gomflow."""
    answer = await post.ask(mail(BOB, "unsubscribe"))
    assert "Muted" in text_of(answer)


async def test_mail_for_another_domain_is_refused_in_the_smtp_exchange(post: Post) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await post.send(mail(BOB, "/help", to="someone@elsewhere.test"))
    async with post.app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(InboundUpdate)) == 0
