"""A whole flow through a real ``gomflow run`` at DEBUG, then the log is searched for every
secret and personal value the flow used: none may be there."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
from pathlib import Path

from core.config import Settings
from core.db.migrate import upgrade
from main import bootstrap
from tests.conftest import open_go, say
from tests.e2e.test_command_line import free_port, spawn_gomflow_run
from tests.fakes.telegram_api import FakeTelegram
from tests.images import screenshot

# a made-up bot token in Telegram's shape, joined here so it is never mistaken for a real one
TOKEN = "7123456789:" + "AAH9xQk2Lm3Np4Rs5Tu6Vw7Xy8Za9Bc0De1"
DATA_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
SECRETS = {
    "GOMFLOW_DATA_KEY": DATA_KEY,
    "GOMFLOW_SECRET_KEY": "unsubscribe-signing-secret-42",
    "STRIPE_API_KEY": "sk_test_51LogPrivacyStripeKey",
    "STRIPE_WEBHOOK_SECRET": "whsec_LogPrivacyWebhookSecret",
    "HITPAY_API_KEY": "hitpay-api-key-for-the-log-test",
    "HITPAY_SALT": "hitpay-salt-for-the-log-test",
    "TELEGRAM_WEBHOOK_SECRET": "telegram-webhook-secret-value",
}
PHONE, PAYNOW = "+6591234567", "+6587654321"
RECIPIENT, LINE1, POSTAL = "Tan Mei Ling", "88 Orchard Boulevard #12-34", "248650"
REFERENCE = "DBS-TRF-99AB27"
EMAIL = "mei.ling@example.com"


async def test_a_debug_log_of_a_whole_flow_names_no_secret_and_no_personal_value(tmp_path: Path) -> None:
    fake = FakeTelegram(token=TOKEN)
    await fake.start()
    url = f"sqlite+aiosqlite:///{tmp_path}/gomflow.db"
    env = dict(
        os.environ,
        GOMFLOW_DATABASE_URL=url,
        GOMFLOW_HTTP_PORT=str(free_port()),
        GOMFLOW_LOG_LEVEL="DEBUG",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=fake.base_url,
        **SECRETS,
    )
    setup = bootstrap(Settings(database_url=url, data_keys=DATA_KEY), write=lambda _: None)
    await upgrade(setup.core.db)
    await open_go(setup, moq=1)
    assert "⚠️" not in (await say(setup, "gina", f"/paymethods SVT-FML paynow:{PAYNOW} manual")).text
    await setup.core.close()

    log = tmp_path / "run.log"
    process = await spawn_gomflow_run(tmp_path, env, log)
    buyer = FakeTelegram.user(4242, "Mei", "meiling")
    try:
        steps = [
            "/start",
            "/order SVT-FML ALB:A 1",
            f'/address add name="{RECIPIENT}" phone={PHONE} line1="{LINE1}" postal={POSTAL} country=SG',
            "/addresses",
            f"/paid SVT-FML-1 {REFERENCE}",
            f"/link {EMAIL}",
        ]
        for n, text in enumerate(steps, start=1):
            fake.send_text(buyer, text)
            await fake.wait_until(lambda n=n: len(fake.chat(4242)) >= n, timeout=120)
        fake.send_photo(buyer, screenshot(exif=True), caption="/paid SVT-FML-1")
        await fake.wait_until(lambda: len(fake.chat(4242)) >= len(steps) + 1, timeout=120)
        assert "Saved" in fake.chat(4242)[2].shown or "address" in fake.chat(4242)[2].shown.lower()
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
        await fake.stop()

    written = log.read_text(encoding="utf-8")
    assert "DEBUG" in written and "sendMessage" in written  # it did log, and in detail
    personal = [PHONE, "91234567", PAYNOW, "87654321", RECIPIENT, "Orchard Boulevard", POSTAL, REFERENCE]
    personal += [EMAIL, "mei.ling", TOKEN, TOKEN.split(":")[1], *SECRETS.values()]
    leaked = [value for value in personal if value in written]
    assert not leaked, f"in the log: {leaked}"
