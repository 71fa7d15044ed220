"""The view of an order just written, below both the order desk and the unit of work.

The order desk builds it after a batch commits, and services build it after a unit of
work; keeping it here, with no import of either, keeps core's imports running one way.
"""

from __future__ import annotations

from core.db.models import GroupOrder, Order
from core.money import format_money
from core.reservations import GoFacts, PlacedOrder, ResolvedLine
from core.views import LineView, OrderView
from core.when import local_text

__all__ = ["view_of"]


def view_of(
    go: GoFacts | GroupOrder,
    order: PlacedOrder | Order,
    lines: list[ResolvedLine],
    buyer: str,
    language: str | None = None,
) -> OrderView:
    """The view of an order just written, built without another query."""
    return OrderView(
        number=order.number,
        go_code=go.code,
        go_title=go.title,
        status=order.status,
        units=order.units,
        total=format_money(order.total_minor, order.currency),
        payment_due=local_text(order.payment_due_at, go.timezone),
        buyer=buyer,
        lines=[
            LineView(
                line.label,
                line.token,
                line.quantity,
                format_money(line.quantity * line.unit_price_minor, order.currency),
            )
            for line in lines
        ],
        choose_delivery=isinstance(go, GoFacts) and go.delivery_options,
        rankable=any(line.with_inclusions for line in lines),
        language=language,
    )
