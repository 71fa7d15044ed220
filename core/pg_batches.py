"""The order desk's batches on PostgreSQL: one server-side call places them all.

Done statement by statement, an order costs about nine round trips, and a batch holds
the group order's row lock for all of them, so workers take turns on a hot GO. Here
Python does what needs no lock (read the catalogue once per batch, resolve lines, check
prices, compute totals) and sends the rest of the batch to ``gomflow_place_orders`` in
one call. The function (migration ``i1907``) writes each order's own rows first and
takes the GO's, the items' and the quotas' units last, for the whole batch in one
conditional UPDATE each, so the GO row is held only for those statements and the
commit; when the batch's total does not fit, it decides order by order in arrival
order under the lock, with the refusal's numbers read there.

What cannot go to the server runs before it in the same transaction: a sender lookup
(``who``) and a ``RunPlan``; orders queued before a ``RunPlan`` are placed before it
runs, so every command still sees the batch's earlier writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.db.raw import Plan, Statement, run_asyncpg
from core.desk import (
    ATTEMPTS,
    KEEP_LANGUAGE,
    Command,
    Outcome,
    PlaceOrder,
    RunPlan,
    SenderUnknown,
    catalogue_of,
    check_prices,
)
from core.errors import AlreadyClaimed, AlreadyHandled, CatalogueChanged, GomflowError
from core.gate import gate_plan
from core.order_view import view_of
from core.reservations import (
    NO_LIMIT,
    CatalogueItem,
    GoFacts,
    PlacedOrder,
    ResolvedLine,
    group_order_refusal,
    quota_refusal,
    resolve_lines,
    stock_refusal,
    totals,
)
from core.status import OrderStatus
from core.views import OrderView

PLACE_ORDERS = "SELECT gomflow_place_orders($1::jsonb, $2)"


@dataclass(slots=True)
class _Queued:
    """An order waiting for the server call, with what its answer is read against."""

    index: int
    command: PlaceOrder
    attempt: int = 1
    go: GoFacts | None = None
    lines: list[ResolvedLine] = field(default_factory=list)
    refusal: GomflowError | None = None  # refused in Python: the entry only marks its update


@dataclass(slots=True)
class _Placed:
    """An order the server placed; its reply is built once the transaction has committed."""

    order: _Queued
    answer: dict[str, Any]


def _keep_language_plan(language: str, buyer_id: int) -> Plan[None]:
    yield Statement(KEEP_LANGUAGE, (language, buyer_id))


async def run_batch(connection: Any, commands: list[Command], now: datetime) -> list[Outcome]:
    """One batch in one transaction on an asyncpg connection; an outcome per command.

    The transaction holds the hot GO row from the function's last statements to the
    commit, so the replies to placed orders (money and deadlines formatted) are built
    after the commit, not while other workers wait for the row."""
    batch = _Batch(connection, now)
    async with connection.transaction():
        outcomes = await batch.run(commands)
    return [batch.view(o.order, o.answer) if isinstance(o, _Placed) else o for o in outcomes]


class _Batch:
    def __init__(self, connection: Any, now: datetime) -> None:
        self._connection = connection
        self._now = now
        self._catalogues: dict[str, tuple[GoFacts, list[CatalogueItem]] | GomflowError] = {}

    async def run(self, commands: list[Command]) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(commands)
        queued: list[_Queued] = []
        for index, command in enumerate(commands):
            if isinstance(command, RunPlan):
                await self._place(queued, outcomes)
                queued = []
                try:
                    outcomes[index] = await run_asyncpg(self._connection, command.plan(self._now))
                except GomflowError as refusal:
                    outcomes[index] = refusal
                continue
            if command.who is not None:  # before anything is written: unknown means nothing happened
                try:
                    buyer = await run_asyncpg(self._connection, command.who(self._now))
                except GomflowError as refusal:
                    outcomes[index] = refusal
                    continue
                if buyer is None:
                    outcomes[index] = SenderUnknown("identify the sender first")
                    continue
                command = command._replace(
                    buyer_id=buyer.user_id, buyer_name=buyer.name, who=None, language=buyer.language
                )
            queued.append(_Queued(index, command))
        await self._place(queued, outcomes)
        return outcomes

    async def _place(self, queued: list[_Queued], outcomes: list[Outcome]) -> None:
        """Send the queued orders in one call; once more for those a GOM's edit refused."""
        while queued:
            entries = [entry for order in queued if (entry := await self._entry(order)) is not None]
            answers: list[dict[str, Any]] = []
            if entries:
                answers = await self._connection.fetchval(PLACE_ORDERS, json.dumps(entries), self._now)
                if isinstance(answers, str):  # a bare connection; SQLAlchemy's decodes jsonb itself
                    answers = json.loads(answers)
            again: list[_Queued] = []
            replies = iter(answers)
            for order in queued:
                sent = order.refusal is None or order.command.handles is not None
                outcome = self._outcome(order, next(replies) if sent else None)
                if isinstance(outcome, CatalogueChanged) and order.attempt < ATTEMPTS:
                    self._catalogues.pop(order.command.go_code.strip().upper(), None)
                    command = order.command._replace(claim=None, handles=None)  # both done once
                    again.append(_Queued(order.index, command, order.attempt + 1))
                    continue
                outcomes[order.index] = outcome
                if isinstance(outcome, _Placed):
                    await self._keep_language(order)
            queued = again

    async def _keep_language(self, order: _Queued) -> None:
        """A buyer with no language of their own reads the GO's from their first order in it."""
        go, command = order.go, order.command
        if go is not None and go.language is not None and command.language is None and not command.new_buyer:
            await run_asyncpg(self._connection, _keep_language_plan(go.language, command.buyer_id))

    async def _entry(self, order: _Queued) -> dict[str, Any] | None:
        """The order as the server function reads it (None: nothing to send)."""
        command = order.command
        entry: dict[str, Any] = {}
        if command.handles is not None:
            entry["handles"] = list(command.handles)
            if command.stores is not None:
                entry["stores"] = command.stores
        try:
            go, items = await self._catalogue(command.go_code.strip().upper())
            lines = resolve_lines(go, items, list(command.requests))
            check_prices(go, lines, dict(command.expected_prices))
            if order.attempt == 1 and go.gated and command.placed_by is None:
                await run_asyncpg(
                    self._connection, gate_plan(go.id, go.code, command.buyer_id, command.requests)
                )
        except GomflowError as refusal:
            order.refusal = refusal
            return entry or None
        order.go, order.lines = go, lines
        units = sum(line.quantity for line in lines)
        entry.update(
            go=go.id,
            code=go.code,
            version=go.catalogue_version,
            limit=NO_LIMIT if go.per_buyer_limit is None else go.per_buyer_limit,
            units=units,
            total=sum(line.quantity * line.unit_price_minor for line in lines),
            currency=go.currency,
            channel=command.channel,
            due=(self._now + timedelta(hours=go.payment_window_hours)).isoformat(),
            buyer=command.buyer_id,
            items=totals(lines, by_variant=False),
            variants=totals(lines, by_variant=True),
            lines=[[x.item_id, x.variant_id, x.quantity, x.unit_price_minor] for x in lines],
            detail=f"{units} units",
        )
        name = command.new_buyer if command.new_buyer is not None else command.buyer_name
        if command.placed_by is not None:
            entry["actor"] = command.placed_by[0]
            entry["detail"] = f"{units} units, placed by {command.placed_by[1]} for {name}"
        if command.new_buyer is not None:
            entry["new_buyer"] = command.new_buyer
        if command.identity_id is not None:
            entry["identity"] = command.identity_id
        if command.claim is not None:
            entry["claim"] = list(command.claim)
        return entry

    def _outcome(self, order: _Queued, answer: dict[str, Any] | None) -> Outcome:
        kind = None if answer is None else answer["r"]
        if kind == "handled":
            return AlreadyHandled("Already done: that message was handled once.")
        if order.refusal is not None:
            return order.refusal
        assert answer is not None and order.go is not None
        go = order.go
        units = sum(line.quantity for line in order.lines)
        if kind == "claimed":
            return AlreadyClaimed("Already on it — that order was sent once.")
        if kind == "go":
            deadline = datetime.fromisoformat(answer["deadline"])
            return group_order_refusal(
                go,
                units,
                self._now,
                answer["status"],
                deadline,
                answer["reserved"],
                answer["capacity"],
                answer["version"],
            )
        if kind == "stock":
            return stock_refusal(answer["name"], answer["stock"], answer["reserved"], answer["quantity"])
        if kind == "quota":
            return quota_refusal(go, answer["held"])
        return _Placed(order, answer)

    def view(self, order: _Queued, answer: dict[str, Any]) -> OrderView:
        """The reply to an order the server placed."""
        assert order.go is not None
        go, command = order.go, order.command
        units = sum(line.quantity for line in order.lines)
        placed = PlacedOrder(
            answer["id"],
            f"{go.code}-{answer['seq']}",
            OrderStatus.PLACED.value,
            units,
            sum(line.quantity * line.unit_price_minor for line in order.lines),
            go.currency,
            self._now + timedelta(hours=go.payment_window_hours),
        )
        name = command.new_buyer if command.new_buyer is not None else command.buyer_name
        language = command.language or (None if command.new_buyer else go.language)
        return view_of(go, placed, order.lines, name, language)

    async def _catalogue(self, key: str) -> tuple[GoFacts, list[CatalogueItem]]:
        return await run_asyncpg(self._connection, catalogue_of(self._catalogues, key))
