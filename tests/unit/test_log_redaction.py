"""The log filter: configured secrets, bot tokens, phone numbers and addresses never reach a log."""

from __future__ import annotations

import io
import logging

import pytest

from core.privacy.redact import Redactor, basic_credentials, install, secrets_of, withhold_payloads

# a made-up bot token in Telegram's shape, joined here so it is never mistaken for a real one
TOKEN = "7123456789:" + "AAH9x_Secret-Token-Value-0123456789abcd"


@pytest.mark.parametrize(
    ("line", "gone", "kept"),
    [
        (f"HTTP Request: POST https://api.telegram.org/bot{TOKEN}/getUpdates", TOKEN, "/getUpdates"),
        ("sending to whatsapp:+6591234567 failed", "91234567", "…67"),
        ("Query Params: {'To': '+65 9123 4567'}", "9123", "…67"),
        ("data: To=%2B6591234567&Body=hi", "6591234567", "…67"),
        ("email from Ana.Lim@Example.com handled", "Ana.Lim", "A…@Example.com"),
        ("GET /unsubscribe?to=ana%40example.com", "ana%40", "a…%40example.com"),
        (
            "order SVT-FML-12 placed at 2026-12-02 13:05 by user 1234567",
            "",
            "SVT-FML-12 placed at 2026-12-02",
        ),
    ],
)
def test_personal_values_are_masked_and_the_rest_kept(line: str, gone: str, kept: str) -> None:
    cleaned = Redactor()(line)
    assert kept in cleaned
    if gone:
        assert gone not in cleaned


def test_configured_secrets_are_named_by_their_settings_and_blanked() -> None:
    secrets = secrets_of(
        [
            ("stripe_api_key", "sk_test_abcdef123456"),
            ("data_keys", "new:bmV3a2V5bmV3a2V5bmV3a2V5,old:b2xka2V5b2xka2V5"),
            ("http_host", "127.0.0.1"),
            ("hitpay_salt", "salty-salt"),
        ]
    )
    redact = Redactor([*secrets, basic_credentials("AC123", "twilio-auth-token")])
    line = (
        "key sk_test_abcdef123456 ring bmV3a2V5bmV3a2V5bmV3a2V5 salt salty-salt on 127.0.0.1 "
        f"Authorization: Basic {basic_credentials('AC123', 'twilio-auth-token')}"
    )
    cleaned = redact(line)
    for secret in (
        "sk_test_abcdef123456",
        "bmV3a2V5",
        "salty-salt",
        basic_credentials("AC123", "twilio-auth-token"),
    ):
        assert secret not in cleaned
    assert "127.0.0.1" in cleaned and cleaned.count("[secret]") == 4


def test_the_installed_filter_cleans_arguments_and_tracebacks_of_every_library() -> None:
    root = logging.getLogger("redaction-test-root")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    install(["webhook-secret-value"], root)
    try:
        child = logging.getLogger("redaction-test-root.httpx")  # a library's logger propagating up
        child.debug(
            "POST %s with %s", f"https://api.telegram.org/bot{TOKEN}/sendMessage", "webhook-secret-value"
        )
        try:
            raise ConnectionError(f"cannot reach https://api.telegram.org/bot{TOKEN}/getMe for +6598765432")
        except ConnectionError:
            child.exception("request failed")
    finally:
        root.removeHandler(handler)
    written = stream.getvalue()
    assert "/sendMessage" in written and "request failed" in written and "ConnectionError" in written
    for secret in (TOKEN, "webhook-secret-value", "98765432"):
        assert secret not in written


def test_libraries_that_log_payloads_keep_their_words_without_the_payload() -> None:
    sent = (
        "Calling Bot API endpoint `sendMessage` with parameters `{'chat_id': 1, 'text': '88 Orchard Blvd'}`"
    )
    assert (
        withhold_payloads("telegram.Bot", sent)
        == "Calling Bot API endpoint `sendMessage` with parameters […]"
    )
    update = "Processing update Update(message=Message(text='/paid SVT-FML-1 DBS-TRF-99'))"
    assert withhold_payloads("telegram.ext.Application", update) == "Processing update Update[…]"
    assert "DBS" not in withhold_payloads("aiosqlite", "executing partial(<execute>, 'INSERT', ('DBS-1',))")
    assert withhold_payloads("gomflow.outbox", "sent {'a': 1}") == "sent {'a': 1}"  # our own words are ours
