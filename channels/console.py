"""The console transport: messages for console users are printed in the terminal."""

from __future__ import annotations

from collections.abc import Callable

from core.render import Rendered


class ConsoleChannel:
    name = "console"

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    async def send(self, address: str, message: Rendered, *, key: str = "") -> None:
        self._write(f"📨 to {address}: " + message.text.replace("\n", "\n   "))
