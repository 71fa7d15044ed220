"""What bounds two of the order path's shares on SQLite, measured by taking one part away.

* The chat path (``/order`` through the command table) against the desk alone: the same
  rounds with the reply's template answered by its finished text, with the sender's
  lookup answered by the person already known, and with both; each a drop of its own on
  the round's fresh empty database, beside a drop of the desk alone.
* A table holding ``--existing`` orders against an empty one: the desk with the index that
  finds a buyer's orders (``ix_orders_buyer_id``, which /myorders, bundled payments and
  people's data read) and without it. Its entries go where each buyer's orders are, so a
  drop's orders land on pages all over it, where every other index an order writes to
  grows at its end.

What is taken away is what the real figure pays for and a user needs, so each share
printed here is a ceiling, not a proposal. Run: ``python -m bench.bounds``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from unittest import mock

from bench.common import seed_drop, table
from bench.scale import SqliteSetup, chat_drop, median_and_each, room, sqlite_database
from bench.worker import desk_drop
from core.db.raw import Plan
from core.render import Rendered
from core.services import ordering
from core.services.accounts import Actor, Caller
from templates import JinjaRenderer

BUYER_INDEX = "ix_orders_buyer_id"
FREE = ("template", "lookup")
CHAT_CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("the chat path as it is", ()),
    ("its reply's template free", ("template",)),
    ("its sender's lookup free", ("lookup",)),
    ("both free", FREE),
)


@contextlib.contextmanager
def free(parts: Sequence[str], actors: Sequence[Actor]) -> Iterator[None]:
    """Every order's reply answered by the first one's finished text, and/or each sender
    found at no cost among ``actors``."""
    with contextlib.ExitStack() as stack:
        if "template" in parts:
            rendered, first = JinjaRenderer.render, list[Rendered]()

            def render(
                self: JinjaRenderer,
                template: str,
                channel: str,
                context: Mapping[str, Any],
                language: str = "en",
            ) -> Rendered:
                if template != "order_placed":
                    return rendered(self, template, channel, context, language)
                if not first:
                    first.append(rendered(self, template, channel, context, language))
                return first[0]

            stack.enter_context(mock.patch.object(JinjaRenderer, "render", render))
        if "lookup" in parts:
            # ``chat_drop`` writes as each buyer's name: that is the id a caller arrives with
            known = {actor.name: actor for actor in actors}

            def found(caller: Caller, _now: object) -> Plan[Actor]:
                return known[caller.external_id]
                yield  # a plan that runs no statement

            stack.enter_context(mock.patch.object(ordering, "caller_plan", found))
        yield


async def chat_round(setup: SqliteSetup, round_no: int, concurrency: int) -> list[float]:
    """The desk alone, then each chat case, each on a GO of its own: the chat shares."""
    core, actors, wishes = setup.app.core, setup.actors, setup.wishes
    codes = [f"DESK-{round_no}", *(f"CHAT{n}-{round_no}" for n in range(len(CHAT_CASES)))]
    for code in codes:
        await seed_drop(core, room(code, len(actors)))
    desk = await desk_drop(core, actors, wishes, codes[0], concurrency)
    shares = []
    for (_, parts), code in zip(CHAT_CASES, codes[1:], strict=True):
        with free(parts, actors):
            chat = await chat_drop(setup.app, actors, wishes, code, concurrency)
        shares.append(chat.rate / desk.rate if desk.rate else 0.0)
    return shares


def drop_buyer_index(path: str) -> None:
    connection = sqlite3.connect(path)
    connection.execute(f"DROP INDEX IF EXISTS {BUYER_INDEX}")
    connection.close()


async def existing_rounds(
    buyers: int, existing: int, concurrency: int, rounds: int
) -> dict[bool, list[float]]:
    """Per round, the full table's desk rate over a fresh empty one's: with the buyer index
    (first) and without it (the index dropped from both)."""
    shares: dict[bool, list[float]] = {True: [], False: []}
    async with sqlite_database(buyers, existing) as full:
        for indexed in (True, False):
            if not indexed:
                drop_buyer_index(full.path)
            for round_no in range(rounds):
                async with sqlite_database(buyers, 0) as empty:
                    if not indexed:
                        drop_buyer_index(empty.path)
                    rates = []
                    for setup in (empty, full):
                        code = f"DROP{int(indexed)}-{round_no}"
                        await seed_drop(setup.app.core, room(code, buyers))
                        run = await desk_drop(setup.app.core, setup.actors, setup.wishes, code, concurrency)
                        rates.append(run.rate)
                shares[indexed].append(rates[1] / rates[0] if rates[0] else 0.0)
    return shares


async def bench(buyers: int, existing: int, concurrency: int, rounds: int) -> dict[str, Any]:
    by_case: list[list[float]] = [[] for _ in CHAT_CASES]
    for round_no in range(rounds):
        async with sqlite_database(buyers, 0) as setup:
            for case, share in zip(by_case, await chat_round(setup, round_no, concurrency), strict=True):
                case.append(share)
    full = await existing_rounds(buyers, existing, concurrency, rounds) if existing else {}
    rows = [
        (f"chat path over the desk alone: {name}", median_and_each(case))
        for (name, _), case in zip(CHAT_CASES, by_case, strict=True)
    ]
    if full:
        rows += [
            (f"{existing:,} orders over an empty table, with {BUYER_INDEX}", median_and_each(full[True])),
            (f"{existing:,} orders over an empty table, without it", median_and_each(full[False])),
        ]
    print(f"{buyers:,} buyers, {concurrency} at once, {rounds} round(s): median (each round)")
    print(table(rows), flush=True)
    return {
        "chat": {name: statistics.median(case) for (name, _), case in zip(CHAT_CASES, by_case, strict=True)},
        "existing": {indexed: statistics.median(shares) for indexed, shares in full.items()},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--buyers", type=int, default=5000)
    parser.add_argument(
        "--existing", type=int, default=1_000_000, help="orders already in the table (0: skip)"
    )
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    return asyncio.run(bench(args.buyers, args.existing, args.concurrency, max(1, args.rounds)))


if __name__ == "__main__":
    main()
