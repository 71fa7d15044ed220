"""Who on a GOM's team may do what: the roles, the permissions, and the one table between them.

A GOM's team has three roles, each allowed what the next one is and more: the **owner**
(the GOM), **managers** (everything but the team and payouts, in the GOM's group orders)
and **helpers** (orders, proofs of payment and shipments). Only a GOM opens group orders
of their own. A person may help two GOMs in two roles, so a role is
always read for one GO's team, where a service meets that GO.

Each GOM command names the permission it needs once, in the command table; the dispatcher
hands it to core on the ``Actor`` (``acting``), and ``accounts.require_admin`` checks it
against this table. Anything that reaches a service without naming one needs ``MANAGE``:
a new command is safe before anyone thinks about it.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import InvalidInput


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    HELPER = "helper"


class Permission(StrEnum):
    TEAM = "team"  # who is on the team, and in which role
    OPEN_GO = "open_go"  # open group orders of one's own: being a GOM
    PAYOUTS = "payouts"  # where buyers' money goes (pay methods)
    ERASE_BUYERS = "erase_buyers"  # erase a buyer's personal data (the GOM controls it)
    MANAGE = "manage"  # create and change group orders, open and close them, ask for money
    CANCEL_GO = "cancel_go"  # cancel a whole group order
    REFUNDS = "refunds"
    BROADCASTS = "broadcasts"  # message buyers, the waitlist or linked groups
    ORDERS = "orders"  # see, export and cancel orders; remind buyers to pay
    PROOFS = "proofs"  # review proofs of payment
    SHIPMENTS = "shipments"  # weights, tracking numbers, packing lists


# What each permission lets a person do, in the words a refusal uses ("a helper may not …").
DOES: dict[Permission, str] = {
    Permission.TEAM: "change the team",
    Permission.OPEN_GO: "open group orders (only a GOM can)",
    Permission.PAYOUTS: "change where buyers' money goes",
    Permission.ERASE_BUYERS: "erase a buyer's personal data",
    Permission.MANAGE: "set up or change a group order",
    Permission.CANCEL_GO: "cancel a whole group order",
    Permission.REFUNDS: "refund",
    Permission.BROADCASTS: "send or manage broadcasts",
    Permission.ORDERS: "handle orders",
    Permission.PROOFS: "review proofs of payment",
    Permission.SHIPMENTS: "handle shipments",
}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.MANAGER: frozenset(Permission)
    - {Permission.TEAM, Permission.PAYOUTS, Permission.OPEN_GO, Permission.ERASE_BUYERS},
    Role.HELPER: frozenset({Permission.ORDERS, Permission.PROOFS, Permission.SHIPMENTS}),
}

# Roles a GOM can give; the owner is the GOM, and there is one.
ASSIGNABLE = (Role.MANAGER, Role.HELPER)

# The order in which roles rank, highest first (a team's listing reads in this order).
RANKED = (Role.OWNER, Role.MANAGER, Role.HELPER)


def grants(role: str | None, permission: Permission) -> bool:
    """Whether ``role`` (a stored value, or None for someone not on the team) allows ``permission``."""
    if role is None or role not in Role.__members__.values():
        return False
    return permission in GRANTS[Role(role)]


def assignable_role(text: str) -> Role:
    """A role a GOM typed, refused with the choices when it is not one they can give."""
    word = text.strip().lower()
    for role in ASSIGNABLE:
        if word == role.value:
            return role
    choices = " or ".join(role.value for role in ASSIGNABLE)
    raise InvalidInput(
        "A team member is a %(choices)s; '%(text)s' is not a role you can give.",
        choices=choices,
        text=text[:30],
    )


def rank(role: str) -> int:
    """0 for the owner, then managers, then helpers; a role this version does not know
    ranks lowest (and ``grants`` nothing)."""
    return next((n for n, r in enumerate(RANKED) if r.value == role), len(RANKED) - 1)
