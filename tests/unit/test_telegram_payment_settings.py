"""Settings and currency units behind paying on Telegram."""

from __future__ import annotations

import pytest

from core.config import TelegramSettings
from core.errors import PaymentError
from core.money import CURRENCIES
from core.services.telegram_payments import TELEGRAM_EXPONENTS, check_currency


def test_every_currency_we_price_in_counts_the_same_minor_units_on_telegram() -> None:
    # IDR has 2 digits on both sides (no sen shown, yet counted); VND, KRW and JPY have none
    assert {code: c.exponent for code, c in CURRENCIES.items()} == TELEGRAM_EXPONENTS
    for code in CURRENCIES:
        check_currency(code)


def test_a_currency_whose_units_differ_or_that_telegram_lacks_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(TELEGRAM_EXPONENTS, "IDR", 0)
    with pytest.raises(PaymentError, match="not available for IDR"):
        check_currency("IDR")
    monkeypatch.delitem(TELEGRAM_EXPONENTS, "VND")
    with pytest.raises(PaymentError, match="not available for VND"):
        check_currency("VND")


def test_the_provider_token_and_file_url_come_from_the_environment() -> None:
    settings = TelegramSettings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "1:abc",
            "TELEGRAM_PAYMENT_PROVIDER_TOKEN": "284685063:TEST:x",
            "TELEGRAM_FILE_BASE_URL": "http://127.0.0.1:8081/files/bot",
        }
    )
    assert settings.payment_provider_token == "284685063:TEST:x"
    assert settings.file_base_url == "http://127.0.0.1:8081/files/bot"
    assert TelegramSettings.from_env({}).payment_provider_token is None


@pytest.mark.parametrize(
    ("api", "files"),
    [
        ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot"),
        ("http://127.0.0.1:8081/bot{token}", "http://127.0.0.1:8081/file/bot{token}"),
    ],
)
def test_the_file_url_follows_the_api_url(api: str, files: str) -> None:
    assert TelegramSettings(bot_token="1:abc", api_base_url=api).file_base_url == files
