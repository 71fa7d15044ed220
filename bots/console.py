"""The console chat: one person plays GOM and buyers in a terminal, typing bot commands.

``/as gom alice`` or ``/as buyer bob`` switches who is speaking; a number picks one of
the buttons under the last reply. Everything else goes through the command table.
In numbered mode the console behaves as a platform without buttons (SMS, WhatsApp):
buttons are written as "Reply 1 for …" and the menu is kept in the database
(``bots.numbered``), not in this object.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

from bots.chat import Button, ChatReply, ChatRequest
from bots.commands import BotContext
from bots.dispatch import handle
from bots.numbered import handle_numbered
from core.errors import GomflowError
from core.services.accounts import identify, register_gom

CHANNEL = "console"
HELP = "Switch who you are with /as gom NAME or /as buyer NAME, then type commands like /help."


class ConsoleChat:
    def __init__(
        self,
        bot: BotContext,
        write: Callable[[str], None],
        export_dir: Path = Path("exports"),
        *,
        numbered: bool = False,
        prompt: Callable[[str], None] | None = None,
    ) -> None:
        self._bot = bot
        self._numbered = numbered
        self._write = write
        # in a terminal: shows who speaks next, before each line is typed (no newline)
        self._prompt = prompt
        self._export_dir = export_dir
        self.speaker: str | None = None
        self._buttons: list[Button] = []

    async def run(self, lines: AsyncIterator[str]) -> None:
        self._write("gomflow console chat. " + HELP)
        self._ask()
        async for line in lines:
            await self.feed(line)
            self._ask()

    def _ask(self) -> None:
        if self._prompt is not None:
            self._prompt(f"{self.speaker or 'nobody'}> ")

    async def feed(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if text.split()[0].lower() == "/as":
            await self._switch(text.split()[1:])
            return
        if self.speaker is None:
            self._write(HELP)
            return
        if not self._numbered and text.isdigit() and 1 <= int(text) <= len(self._buttons):
            button = self._buttons[int(text) - 1]
            if button.url:
                self._write(f"(opens {button.url})")
                return
            text = button.command or text
        request = ChatRequest(
            channel=CHANNEL,
            user_id=self.speaker,
            name=self.speaker,
            text=text,
            handle=self.speaker,
            chat_id=self.speaker,
        )
        if self._numbered:
            self._show(await handle_numbered(self._bot, request))
        else:
            self._show(await handle(self._bot, request))

    async def _switch(self, words: list[str]) -> None:
        if len(words) != 2 or words[0].lower() not in {"gom", "buyer"}:
            self._write("Usage: /as gom NAME  or  /as buyer NAME")
            return
        role, name = words[0].lower(), words[1][:60]
        try:
            if role == "gom":
                await register_gom(self._bot.core.uow(), CHANNEL, name, name)
            else:
                await identify(self._bot.core.uow(), CHANNEL, name, name, name)
        except GomflowError as refusal:
            self._write(f"⚠️ {refusal.message}")
            return
        self.speaker = name
        self._buttons = []
        self._write(f"You are now {name} ({role}).")

    def _show(self, reply: ChatReply) -> None:
        self._write(f"gomflow → {self.speaker}: " + reply.text.replace("\n", "\n   "))
        if reply.document is not None:
            self._export_dir.mkdir(parents=True, exist_ok=True)
            path = self._export_dir / reply.document.filename
            path.write_bytes(reply.document.content)
            self._write(f"   (saved {path})")
        if reply.image is not None:
            self._export_dir.mkdir(parents=True, exist_ok=True)
            path = self._export_dir / "gomflow-image.png"
            path.write_bytes(reply.image)
            self._write(f"   (image saved to {path})")
        # a copy button has nothing to run here: what it would copy is in the text
        self._buttons = [button for row in reply.buttons for button in row if button.command or button.url]
        for number, button in enumerate(self._buttons, start=1):
            self._write(f"   [{number}] {button.label}")
