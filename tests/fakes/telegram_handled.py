"""When the bot has finished with the updates a test sent: the condition to wait for when an
update leaves nothing to see at the Bot API (a repeat ignored, chatter not answered, a
payment recorded).

python-telegram-bot runs the handler groups of one update in order, so a handler in a
group after the bot's own runs only once the bot's handler has returned (or failed).
"""

from __future__ import annotations

import asyncio
from collections import Counter

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from tests.fakes.telegram_api import FakeTelegram

AFTER_THE_BOT = 1_000  # a handler group later than any the bot uses


class HandledUpdates:
    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.handled: Counter[int] = Counter()
        self._changed = asyncio.Condition()

    def watch(self, application: Application) -> None:  # type: ignore[type-arg]
        application.add_handler(TypeHandler(Update, self._done), group=AFTER_THE_BOT)

    async def _done(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.handled[update.update_id] += 1
        async with self._changed:
            self._changed.notify_all()

    async def update(self, update_id: int, timeout: float = 60.0) -> None:
        """Wait until the bot has finished with the update ``update_id``."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.handled[update_id] > 0)

    async def all(self, timeout: float = 60.0) -> None:
        """Wait until every update pushed so far (each time it was pushed) has been handled."""

        def done() -> bool:
            return all(self.handled[i] >= n for i, n in Counter(self.fake.pushed).items())

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(done)
