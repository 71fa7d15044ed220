"""Every statement of the order path finds its rows through an index on SQLite.

With a million orders in the table, one statement that scans instead of searching would
cost a drop more than all the others together; EXPLAIN QUERY PLAN says which it does.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from core import inbound
from core.desk import IDENTITY_OWNER
from core.reservations import (
    AUDIT_INSERT,
    GO_FACTS,
    GO_STATE,
    GO_TAKE,
    ITEMS,
    LINE_INSERT,
    LINE_VALUES,
    ORDER_INSERT,
    QUOTA_STATE,
    QUOTA_TAKE,
    STOCK_STATE,
    TAKE,
    VARIANTS,
)
from core.services.accounts import LOOKUP
from main import App

ORDER_PATH = {
    "GO_FACTS": GO_FACTS,
    "ITEMS": ITEMS,
    "VARIANTS": VARIANTS,
    "GO_TAKE": GO_TAKE,
    "GO_STATE": GO_STATE,
    "TAKE items": TAKE.format(table="items"),
    "TAKE variants": TAKE.format(table="variants"),
    "STOCK_STATE": STOCK_STATE.format(table="variants"),
    "QUOTA_TAKE": QUOTA_TAKE,
    "QUOTA_STATE": QUOTA_STATE,
    "ORDER_INSERT": ORDER_INSERT,
    "LINE_INSERT": LINE_INSERT + LINE_VALUES,
    "AUDIT_INSERT": AUDIT_INSERT,
    "IDENTITY_OWNER": IDENTITY_OWNER,
    "LOOKUP": LOOKUP,
    "CLAIM": inbound.CLAIM,
    "MARK": inbound.MARK,
}


def plan_of(connection: sqlite3.Connection, sql: str) -> list[str]:
    now = datetime.now(UTC)
    params = [now if i == 0 else 1 for i in range(sql.count("?"))]
    return [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql, params)]


async def test_every_statement_of_the_order_path_searches_an_index(app: App) -> None:
    connection = sqlite3.connect(app.core.db.engine.url.database or "")
    connection.execute("ANALYZE")  # as a grown database would have statistics
    try:
        plans = {name: plan_of(connection, sql) for name, sql in ORDER_PATH.items()}
    finally:
        connection.close()
    scans = {name: steps for name, steps in plans.items() if any(s.startswith("SCAN") for s in steps)}
    assert scans == {}
    assert any("USING INDEX" in step for step in plans["VARIANTS"])
    assert any("USING INDEX" in step or "PRIMARY KEY" in step for step in plans["QUOTA_STATE"])
