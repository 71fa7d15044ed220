"""Proof policies on both databases: a screenshot's reading approves a proof by itself only
when every field matches, the transaction id and picture are new and nothing looks edited;
the reader failing never stands in the buyer's way."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import FrozenClock
from core.db.models import AuditEntry, Order, Payment, PaymentProof, PaymentRequest
from core.payments.reading import ProofReading
from core.payments.reading import use as reading_use
from main import App
from tests.books import assert_books
from tests.conftest import buyer, say
from tests.images import screenshot
from tests.integration.test_payment_races import buyer_cancels
from tests.integration.test_payments import ok, order_status, paynow_go, send

PRICE = 2590
HASH = "f0f0f0f0f0f0f0f0"


class Readings:
    """What the reader 'sees' in each picture, keyed by the picture's bytes."""

    def __init__(self) -> None:
        self.by_image: dict[bytes, ProofReading | Exception] = {}
        self.calls = 0

    def __call__(self, image: bytes, *, expect_currency: str | None = None) -> ProofReading:
        self.calls += 1
        found = self.by_image.get(image, ProofReading(note="nothing read"))
        if isinstance(found, Exception):
            raise found
        return found

    def picture(self, n: int, reading: ProofReading | Exception) -> bytes:
        image = screenshot(size=(40 + n, 30))
        self.by_image[image] = reading
        return image


@pytest.fixture
def readings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Readings]:
    fake = Readings()
    monkeypatch.setattr(reading_use, "_reader", lambda: fake)
    yield fake


def matching(clock: FrozenClock, n: int, **changes: object) -> ProofReading:
    """What a screenshot of order SVT-FML-n's exact transfer reads as."""
    fields: dict[str, object] = {
        "amount_minor": PRICE,
        "currency": "SGD",
        "reference": f"SVT-FML-{n}-I1",
        "txn_id": f"TXN{n:06d}",
        "paid_at": clock.now() + timedelta(minutes=5),
        "confidence": 0.95,
        "image_hash": spread_hash(n),
    }
    fields.update(changes)
    return ProofReading(**fields)  # type: ignore[arg-type]


def spread_hash(n: int) -> str:
    """A perceptual hash per picture, about 32 bits from every other one."""
    return f"{(n * 0x9E3779B97F4A7C15) & (2**64 - 1):016x}"


async def proof_of(app: App, number: str) -> PaymentProof:
    async with app.core.reader() as uow:
        proof = await uow.session.scalar(
            select(PaymentProof)
            .join(PaymentRequest, PaymentRequest.id == PaymentProof.request_id)
            .join(Order, Order.id == PaymentRequest.order_id)
            .where(Order.number == number)
            .order_by(PaymentProof.id.desc())
            .limit(1)
        )
        assert proof is not None
        return proof


async def auto_go(app: App, buyers: int, policy: str = "auto") -> None:
    await paynow_go(app, cap=buyers + 5, moq=1)
    ok(await say(app, "gina", f"/proofpolicy SVT-FML {policy}"))
    for i in range(1, buyers + 1):
        ok(await say(app, f"fan{i}", "/order SVT-FML ALB:A 1"))


async def test_auto_approves_an_exact_match_and_unapprove_reverses_it_exactly_once(
    any_app: App, clock: FrozenClock, readings: Readings
) -> None:
    app = any_app
    await auto_go(app, 1)
    reply = ok(await send(app, "fan1", "/paid SVT-FML-1", readings.picture(1, matching(clock, 1))))
    assert readings.calls == 1
    assert "approved" in reply.text.lower(), reply.text
    assert await order_status(app, "SVT-FML-1") == "paid"
    proof = await proof_of(app, "SVT-FML-1")
    assert (proof.status, proof.decided_by, proof.txn_id) == ("approved", "policy", "TXN000001")
    async with app.core.reader() as uow:
        audited = await uow.session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "approved_by_policy")
        )
    assert audited is not None and '"txn_id": "TXN000001"' in audited
    books = await assert_books(app)
    assert books["paid_orders"] == 1
    # the books say how it was settled: a proof whose screenshot was read, by the policy
    reconcile = ok(await say(app, "gina", "/reconcile SVT-FML"))
    assert reconcile.document is not None
    rows = list(csv.reader(io.StringIO(reconcile.document.content.decode("utf-8-sig"))))
    how, evidence = {row[0]: row[-2:] for row in rows[1:]}["SVT-FML-1"]
    assert how == "proof read", (how, evidence)
    assert "txn TXN000001" in evidence and "approved by the proof policy" in evidence, evidence
    # a double tap: one undoes it, the other is told
    texts = [
        r.text for r in await asyncio.gather(*(say(app, "gina", "/unapprove SVT-FML-1") for _ in (1, 2)))
    ]
    assert sum(t.startswith("↩️ Approval undone") for t in texts) == 1, texts
    assert any("no approved proof to undo" in t for t in texts), texts
    assert await order_status(app, "SVT-FML-1") == "placed"
    proof = await proof_of(app, "SVT-FML-1")
    assert (proof.status, proof.decided_by, proof.reviewed_by) == ("pending", None, None)
    async with app.core.reader() as uow:
        payments = (await uow.session.scalars(select(Payment))).all()
        undone = await uow.session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "approval_undone")
        )
    assert [(p.status, p.amount_minor) for p in payments] == [("void", PRICE)]
    assert undone is not None and "voided" in undone
    await assert_books(app)
    # checked by hand and approved again: paid once, with a fresh payment
    ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert await order_status(app, "SVT-FML-1") == "paid"
    books = await assert_books(app)
    assert books["payments"] == 1
    refused = await say(app, "gina", "/unapprove SVT-FML-9")
    assert refused.text.startswith("⚠️")


async def test_auto_leaves_every_kind_of_mismatch_for_the_gom(
    any_app: App, clock: FrozenClock, readings: Readings
) -> None:
    app = any_app
    await auto_go(app, 9)
    first = matching(clock, 1)
    cases: dict[int, ProofReading] = {
        1: first,  # approved: the original the duplicates copy
        2: matching(clock, 2, amount_minor=PRICE - 90),
        3: matching(clock, 3, currency="MYR"),
        4: matching(clock, 4, reference="SVT-FML-1-I1"),
        5: matching(clock, 5, txn_id=first.txn_id),
        6: matching(clock, 6, image_hash=f"{int(spread_hash(1), 16) ^ 0b11:016x}"),  # 2 bits off #1
        7: matching(clock, 7, paid_at=clock.now() - timedelta(days=1)),
        8: matching(clock, 8, edited=("the amount's digits differ from the rest",)),
        9: matching(clock, 9, confidence=0.2),
    }
    for n, reading in cases.items():
        ok(await send(app, f"fan{n}", f"/paid SVT-FML-{n}", readings.picture(n, reading)))
    statuses = [(await proof_of(app, f"SVT-FML-{n}")).status for n in cases]
    assert statuses == ["approved"] + ["pending"] * 8
    # the GOM is told which order and buyer a duplicate copies
    shown = ok(await say(app, "gina", "/proof SVT-FML-5")).text
    assert "transaction id TXN000001 was already sent for SVT-FML-1 by fan1" in shown
    shown = ok(await say(app, "gina", "/proof SVT-FML-6")).text
    assert "the same screenshot was already sent for SVT-FML-1 by fan1" in shown
    shown = ok(await say(app, "gina", "/proof SVT-FML-2")).text
    assert "✗ amount: S$25.00 (expected S$25.90)" in shown and "✓ reference: SVT-FML-2-I1" in shown
    assert "✗ currency: MYR (expected SGD)" in ok(await say(app, "gina", "/proof SVT-FML-3")).text
    assert (
        "✗ reference: SVT-FML-1-I1 (expected SVT-FML-4-I1)"
        in ok(await say(app, "gina", "/proof SVT-FML-4")).text
    )
    assert "✗ date:" in ok(await say(app, "gina", "/proof SVT-FML-7")).text
    assert "looks edited: the amount's digits" in ok(await say(app, "gina", "/proof SVT-FML-8")).text
    # the buyer sees none of it
    mine = ok(await say(app, "fan5", "/proof SVT-FML-5")).text
    assert "fan1" not in mine and "SVT-FML-1" not in mine
    # a human still decides: the mismatches approve by hand like any proof
    ok(await say(app, "gina", "/approve SVT-FML-9"))
    assert (await proof_of(app, "SVT-FML-9")).decided_by == "human"
    await assert_books(app)


async def test_suggest_shows_the_reading_and_approve_all_takes_an_exact_one(
    any_app: App, clock: FrozenClock, readings: Readings
) -> None:
    app = any_app
    await auto_go(app, 2, policy="suggest")
    # no reference typed: the screenshot shows it
    ok(await send(app, "fan1", "/paid SVT-FML-1", readings.picture(1, matching(clock, 1))))
    ok(
        await send(
            app,
            "fan2",
            "/paid SVT-FML-2 SVT-FML-2-I1",
            readings.picture(2, matching(clock, 2, amount_minor=100)),
        )
    )
    assert [(await proof_of(app, f"SVT-FML-{n}")).status for n in (1, 2)] == ["pending", "pending"]
    preview = ok(await say(app, "gina", "/approve all SVT-FML")).text
    assert "1 proof match exactly" in preview
    assert "the screenshot shows S$1.00" in preview
    [confirm] = [
        b.command
        for row in (await say(app, "gina", "/approve all SVT-FML")).buttons
        for b in row
        if b.command
    ]
    assert confirm is not None
    ok(await say(app, "gina", confirm))
    assert [(await proof_of(app, f"SVT-FML-{n}")).status for n in (1, 2)] == ["approved", "pending"]


async def test_policy_command_off_reads_nothing_and_a_failing_reader_never_blocks_paid(
    any_app: App, clock: FrozenClock, readings: Readings
) -> None:
    app = any_app
    await auto_go(app, 2, policy="off")
    ok(await send(app, "fan1", "/paid SVT-FML-1", readings.picture(1, matching(clock, 1))))
    assert readings.calls == 0 and (await proof_of(app, "SVT-FML-1")).reading is None
    ok(await say(app, "gina", "/proofpolicy SVT-FML auto"))
    reply = ok(await send(app, "fan2", "/paid SVT-FML-2", readings.picture(2, RuntimeError("reader broke"))))
    assert "with the GOM" in reply.text
    proof = await proof_of(app, "SVT-FML-2")
    assert proof.status == "pending" and proof.image is not None
    assert reading_use.FAILED in (proof.reading or "")
    assert reading_use.FAILED in ok(await say(app, "gina", "/proof SVT-FML-2")).text
    shown = ok(await say(app, "gina", "/proofpolicy SVT-FML")).text
    assert "Proofs for SVT-FML: auto" in shown
    ok(await say(app, "gina", "/proofpolicy default off"))
    ok(await say(app, "gina", "/proofpolicy default suggest"))  # set twice: one row, updated
    assert "your default" not in ok(await say(app, "gina", "/proofpolicy SVT-FML")).text
    bad = await say(app, "gina", "/proofpolicy SVT-FML sometimes")
    assert bad.text.startswith("⚠️") and "suggest, auto or off" in bad.text
    other = await say(app, "bob", "/proofpolicy SVT-FML off")
    assert other.text.startswith("⚠️")
    assert "Proofs for SVT-FML: auto" in ok(await say(app, "gina", "/proofpolicy SVT-FML")).text


async def test_auto_approval_racing_the_buyers_cancel_or_the_gom_s_reject_decides_once(
    any_app: App, clock: FrozenClock, readings: Readings
) -> None:
    """Odd orders: the buyer's /paid against their own /cancel; even: against the GOM's /reject."""
    app = any_app
    count = 10
    await auto_go(app, count)
    pictures = {n: readings.picture(n, matching(clock, n)) for n in range(1, count + 1)}
    fans = {n: await buyer(app, f"fan{n}") for n in pictures}

    async def pay(n: int) -> str:
        return (await send(app, f"fan{n}", f"/paid SVT-FML-{n}", pictures[n])).text

    async def other(n: int) -> str:
        if n % 2:
            return await buyer_cancels(app, fans[n], f"SVT-FML-{n}")
        return (await say(app, "gina", f"/reject SVT-FML-{n} not in my bank app")).text

    texts = await asyncio.gather(*(call for n in pictures for call in (pay(n), other(n))))
    assert not any("something went wrong" in t for t in texts)
    for n in pictures:
        paid, against = texts[2 * n - 2], texts[2 * n - 1]
        status = await order_status(app, f"SVT-FML-{n}")
        if against == "cancelled":  # the cancel came first: the proof was refused, nothing paid
            assert status == "cancelled" and paid.startswith("⚠️"), paid
            continue
        # approved first (the cancel refused), or the reject came before or after the proof
        assert status == "paid" and (await proof_of(app, f"SVT-FML-{n}")).decided_by == "policy"
        if n % 2 == 0:
            assert against.startswith("⚠️") and ("no proof" in against or "already approved" in against)
    books = await assert_books(app)
    assert books["payments"] == books["paid_orders"]
