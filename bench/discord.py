"""Discord benchmark: buyers ordering by slash command through the real adapter.

The loopback fake of Discord (gateway websocket and interaction routes, no rate limit)
sends N ``/order`` interactions at once, one per buyer, over the gateway; we time each from
the moment it is sent to its first response (the interaction callback Discord wants within
3 seconds) and to its final answer (the same callback, or the edit after a deferral). In
the same run, a bare discord.py bot that answers every interaction with a fixed message is
the floor. The two take turns for ``--rounds`` rounds (the figures of a shared machine move
a lot from one burst to the next); the table shows the round whose share of the floor is
the median, and every round's share. Run: ``python -m bench.discord``.

``--free-core`` measures the most gomflow could reach whatever its core did: the adapter
answers each ``/order`` of the burst with the reply of one real order placed beforehand
(its text and its buttons), and stores nothing; the command line, the deferral timer, the
reply's components and discord.py's part of the answer are all still done.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import discord

from bench.common import percentile, table
from bots.chat import ChatReply, ChatRequest
from bots.commands import BotContext
from bots.discord import adapter
from bots.discord.adapter import DiscordBot, find_gateway, point_at
from bots.dispatch import handle
from core import inbound
from core.config import Settings
from core.db.migrate import upgrade
from core.heap import settled_heap
from core.services.accounts import identify, register_gom
from main import bootstrap
from tests.fakes.discord_api import TOKEN, FakeDiscordAPI
from tests.fakes.discord_gateway import Gateway, Response

GUILD = "700000000000000007"
GOM = "800"
FIRST_BUYER = 10_000


async def drive(gw: Gateway, interactions: int) -> dict[str, Any]:
    """Send one ``/order`` per buyer at once; the rate and the latencies (ms) of the answers."""
    orders = [
        gw.slash(str(FIRST_BUYER + n), "order", {"code": "DROP", "item": "ALB", "qty": 1}, guild=GUILD)
        for n in range(interactions)
    ]
    start = time.monotonic()
    sent = [await gw.send(o) for o in orders]
    firsts: list[float] = []
    finals: list[Response] = []
    end = start
    for one in sent:
        responses = await gw.last(one.id, 1, timeout=600)
        if not responses:  # answered after Discord's deadline: refused, counted in "late"
            continue
        first = responses[0]
        final = first if first.type != 5 else (await gw.last(one.id, 2, timeout=600))[1]
        firsts.append(first.seconds * 1000)
        finals.append(final)
        end = max(end, one.at + final.seconds)
    return {
        "rate": len(finals) / max(end - start, 1e-9),
        "first": sorted(firsts),
        "final": sorted(f.seconds * 1000 for f in finals),
        "deferred": sum(1 for s in sent if s.responses and s.responses[0].type == 5),
        "late": gw.late,
        "answers": finals,
    }


@contextlib.contextmanager
def free_core(reply: ChatReply) -> Iterator[None]:
    """Every command answered with ``reply`` at no cost, and no interaction stored."""

    async def answer(_bot: BotContext, _request: ChatRequest, _actor: object = None) -> ChatReply:
        return reply

    async def admitted(*_args: object, **_kwargs: object) -> bool:
        return True

    async def finished(*_args: object, **_kwargs: object) -> None:
        return None

    with (
        mock.patch.object(adapter, "handle", answer),
        mock.patch.object(inbound, "admit", admitted),
        mock.patch.object(inbound, "finish", finished),
    ):
        yield


async def ours(interactions: int, core_free: bool = False) -> dict[str, Any]:
    fake = FakeDiscordAPI(global_limit=(1_000_000, 1.0))
    await fake.start()
    fake.gateway.add_guild(GUILD, GOM, [])
    with tempfile.TemporaryDirectory() as tmp:
        app = bootstrap(Settings(database_url=f"sqlite+aiosqlite:///{tmp}/discord.db"), write=lambda _: None)
        await upgrade(app.core.db)
        await register_gom(app.core.uow(), "discord", GOM, "Gina")
        bot = DiscordBot(app.bot, TOKEN, fake.base_url, guild_ready_timeout=0.1)
        try:
            async with bot.running():
                gw = fake.gateway
                cap = max(10, interactions * 2)
                for step in (
                    gw.slash(
                        GOM, "newgo", {"more": f'DROP "Drop" currency=SGD moq=1 cap={cap} deadline=+3d'}
                    ),
                    gw.slash(
                        GOM, "additem", {"code": "DROP", "item": "ALB", "price": "20", "details": '"Album"'}
                    ),
                    gw.slash(GOM, "paymethods", {"code": "DROP", "method": "manual"}),
                    gw.slash(GOM, "open", {"code": "DROP"}),
                ):
                    answer = await gw.interact(step)
                    assert "⚠️" not in answer.content, answer.content
                # buyers are known by the time they order (they opened the GO card first), as
                # in the Telegram benchmark: a first contact's sign-up is not what is measured
                await asyncio.gather(
                    *(
                        identify(
                            app.core.uow(),
                            "discord",
                            str(FIRST_BUYER + n),
                            f"User {FIRST_BUYER + n}",
                            f"user{FIRST_BUYER + n}",
                        )
                        for n in range(interactions)
                    )
                )
                if not core_free:
                    result = await drive(gw, interactions)
                else:
                    order = ChatRequest("discord", str(FIRST_BUYER - 1), "First buyer", "/order DROP ALB 1")
                    with free_core(await handle(app.bot, order)):
                        result = await drive(gw, interactions)
        finally:
            await app.core.close()
            await fake.stop()
    result["placed"] = sum(1 for a in result["answers"] if "⚠️" not in a.content)
    return result


async def floor(interactions: int) -> dict[str, Any]:
    """The least a discord.py bot can do per interaction: answer it with a fixed message."""
    fake = FakeDiscordAPI(global_limit=(1_000_000, 1.0))
    await fake.start()
    fake.gateway.add_guild(GUILD, GOM, [])
    point_at(fake.base_url)
    client = discord.Client(intents=discord.Intents.none(), guild_ready_timeout=0.1)
    connected = asyncio.Event()

    async def on_connect() -> None:
        connected.set()

    async def on_interaction(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("Thanks!", ephemeral=True)

    client.setup_hook = lambda: find_gateway(client)  # type: ignore[method-assign]
    client.on_connect = on_connect  # type: ignore[attr-defined]
    client.on_interaction = on_interaction  # type: ignore[attr-defined]
    try:
        async with client:
            task = asyncio.create_task(client.start(TOKEN))
            await asyncio.wait_for(connected.wait(), 60)
            with settled_heap():  # as the adapter does once connected: the same collector for both
                result = await drive(fake.gateway, interactions)
            await client.close()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await fake.stop()
    return result


async def bench(interactions: int, rounds: int, core_free: bool = False) -> dict[str, float]:
    runs: list[tuple[float, dict[str, Any], dict[str, Any]]] = []
    for _ in range(rounds):
        bare = await floor(interactions)
        mine = await ours(interactions, core_free)
        runs.append((_share(mine["rate"], bare["rate"]), bare, mine))
    _, bare, mine = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
    figures = {
        "interactions": interactions,
        "placed": mine["placed"],
        "rate": mine["rate"],
        "p99_first": percentile(mine["first"], 0.99),
        "p99_final": percentile(mine["final"], 0.99),
        "deferred": mine["deferred"],
        "late": max(run[2]["late"] for run in runs),
        "floor_rate": bare["rate"],
        "floor_p99": percentile(bare["first"], 0.99),
    }
    print(
        table(
            [
                ("cores", str(os.cpu_count())),
                ("gomflow's core", "free: one order's reply, nothing stored" if core_free else "real"),
                ("interactions (one /order per buyer, sent at once)", f"{interactions:,}"),
                (
                    "answered with the one order's reply" if core_free else "orders placed",
                    f"{mine['placed']:,}",
                ),
                ("gomflow: interactions per second", f"{mine['rate']:,.0f}"),
                (
                    "gomflow: p50 / p99 to the interaction response",
                    f"{percentile(mine['first'], 0.5):,.0f} / {figures['p99_first']:,.0f} ms",
                ),
                (
                    "gomflow: p50 / p99 to the final answer",
                    f"{percentile(mine['final'], 0.5):,.0f} / {figures['p99_final']:,.0f} ms",
                ),
                ("gomflow: deferred / past Discord's 3 s", f"{mine['deferred']:,} / {mine['late']:,}"),
                ("bare discord.py bot: interactions per second", f"{bare['rate']:,.0f}"),
                (
                    "bare discord.py bot: p50 / p99",
                    f"{percentile(bare['first'], 0.5):,.0f} / {figures['floor_p99']:,.0f} ms",
                ),
                ("bare discord.py bot: past Discord's 3 s", f"{bare['late']:,}"),
                ("gomflow as a share of the floor", _percent(_share(mine["rate"], bare["rate"]))),
                ("share of the floor, each round", " · ".join(_percent(run[0]) for run in runs)),
                ("past Discord's 3 s, the worst round", f"{figures['late']:,}"),
            ]
        ),
        flush=True,
    )
    return figures


def _share(rate: float, floor_rate: float) -> float:
    """gomflow's rate over the bare bot's; infinite when the bare bot answered none in time."""
    return rate / floor_rate if floor_rate else float("inf")


def _percent(share: float) -> str:
    return f"{share:.0%}" if share != float("inf") else "— (the bare bot answered none in time)"


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="Discord adapter against a bare discord.py bot")
    parser.add_argument("--interactions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="turns of the bare bot and gomflow")
    parser.add_argument(
        "--free-core", action="store_true", help="the adapter alone: every /order answered at no cost"
    )
    args = parser.parse_args(argv)
    return asyncio.run(bench(args.interactions, max(1, args.rounds), args.free_core))


if __name__ == "__main__":
    main()
