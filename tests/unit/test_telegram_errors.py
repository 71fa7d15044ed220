"""One translation of python-telegram-bot's errors, for the outbox and the adapter alike."""

from __future__ import annotations

from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut

from channels.base import DeliveryError, MessageRefused, RecipientUnreachable
from channels.telegram import delivery_error


def test_a_timeout_or_network_trouble_is_retried_without_a_wait_from_telegram() -> None:
    for exc in (TimedOut("no answer"), NetworkError("Bad Gateway")):
        outcome = delivery_error(exc)
        assert isinstance(outcome, DeliveryError) and outcome.retry_after is None
        assert str(outcome).startswith("Telegram unreachable")


def test_a_blocked_bot_or_a_missing_chat_gives_up_on_the_recipient() -> None:
    for exc in (Forbidden("Forbidden: bot was blocked by the user"), BadRequest("Chat not found")):
        assert isinstance(delivery_error(exc), RecipientUnreachable)


def test_a_refusal_of_the_message_itself_is_not_retried() -> None:
    outcome = delivery_error(BadRequest("Message text is empty"))
    assert isinstance(outcome, MessageRefused) and str(outcome) == "Message text is empty"


def test_another_error_is_retried_with_telegrams_words() -> None:
    outcome = delivery_error(TelegramError("Conflict"))
    assert type(outcome) is DeliveryError and str(outcome) == "Conflict"
