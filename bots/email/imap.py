"""Email in from a mailbox: read over IMAP (aioimaplib), with IDLE where the server has it
and polling otherwise.

Each message not yet taken is fetched without marking it read (``BODY.PEEK[]``), handed to
the email adapter, which records it by its Message-ID, and only then flagged ``GomflowTaken``
on the server: a message is never dropped between the mailbox and the database, and one
fetched twice (a crash before the flag) is recognised by its Message-ID. The flag is
gomflow's own keyword, so a person reading the same mailbox does not hide mail from it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aioimaplib

log = logging.getLogger(__name__)

TAKEN = "GomflowTaken"  # the keyword (an IMAP atom) set on a message once it is recorded
BACKOFF = 60.0  # seconds: the longest wait before connecting again after a failure

Receive = Callable[[bytes, str | None], Awaitable[None]]


class ImapError(Exception):
    """The server refused a command; the reader logs it and connects again."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    username: str
    password: str
    name: str = "INBOX"
    use_ssl: bool = True
    poll_seconds: float = 60.0


class ImapReader:
    def __init__(self, mailbox: Mailbox, receive: Receive) -> None:
        self.mailbox = mailbox
        self._receive = receive
        self._client: Any = None
        self.idles = False  # whether the server has IDLE (else it is polled)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ImapReader]:
        """Connect and take what is waiting (raises if the mailbox cannot be reached), then
        keep taking new mail until the block ends."""
        await self._connect()
        await self.take_new()
        task = asyncio.create_task(self._follow(), name="imap")
        try:
            yield self
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self._close()

    async def take_new(self) -> int:
        """Fetch, record and flag every message not yet taken; returns how many."""
        found = await self._call(self._client.uid_search("UNKEYWORD", TAKEN, charset=None))
        uids = [u for u in b" ".join(_bytes(line) for line in found.lines[:-1]).split() if u.isdigit()]
        for uid in uids:
            fetched = await self._call(self._client.uid("fetch", uid.decode(), "(BODY.PEEK[])"))
            raw = next((bytes(line) for line in fetched.lines if isinstance(line, bytearray)), None)
            if raw is None:
                continue
            await self._receive(raw, None)
            await self._call(self._client.uid("store", uid.decode(), "+FLAGS", f"({TAKEN})"))
        return len(uids)

    async def _follow(self) -> None:
        failures = 0
        while True:
            try:
                await (self._idle() if self.idles else asyncio.sleep(self.mailbox.poll_seconds))
                await self.take_new()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the outermost boundary of the reader: log, wait, reconnect
                failures += 1
                log.warning("email: reading the mailbox failed (%s); connecting again", exc)
                await asyncio.sleep(min(BACKOFF, 0.5 * 2 ** min(failures, 10)))
                await self._close()
                try:
                    await self._connect()
                except Exception as again:
                    log.warning("email: the mailbox is unreachable (%s)", again)

    async def _idle(self) -> None:
        """Wait for the server to say something arrived, or ``poll_seconds`` at most."""
        idle = await self._client.idle_start(timeout=self.mailbox.poll_seconds)
        try:
            await self._client.wait_server_push(timeout=self.mailbox.poll_seconds)
        except TimeoutError:
            pass
        finally:
            self._client.idle_done()
            await asyncio.wait_for(idle, 30)

    async def _connect(self) -> None:
        box = self.mailbox
        if box.use_ssl:
            client = aioimaplib.IMAP4_SSL(
                host=box.host, port=box.port, ssl_context=ssl.create_default_context()
            )
        else:
            client = aioimaplib.IMAP4(host=box.host, port=box.port)
        self._client = client
        await client.wait_hello_from_server()
        await self._call(client.login(box.username, box.password))
        await self._call(client.select(box.name))
        self.idles = bool(client.has_capability("IDLE"))
        log.info("email: reading %s on %s (%s)", box.name, box.host, "IDLE" if self.idles else "polling")

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await asyncio.wait_for(client.logout(), 5)
        except Exception:  # closing a connection that may already be gone
            log.debug("email: IMAP logout failed", exc_info=True)

    @staticmethod
    async def _call(command: Awaitable[Any]) -> Any:
        response = await command
        if response.result != "OK":
            raise ImapError(f"{response.result}: {_bytes(response.lines[-1])[:200]!r}")
        return response


def _bytes(line: bytes | bytearray | str) -> bytes:
    return line.encode() if isinstance(line, str) else bytes(line)
