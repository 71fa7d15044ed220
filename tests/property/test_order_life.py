"""A property of the whole order life: whatever buyers and staff do, in whatever order and
however concurrently, every invariant of ``gomflow check`` holds afterwards.

Each example plays a few rounds on a fresh database. A round is a handful of steps run
at once (``asyncio.gather``): place, change, cancel, pay through a gateway's webhook or
Telegram's ``successful_payment``, send a proof, approve, reject, let the payment window
run out, refund, confirm a refund, close. A step may be a double tap (the same step twice
at once). Refusals are fine; an error ("something went wrong", an exception, a failed
scheduler job) fails the example, and so does any failing check after a round.

``GOMFLOW_PROPERTY_EXAMPLES`` sets how many examples run per database. The default run
is small and does not shrink (a failure is reported as found, to keep the suite quick);
a longer run shrinks a failure to a small example.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import exists, select

from core.check import check_database
from core.clock import FrozenClock
from core.config import Settings
from core.db.models import Order, Payment, PaymentRequest, Refund, User
from core.errors import GomflowError
from core.payments.gateway import FakeGateway
from core.payments.status import RefundStatus, RequestStatus
from core.services import payments, telegram_payments
from core.services.accounts import identify
from core.status import ORDER_LIVE, OrderStatus
from main import App, bootstrap
from tests.conftest import BACKENDS, POSTGRES_URL, START, gom, say
from tests.databases import fresh_postgres, fresh_sqlite

EXAMPLES = int(os.environ.get("GOMFLOW_PROPERTY_EXAMPLES", "10"))
LONG_RUN = EXAMPLES > 50
GO = "PT"
BUYERS = ("amy", "bob", "cat")
STAFF = ("gina", "hal")
LINES = ("ALB:A 1", "ALB:B 2", "POB 1", "ALB:A 1 POB 1", "POB 2", "ALB:B 1 POB 1")
ITEMS = ('ALB 12.50 "Album" versions="A:Day,B:Night@4"', 'POB 3 "Photocard" stock=3')
BROKEN = "something went wrong"
BOUNDARIES = ("bots", "scheduler")  # where a command's or a job's unexpected error is logged


@dataclass(frozen=True)
class Step:
    action: str
    who: int  # a buyer or staff member, by index
    pick: int  # which order, by index among those the actor may act on
    choice: int  # lines to order, which webhook event, which amount…
    twice: bool  # a double tap: the same step twice at once

    def __str__(self) -> str:
        tap = " ×2" if self.twice else ""
        return f"{self.action}(who={self.who}, pick={self.pick}, choice={self.choice}){tap}"


# Paying and reviewing come up more often than the rest; closing, which ends it all, least.
BUYER_ACTIONS = ("place",) * 2 + ("change", "cancel") + ("checkout", "telegram") + ("proof",) * 3
STAFF_ACTIONS = (
    ("webhook",) * 3 + ("staff_cancel", "reject", "refund", "refunded", "expire") + ("approve",) * 3
)
steps = st.builds(
    Step,
    action=st.sampled_from((BUYER_ACTIONS + STAFF_ACTIONS) * 2 + ("close",)),
    who=st.integers(0, 2),
    pick=st.integers(0, 3),
    choice=st.integers(0, 5),
    twice=st.booleans(),
)
rounds = st.lists(st.lists(steps, min_size=1, max_size=4), min_size=2, max_size=8)


class Errors(logging.Handler):
    """What a command's or a scheduler job's outermost boundary logged, to say why it broke."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            self.seen.append(f"{type(error).__name__}: {str(error).splitlines()[0][:300]}")

    def __enter__(self) -> Errors:
        for boundary in BOUNDARIES:
            logging.getLogger(boundary).addHandler(self)
        return self

    def __exit__(self, *_: object) -> None:
        for boundary in BOUNDARIES:
            logging.getLogger(boundary).removeHandler(self)


def _request_in(*statuses: str) -> Any:
    return exists().where(PaymentRequest.order_id == Order.id, PaymentRequest.status.in_(statuses))


PLACED = Order.status == OrderStatus.PLACED
PAID = Order.status == OrderStatus.PAID
LIVE = Order.status.in_(ORDER_LIVE)
OWES = PLACED | _request_in(RequestStatus.OPEN)
IN_REVIEW = _request_in(RequestStatus.REVIEW)
MANUAL_REFUND = exists().where(
    PaymentRequest.order_id == Order.id,
    Payment.request_id == PaymentRequest.id,
    Refund.payment_id == Payment.id,
    Refund.status == RefundStatus.MANUAL,
)


class Life:
    """One group order's life on a fresh database, played step by step."""

    def __init__(self, app: App, clock: FrozenClock) -> None:
        self.app, self.clock = app, clock

    async def pick(self, step: Step, buyer: str | None = None, *, where: Any = None) -> str:
        """An order the step can act on (the buyer's own; one in the state it needs), else any."""
        query = select(Order.number).join(User, User.id == Order.buyer_id).order_by(Order.id)
        if buyer is not None:
            query = query.where(User.display_name == buyer)
        async with self.app.core.reader() as uow:
            numbers = list((await uow.session.scalars(query)).all())
            if where is not None:
                numbers = list((await uow.session.scalars(query.where(where))).all()) or numbers
        return numbers[step.pick % len(numbers)] if numbers else f"{GO}-99"

    async def run(self, step: Step) -> None:
        action = getattr(self, step.action)
        calls: list[Awaitable[None]] = [action(step)]
        if step.twice:
            calls.append(action(step))
        await asyncio.gather(*calls)

    async def chat(self, who: str, line: str) -> None:
        with Errors() as errors:
            reply = await say(self.app, who, line)
        assert BROKEN not in reply.text, f"{who}: {line} -> {reply.text} ({'; '.join(errors.seen)})"

    # --- buyers -----------------------------------------------------------------------

    async def place(self, step: Step) -> None:
        await self.chat(BUYERS[step.who], f"/order {GO} {LINES[step.choice]}")

    async def change(self, step: Step) -> None:
        buyer = BUYERS[step.who]
        await self.chat(buyer, f"/change {await self.pick(step, buyer, where=PLACED)} {LINES[step.choice]}")

    async def cancel(self, step: Step) -> None:
        buyer = BUYERS[step.who]
        await self.chat(buyer, f"/cancel {await self.pick(step, buyer, where=PLACED)}")

    async def checkout(self, step: Step) -> None:
        buyer = BUYERS[step.who]
        await self.chat(buyer, f"/pay {await self.pick(step, buyer, where=OWES)} stripe")

    async def proof(self, step: Step) -> None:
        buyer = BUYERS[step.who]
        await self.chat(buyer, f"/paid {await self.pick(step, buyer, where=OWES)} TRF-{step.choice}")

    async def telegram(self, step: Step) -> None:
        """An invoice, then Telegram's successful_payment (delivered once or, by choice, again)."""
        buyer = BUYERS[step.who]
        number = await self.pick(step, buyer, where=OWES)
        actor = await identify(self.app.core.uow(), "console", buyer, buyer, buyer)
        try:
            invoice = await telegram_payments.telegram_invoice(self.app.core.uow(), actor, number)
        except GomflowError:
            return  # a refusal: nothing to pay
        for _ in range(1 + step.choice % 2):
            await telegram_payments.successful_payment(
                self.app.core.uow,
                payload=invoice.payload,
                currency=invoice.currency,
                total_amount=invoice.amount_minor,
                telegram_charge_id=f"tg-{invoice.payload}",
            )

    # --- the payment provider ---------------------------------------------------------

    async def webhook(self, step: Step) -> None:
        """The provider reports a checkout paid: the right amount, or (choice 5) a wrong one."""
        async with self.app.core.reader() as uow:
            links = (
                await uow.session.execute(
                    select(Payment.id, Payment.provider_ref, Payment.amount_minor)
                    .where(Payment.provider == "stripe", Payment.provider_ref.is_not(None))
                    .order_by(Payment.id)
                )
            ).all()
        if not links:
            return
        payment_id, link_ref, amount = links[step.pick % len(links)]
        await payments.record_webhook(
            self.app.core.uow,
            [
                payments.WebhookEvent(
                    "stripe",
                    f"evt-{payment_id}-{step.choice % 2}",  # the same event redelivered, or a second one
                    "paid",
                    link_ref,
                    None,
                    amount + (100 if step.choice == 5 else 0),
                    "SGD",
                    f"ch-{payment_id}",
                )
            ],
        )

    # --- staff ------------------------------------------------------------------------

    async def staff_cancel(self, step: Step) -> None:
        await self.chat(STAFF[step.who % 2], f"/cancel {await self.pick(step, where=LIVE)}")

    async def approve(self, step: Step) -> None:
        await self.chat(STAFF[step.who % 2], f"/approve {await self.pick(step, where=IN_REVIEW)}")

    async def reject(self, step: Step) -> None:
        await self.chat(
            STAFF[step.who % 2], f"/reject {await self.pick(step, where=IN_REVIEW)} no such transfer"
        )

    async def refund(self, step: Step) -> None:
        await self.chat(
            STAFF[step.who % 2], f"/refund {await self.pick(step, where=PAID)} confirm out of stock"
        )

    async def refunded(self, step: Step) -> None:
        await self.chat(
            STAFF[step.who % 2], f"/refunded {await self.pick(step, where=MANUAL_REFUND)} BANK-{step.choice}"
        )

    async def close(self, step: Step) -> None:
        await self.chat(STAFF[step.who % 2], f"/close {GO} confirm")

    async def expire(self, step: Step) -> None:
        """An hour passes (a payment window is two); the scheduler's jobs run as they would."""
        self.clock.advance(hours=1, minutes=1)
        with Errors() as errors:
            report = await self.app.ticker.tick()
        assert not report.failed, f"scheduler jobs failed: {report.failed} ({'; '.join(errors.seen)})"


async def fresh_app(backend: str, workdir: Path, clock: FrozenClock) -> App:
    """A migrated, empty database for one example (see tests/databases.py)."""
    if backend == "postgres":
        assert POSTGRES_URL is not None
        url = await fresh_postgres(POSTGRES_URL)
    else:
        url = await fresh_sqlite(workdir / f"example-{uuid.uuid4().hex}.db")
    return bootstrap(Settings(database_url=url), clock=clock, write=lambda _line: None)


async def play(backend: str, workdir: Path, plan: list[list[Step]]) -> None:
    clock = FrozenClock(START)
    app = await fresh_app(backend, workdir, clock)
    app.core.payment_gateways["stripe"] = FakeGateway(name="stripe")
    try:
        await gom(app, "gina")
        await say(app, "hal", "/start")
        for line in (
            f'/newgo {GO} "Property" currency=SGD moq=3 cap=8 limit=4 deadline=+30d window=2',
            *(f"/additem {GO} {item}" for item in ITEMS),
            f"/paymethods {GO} stripe manual telegram",
            f"/open {GO}",
            "/helper add hal",
        ):
            reply = await say(app, "gina", line)
            assert not reply.text.startswith("⚠️"), (line, reply.text)
        life = Life(app, clock)
        await asyncio.gather(*(life.place(Step("place", b, 0, b, False)) for b in range(len(BUYERS))))
        for number, steps_of_round in enumerate(plan, 1):
            await asyncio.gather(*(life.run(step) for step in steps_of_round))
            await app.dispatcher.run_once()
            failed = [f"{r.name}: {r.detail}" for r in await check_database(app.core.db) if not r.ok]
            assert not failed, describe(plan, number, failed)
    finally:
        await app.core.close()


def describe(plan: list[list[Step]], failed_after: int, failed: list[str]) -> str:
    rounds_text = [f"  round {n}: " + " | ".join(map(str, r)) for n, r in enumerate(plan[:failed_after], 1)]
    return "\n".join([f"checks failed after round {failed_after}:", *failed, "interleaving:", *rounds_text])


@pytest.mark.parametrize("backend", BACKENDS)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG_RUN,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if LONG_RUN else [])],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plan=rounds)
def test_every_invariant_holds_whatever_buyers_and_staff_do(
    backend: str, tmp_path_factory: pytest.TempPathFactory, plan: list[list[Step]]
) -> None:
    workdir = tmp_path_factory.getbasetemp() / f"order-life-{backend}"
    workdir.mkdir(exist_ok=True)
    asyncio.run(play(backend, workdir, plan))
