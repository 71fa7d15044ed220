"""The gate before an order: a buyer the GO's GOM banned, or one who has not agreed to the
GO's policy yet (``core.policy``), is refused by one statement of primary-key lookups.

The order desk runs it only for a GO it read as ``gated`` (``core.reservations.GO_FACTS``);
it lives apart from ``core.policy`` so the desk imports no unit of work.
"""

from __future__ import annotations

from core.db.raw import Plan, Statement
from core.errors import BuyerBanned, PolicyNotAgreed
from core.quantities import LineRequest

# Whether the GO's GOM banned the buyer, and whether the GO runs under a stored policy the
# buyer has not agreed to: primary-key lookups only.
GATE = (
    "SELECT EXISTS (SELECT 1 FROM buyer_bans b WHERE b.gom_id = g.gom_id AND b.buyer_id = ?), "
    "EXISTS (SELECT 1 FROM go_policies p WHERE p.gom_id = g.gom_id AND p.go_id IN (0, g.id)) "
    "AND NOT EXISTS (SELECT 1 FROM policy_agreements a WHERE a.go_id = g.id AND a.buyer_id = ?) "
    "FROM group_orders g WHERE g.id = ?"
)

BANNED = "Sorry, you cannot order in this GOM's group orders."


def gate_plan(go_id: int, go_code: str, buyer_id: int, requests: tuple[LineRequest, ...] = ()) -> Plan[None]:
    """Refuse a banned buyer, or one who has not agreed to the GO's policy yet."""
    row = yield Statement(GATE, (buyer_id, buyer_id, go_id), "row")
    if row is None:
        return
    banned, unagreed = row
    if banned:
        raise BuyerBanned(BANNED)
    if unagreed:
        raise PolicyNotAgreed(go_code, requests)
