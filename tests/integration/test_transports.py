"""The SMS/WhatsApp and email transports against local servers speaking the real protocols."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from channels.base import DeliveryError, RecipientUnreachable
from channels.discord import DiscordChannel
from channels.email import EmailChannel
from channels.twilio import TwilioChannel
from core.render import Rendered
from main import App
from tests.conftest import buyer
from tests.e2e.test_command_line import free_port
from tests.fakes.discord_api import TOKEN as DISCORD_TOKEN
from tests.fakes.discord_api import FakeDiscordAPI
from tests.fakes.twilio_api import AUTH, INVALID_NUMBER, SID, FakeTwilioAPI


@pytest.fixture
async def twilio_fake() -> AsyncIterator[FakeTwilioAPI]:
    fake = FakeTwilioAPI()
    await fake.start()
    yield fake
    await fake.stop()


async def test_sms_and_whatsapp_go_through_the_twilio_package(twilio_fake: FakeTwilioAPI) -> None:
    sms = TwilioChannel("sms", SID, AUTH, "+6580000000", twilio_fake.base_url)
    whatsapp = TwilioChannel("whatsapp", SID, AUTH, "whatsapp:+6580000000", twilio_fake.base_url)
    try:
        await sms.send("+6591234567", Rendered("Pay by Friday"))
        await whatsapp.send("+6591234567", Rendered("Pay by Friday"))
        with pytest.raises(RecipientUnreachable, match="21211"):
            await sms.send(INVALID_NUMBER, Rendered("hello"))
        twilio_fake.fail_first = 1
        with pytest.raises(DeliveryError, match="500"):
            await sms.send("+6591234567", Rendered("again"))
    finally:
        await sms.close()
        await whatsapp.close()
    assert [(m["To"], m["From"], m["Body"]) for m in twilio_fake.sent] == [
        ("+6591234567", "+6580000000", "Pay by Friday"),
        ("whatsapp:+6591234567", "whatsapp:+6580000000", "Pay by Friday"),
    ]


class Mailbox:
    """An aiosmtpd handler: keeps what it accepts, bounces one address for good."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("bounce@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


async def test_email_goes_out_as_text_and_html_with_an_unsubscribe_header(
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    channel = EmailChannel("127.0.0.1", port, "go@gomflow.example", start_tls=False)
    await channel.send("amy@example.com", Rendered("Album arrives\nFriday", html="<p>Album arrives</p>"))
    with pytest.raises(RecipientUnreachable, match="550"):
        await channel.send("bounce@example.com", Rendered("hi"))
    [message] = mailbox.messages
    assert message["To"] == "amy@example.com" and message["Subject"] == "Album arrives"
    assert "mailto:go@gomflow.example?subject=unsubscribe" in message["List-Unsubscribe"]
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and "Friday" in plain.get_content()
    assert html is not None and "<p>Album arrives</p>" in html.get_content()


async def test_dispatcher_renders_the_html_variant_for_email(
    app: App, smtp_server: tuple[Mailbox, int]
) -> None:
    from channels.dispatcher import Dispatcher

    mailbox, port = smtp_server
    amy = await buyer(app, "amy")
    async with app.core.uow() as uow:
        from core.db.models import Identity

        identity = Identity(
            user_id=amy.user_id,
            channel="email",
            external_id="amy@example.com",
            handle=None,
            reachable=True,
            created_at=uow.now,
            kind="person",
        )
        uow.session.add(identity)
        await uow.session.flush()
        context = {
            "go_code": "SVT-FML",
            "go_title": "FML <album>",
            "gom": "Gina",
            "body": "Line one\nLine two",
        }
        await uow.notify(identity.id, "broadcast", context, dedupe_key="b1")
        await uow.commit()
    channel = EmailChannel("127.0.0.1", port, "go@gomflow.example", start_tls=False)
    assert await Dispatcher(app.core, app.bot.renderer, {"email": channel}).run_once() == 1
    [message] = mailbox.messages
    html = message.get_body(("html",))
    assert (
        html is not None
        and "FML &lt;album&gt;" in html.get_content()
        and "Line one<br>Line two" in html.get_content()
    )


async def test_every_attempt_at_one_outbox_email_carries_the_same_message_id(
    smtp_server: tuple[Mailbox, int],
) -> None:
    """Receivers dedupe on Message-ID: a repeat after a crash is recognised as one."""
    mailbox, port = smtp_server
    channel = EmailChannel("127.0.0.1", port, "go@gomflow.example", start_tls=False)
    await channel.send("amy@example.com", Rendered("Album arrives"), key="gf41-mhx2k")
    await channel.send("amy@example.com", Rendered("Album arrives"), key="gf41-mhx2k")
    await channel.send("amy@example.com", Rendered("Album arrives"), key="gf42-mhx2k")
    await channel.send("amy@example.com", Rendered("a reply, not from the outbox"))
    ids = [message["Message-ID"] for message in mailbox.messages]
    assert ids[0] == ids[1] == "<gf41-mhx2k.outbox@gomflow.example>"
    assert len(set(ids)) == 3 and ids[3].endswith("@gomflow.example>")


async def test_discord_shows_a_repeated_outbox_message_once_by_its_nonce() -> None:
    fake = FakeDiscordAPI()
    await fake.start()
    channel = DiscordChannel(DISCORD_TOKEN, fake.base_url)
    try:
        await channel.send("101", Rendered("Restock!"), key="gf7-mhx2k")
        await channel.send("101", Rendered("Restock!"), key="gf7-mhx2k")  # sent again after a crash
        await channel.send("101", Rendered("Restock!"), key="gf8-mhx2k")
    finally:
        await channel.close()
        await fake.stop()
    assert fake.posted == [("dm101", "gf7-mhx2k"), ("dm101", "gf7-mhx2k"), ("dm101", "gf8-mhx2k")]
    assert fake.delivered == [("dm101", "Restock!"), ("dm101", "Restock!")]  # one each
