"""``gomflow check`` on a real database: a healthy group order passes every check, and
each kind of damage, made with raw SQL, fails exactly the check that guards against it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bots.chat import ChatReply
from core.check import CHECKS, check_database
from core.clock import FrozenClock
from core.payments.gateway import FakeGateway
from core.services import payments
from main import App
from tests.conftest import open_go, say
from tests.e2e.test_command_line import gomflow

ITEMS = ('ALB 25.90 "FML album" versions="A:Faded Mono Life,B:Fallen Misfit"', 'POB 3 "Photocard" stock=5')


def ok(reply: ChatReply) -> ChatReply:
    assert not reply.text.startswith("⚠️"), reply.text
    return reply


async def stripe_paid(app: App, event_id: str, link_ref: str, amount_minor: int, charge: str) -> None:
    [outcome] = await payments.record_webhook(
        app.core.uow,
        [payments.WebhookEvent("stripe", event_id, "paid", link_ref, None, amount_minor, "SGD", charge)],
    )
    assert outcome.result == "paid", outcome


async def a_group_order_lived(app: App, clock: FrozenClock) -> None:
    """Orders placed, changed, cancelled, expired, paid three ways, refunded, cancelled when paid."""
    app.core.payment_gateways["stripe"] = FakeGateway(name="stripe")
    await open_go(app, moq=2, cap=12, limit=4, items=ITEMS)
    ok(await say(app, "gina", "/paymethods SVT-FML stripe manual"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1 POB 1"))  # 1: paid through the gateway
    ok(await say(app, "bob", "/pay SVT-FML-1 stripe"))
    await stripe_paid(app, "evt_1", "fake_1", 2890, "pi_1")
    ok(await say(app, "amy", "/order SVT-FML ALB:B 2"))  # 2: changed, paid, refunded
    ok(await say(app, "amy", "/change SVT-FML-2 ALB:B 1 POB 1"))
    ok(await say(app, "amy", "/pay SVT-FML-2 stripe"))
    await stripe_paid(app, "evt_2", "fake_2", 2890, "pi_2")
    ok(await say(app, "gina", "/refund SVT-FML-2 confirm out of stock"))
    ok(await say(app, "cat", "/order SVT-FML ALB:A 1"))  # 3: paid by proof, then shipping
    ok(await say(app, "cat", "/paid SVT-FML-3 TXN3"))
    ok(await say(app, "gina", "/approve SVT-FML-3"))
    ok(await say(app, "gina", "/shipping SVT-FML-3 4.50"))
    ok(await say(app, "cat", "/paid SVT-FML-3 SHIP3"))
    ok(await say(app, "gina", "/approve SVT-FML-3"))
    ok(await say(app, "dan", "/order SVT-FML ALB:B 1"))  # 4: cancelled by the buyer
    ok(await say(app, "dan", "/cancel SVT-FML-4"))
    ok(await say(app, "fay", "/order SVT-FML ALB:A 2"))  # 5: paid, then cancelled by the GOM
    ok(await say(app, "fay", "/paid SVT-FML-5 TXN5"))
    ok(await say(app, "gina", "/approve SVT-FML-5"))
    ok(await say(app, "gina", "/cancel SVT-FML-5"))
    ok(await say(app, "eve", "/order SVT-FML POB 1"))  # 6: expires unpaid
    clock.advance(hours=49)
    report = await app.ticker.tick()
    assert not report.failed
    ok(await say(app, "gus", "/order SVT-FML POB 1"))  # 7: placed, not paid yet
    ok(await say(app, "hal", "/order SVT-FML ALB:B 1"))  # 8: part paid in cash
    ok(await say(app, "gina", "/markpaid SVT-FML-8 5 deposit-8"))
    await app.dispatcher.run_once()


async def failing(app: App) -> list[str]:
    return [r.name for r in await check_database(app.core.db) if not r.ok]


async def execute(app: App, statements: Sequence[str]) -> None:
    async with app.core.db.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


@dataclass(frozen=True)
class Damage:
    check: str  # the one check that must fail
    do: tuple[str, ...]
    undo: tuple[str, ...]


BOB = "(SELECT id FROM users WHERE display_name = 'bob')"
SHIPPING = "(SELECT id FROM payment_requests WHERE kind = 'shipping')"
DAMAGE = [
    Damage(
        "items reserved = live lines",
        ("UPDATE items SET reserved = reserved + 1 WHERE code = 'POB'",),
        ("UPDATE items SET reserved = reserved - 1 WHERE code = 'POB'",),
    ),
    Damage(
        "versions reserved = live lines",
        ("UPDATE variants SET reserved = reserved - 1 WHERE code = 'A'",),
        ("UPDATE variants SET reserved = reserved + 1 WHERE code = 'A'",),
    ),
    Damage(
        "group orders reserved = live lines",
        ("UPDATE group_orders SET reserved_units = reserved_units + 1",),
        ("UPDATE group_orders SET reserved_units = reserved_units - 1",),
    ),
    Damage(
        "buyer quotas = live lines",
        (f"UPDATE buyer_quotas SET reserved = reserved + 1 WHERE buyer_id = {BOB}",),
        (f"UPDATE buyer_quotas SET reserved = reserved - 1 WHERE buyer_id = {BOB}",),
    ),
    Damage(
        "buyer quotas = live lines",
        (f"DELETE FROM buyer_quotas WHERE buyer_id = {BOB}",),
        (f"INSERT INTO buyer_quotas (go_id, buyer_id, reserved) SELECT id, {BOB}, 2 FROM group_orders",),
    ),
    Damage(
        "within capacity, stock and limits",
        ("UPDATE group_orders SET per_buyer_limit = 1",),
        ("UPDATE group_orders SET per_buyer_limit = 4",),
    ),
    Damage(
        "order totals = lines",
        ("UPDATE orders SET total_minor = total_minor + 1 WHERE number = 'SVT-FML-3'",),
        ("UPDATE orders SET total_minor = total_minor - 1 WHERE number = 'SVT-FML-3'",),
    ),
    Damage(
        "paid requests = succeeded payments",
        ("UPDATE payments SET status = 'failed' WHERE provider_ref = 'fake_1'",),
        ("UPDATE payments SET status = 'succeeded' WHERE provider_ref = 'fake_1'",),
    ),
    Damage(
        "paid orders have a paid items request",
        ("UPDATE orders SET status = 'paid' WHERE number = 'SVT-FML-7'",),
        ("UPDATE orders SET status = 'placed' WHERE number = 'SVT-FML-7'",),
    ),
    Damage(
        "money taken is paid for or refunded",
        (f"UPDATE payment_requests SET status = 'open' WHERE id = {SHIPPING}",),
        (f"UPDATE payment_requests SET status = 'paid' WHERE id = {SHIPPING}",),
    ),
    Damage(
        "money taken is paid for or refunded",
        ("DELETE FROM refunds WHERE status = 'manual'",),
        (
            "INSERT INTO refunds (payment_id, amount_minor, currency, status, idempotency_key, "
            "reference, reason, created_at, updated_at) SELECT id, amount_minor, currency, 'manual', "
            "'restored', '', '', created_at, updated_at FROM payments WHERE provider_ref = 'proof-3'",
        ),
    ),
    Damage(
        "money taken is paid for or refunded",  # a part payment as large as what is owed
        ("UPDATE payments SET amount_minor = 2590 WHERE charge_ref = 'deposit-8'",),
        ("UPDATE payments SET amount_minor = 500 WHERE charge_ref = 'deposit-8'",),
    ),
    Damage(
        "provider payments counted once",  # one charge recorded as two payments
        ("UPDATE payments SET charge_ref = 'pi_1' WHERE charge_ref = 'pi_2'",),
        ("UPDATE payments SET charge_ref = 'pi_2' WHERE provider_ref = 'fake_2'",),
    ),
    Damage(
        "money recorded by hand is audited",
        ("UPDATE audit_log SET action = 'forgotten' WHERE action = 'marked_paid'",),
        ("UPDATE audit_log SET action = 'marked_paid' WHERE action = 'forgotten'",),
    ),
    Damage(
        "outbox rows sent, pending or failed with a reason",
        ("UPDATE outbox SET status = 'failed', last_error = NULL WHERE id = (SELECT min(id) FROM outbox)",),
        ("UPDATE outbox SET status = 'sent' WHERE id = (SELECT min(id) FROM outbox)",),
    ),
    Damage(
        "inbound updates handled",  # acknowledged to the platform, then never handled
        (
            "INSERT INTO inbound_updates (source, external_id, payload, received_at) "
            "SELECT 'telegram', '9001', '{}', created_at FROM group_orders",
        ),
        ("DELETE FROM inbound_updates WHERE external_id = '9001'",),
    ),
    Damage(
        "store credit balances = their entries",  # credit that no entry granted
        (
            "INSERT INTO store_credit_balances (buyer_id, gom_id, currency, balance_minor, updated_at) "
            f"SELECT {BOB}, gom_id, 'SGD', 100, created_at FROM group_orders",
        ),
        ("DELETE FROM store_credit_balances",),
    ),
]


async def test_a_lived_group_order_passes_and_each_damage_fails_its_own_check(
    any_app: App, clock: FrozenClock
) -> None:
    app = any_app
    await a_group_order_lived(app, clock)
    results = await check_database(app.core.db)
    assert [r.name for r in results] == [c.name for c in CHECKS]
    assert [(r.name, r.detail) for r in results if not r.ok] == []
    for damage in DAMAGE:
        await execute(app, damage.do)
        assert await failing(app) == [damage.check], damage.do
        await execute(app, damage.undo)
        assert await failing(app) == [], damage.undo


GO_GUARDS = [
    ("go_capacity", "reserved_units >= 0 AND reserved_units <= capacity"),
    ("go_moq", "moq >= 0 AND moq <= capacity"),
]


async def test_over_capacity_fails_even_with_the_schema_guard_gone(any_app: App, clock: FrozenClock) -> None:
    """A database restored by hand (or from before the CHECK constraints) can hold anything."""
    app = any_app
    await a_group_order_lived(app, clock)
    async with app.core.db.engine.begin() as connection:
        if app.core.db.is_sqlite:
            await connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
        else:
            await connection.exec_driver_sql("ALTER TABLE group_orders DROP CONSTRAINT go_capacity")
            await connection.exec_driver_sql("ALTER TABLE group_orders DROP CONSTRAINT go_moq")
        await connection.exec_driver_sql("UPDATE group_orders SET capacity = 1, moq = 1")
        if app.core.db.is_sqlite:
            await connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
    try:
        results = await check_database(app.core.db)
        assert [r.name for r in results if not r.ok] == ["within capacity, stock and limits"]
        [over] = [r for r in results if not r.ok]
        assert over.detail == "go=SVT-FML reserved_units=5 capacity=1"
    finally:
        if not app.core.db.is_sqlite:  # the next test on this database (and the next run) needs them
            async with app.core.db.engine.begin() as connection:
                await connection.exec_driver_sql("TRUNCATE group_orders CASCADE")
                for name, rule in GO_GUARDS:
                    await connection.exec_driver_sql(
                        f"ALTER TABLE group_orders ADD CONSTRAINT {name} CHECK ({rule})"
                    )


async def test_the_command_line_prints_each_check_and_exits_non_zero_on_damage(
    tmp_path: Path, clock: FrozenClock, app: App
) -> None:
    await a_group_order_lived(app, clock)
    database = tmp_path / "gomflow.db"
    env = dict(os.environ, GOMFLOW_DATABASE_URL=f"sqlite:///{database}")

    healthy = gomflow("check", cwd=tmp_path, env=env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    lines = healthy.stdout.splitlines()
    assert [line.split()[-1] for line in lines[:-1]] == ["OK"] * len(CHECKS)
    assert lines[-1] == f"all {len(CHECKS)} checks passed"

    await execute(app, ["UPDATE items SET reserved = reserved + 1 WHERE code = 'POB'"])
    damaged = gomflow("check", cwd=tmp_path, env=env)
    assert damaged.returncode == 1, damaged.stdout + damaged.stderr
    [fail] = [line for line in damaged.stdout.splitlines() if " FAIL " in line]
    assert fail.startswith("items reserved = live lines")
    assert fail.endswith("code=POB reserved=3 live_lines=2")
    assert damaged.stdout.splitlines()[-1] == f"1 of {len(CHECKS)} checks failed"

    missing = gomflow("check", cwd=tmp_path, env=dict(env, GOMFLOW_DATABASE_URL="sqlite:///nowhere/x.db"))
    assert missing.returncode == 2 and "There is no SQLite database at nowhere/x.db" in missing.stderr
    assert not (tmp_path / "nowhere").exists()

    sqlite3.connect(tmp_path / "empty.db").close()
    empty = gomflow("check", cwd=tmp_path, env=dict(env, GOMFLOW_DATABASE_URL="sqlite:///empty.db"))
    assert empty.returncode == 2 and "run `gomflow db upgrade` first" in empty.stderr
    assert "Traceback" not in healthy.stderr + damaged.stderr + missing.stderr + empty.stderr
