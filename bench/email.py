"""Email benchmark: orders by email through gomflow's SMTP listener, against an echo floor.

N buyers each send ``ORDER SVT-FML ALB 1`` over SMTP (aiosmtplib), ``--concurrency`` at a
time; each is timed from the start of its SMTP session to the moment gomflow's threaded
answer reaches the local relay. The floor is an aiosmtpd listener that answers every
message at once through the same relay, with no database and no command: the cost of the
SMTP round trips alone. Run: ``python -m bench.email``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import tempfile
import time
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP

from bench.common import percentile, table
from bots.chat import ChatReply
from bots.email.adapter import EmailBot
from bots.email.reply import threaded_reply
from core.config import Settings
from core.db.migrate import upgrade
from main import bootstrap
from platforms import PLATFORMS
from tests.conftest import open_go
from tests.fakes.mail import GOMFLOW, Relay, mail, relay


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TimedRelay(Relay):
    """The relay, noting when each answer arrived (by the Message-ID it answers)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        self.arrived[str(self.messages[-1]["In-Reply-To"])] = time.monotonic()
        return answer


async def drive(port: int, out: TimedRelay, count: int, concurrency: int) -> tuple[float, list[float]]:
    """Send ``count`` orders, ``concurrency`` at a time; (messages per second, latencies in ms)."""
    messages = [mail(f"fan{n}@example.test", "ORDER SVT-FML ALB 1") for n in range(count)]
    sent: dict[str, float] = {}
    gate = asyncio.Semaphore(concurrency)

    async def send(message: EmailMessage) -> None:
        async with gate:
            sent[str(message["Message-ID"])] = time.monotonic()
            await aiosmtplib.send(message, hostname="127.0.0.1", port=port)

    start = time.monotonic()
    await asyncio.gather(*(send(m) for m in messages))
    deadline = time.monotonic() + 600
    while len(out.arrived) < count:
        assert time.monotonic() < deadline, "answers did not all arrive"
        await asyncio.sleep(0.01)
    seconds = max(out.arrived.values()) - start
    return count / seconds, sorted((out.arrived[key] - at) * 1000 for key, at in sent.items())


async def ours(count: int, concurrency: int) -> tuple[float, list[float]]:
    relay_port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp}/email.db",
            smtp_host="127.0.0.1",
            smtp_port=relay_port,
            smtp_from=GOMFLOW,
            smtp_starttls=False,
            email_listen_host="127.0.0.1",
            email_listen_port=0,
        )
        app = bootstrap(settings, write=lambda _: None)
        await upgrade(app.core.db)
        await open_go(app, cap=count * 2, items=('ALB 25.90 "FML album"',))
        (platform,) = [p for p in PLATFORMS if p.name == "email"]
        assert platform.inbound is not None
        bot = platform.inbound(app.wiring, app.bot, app.channels["email"])
        assert isinstance(bot, EmailBot)
        out = TimedRelay()
        try:
            with relay(relay_port, out):
                async with bot.running():
                    return await drive(bot.port, out, count, concurrency)
        finally:
            await app.core.close()


class Echo:
    """The floor: answer each message in its thread at once, nothing else."""

    def __init__(self, relay_port: int) -> None:
        self.relay_port = relay_port

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import email
        import email.policy

        asked = email.message_from_bytes(envelope.content, policy=email.policy.default)
        answer = threaded_reply(
            GOMFLOW,
            str(asked["From"]),
            ChatReply("Order placed."),
            subject=str(asked["Subject"]),
            references=[str(asked["Message-ID"])],
        )
        await aiosmtplib.send(answer, hostname="127.0.0.1", port=self.relay_port)
        return "250 OK"


async def echo_floor(count: int, concurrency: int) -> tuple[float, list[float]]:
    relay_port = _free_port()
    out = TimedRelay()
    loop = asyncio.get_running_loop()
    with relay(relay_port, out):
        server = await loop.create_server(lambda: SMTP(Echo(relay_port), loop=loop), "127.0.0.1", 0)
        try:
            return await drive(int(server.sockets[0].getsockname()[1]), out, count, concurrency)
        finally:
            server.close()
            await server.wait_closed()


async def bench(count: int, concurrency: int) -> dict[str, float]:
    floor_rate, floor_latencies = await echo_floor(count, concurrency)
    rate, latencies = await ours(count, concurrency)
    figures = {"messages": count, "rate": rate, "floor_rate": floor_rate, "p99": percentile(latencies, 0.99)}
    print(
        table(
            [
                ("cores", str(os.cpu_count())),
                ("orders by email (one per buyer)", f"{count:,}"),
                ("SMTP sessions at once", str(concurrency)),
                ("gomflow: messages answered per second", f"{rate:,.0f}"),
                (
                    "gomflow: p50 / p99 send-to-answer",
                    f"{percentile(latencies, 0.5):,.0f} / {figures['p99']:,.0f} ms",
                ),
                ("echo floor: messages per second", f"{floor_rate:,.0f}"),
                (
                    "echo floor: p50 / p99",
                    f"{percentile(floor_latencies, 0.5):,.0f} / {percentile(floor_latencies, 0.99):,.0f} ms",
                ),
                ("gomflow as a share of the floor", f"{rate / floor_rate:.0%}"),
            ]
        ),
        flush=True,
    )
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="Orders by email against an echo floor")
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8, help="SMTP sessions at once")
    args = parser.parse_args(argv)
    return asyncio.run(bench(args.messages, args.concurrency))


if __name__ == "__main__":
    main()
