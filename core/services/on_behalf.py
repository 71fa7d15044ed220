"""A GOM or helper places an order for a buyer who asked them elsewhere (a DM on
Instagram): ``/orderfor CODE @handle …`` for a buyer gomflow knows, ``/orderfor CODE
new:"Name" …`` for a new named buyer with no chat account.

The order goes through the order desk like every order (limits, stock, capacity and the
buyer's own per-buyer quota), and its audit row names the GOM or helper as the actor:
"placed by gina for Mina". A new named buyer is written with the order and deleted if
it is refused, so a refused order leaves nobody behind. Changing an order for a buyer is
``/change``, which the GO's GOM and helpers may run on any of its orders.
"""

from __future__ import annotations

from sqlalchemy import func, select

from core.db.models import Identity, User
from core.errors import InvalidInput, PermissionDenied
from core.lookups import load_go
from core.quantities import LineRequest
from core.services.accounts import MAX_NAME, Actor, require_admin
from core.services.ordering import place_order
from core.uow import UnitOfWork
from core.views import OrderView

NEW = "new:"
USAGE = '/orderfor CODE BUYER ITEM QTY [ITEM QTY …]  (BUYER is @handle, or new:"Name")'


async def place_order_for(
    uow: UnitOfWork, staff: Actor, go_code: str, buyer: str, requests: list[LineRequest]
) -> OrderView:
    if not staff.may_administer:
        raise PermissionDenied("Only a GOM or a helper can order for someone else.")
    async with uow:
        await require_admin(uow, staff, await load_go(uow, go_code))
        if buyer.lower().startswith(NEW):
            name = " ".join(buyer[len(NEW) :].split())
            if not name or len(name) > MAX_NAME:
                raise InvalidInput(
                    'Give the new buyer\'s name, up to %(max_name)s characters: new:"Mina Kim".',
                    max_name=MAX_NAME,
                )
            known = None
        elif buyer.startswith("@") and len(buyer) > 1:
            known = await _buyer_by_handle(uow, buyer[1:], staff.channel)
        else:
            raise InvalidInput("Usage: %(usage)s", usage=USAGE)
    if known is None:
        return await place_order(uow, _placeholder(staff), go_code, requests, placed_by=staff, new_buyer=name)
    return await place_order(uow, known, go_code, requests, placed_by=staff)


async def _buyer_by_handle(uow: UnitOfWork, handle: str, channel: str) -> Actor:
    """The one person who wrote as @handle; the order is recorded on the staff's channel."""
    cleaned = handle.strip().lower()[:MAX_NAME]
    found = (
        await uow.session.execute(
            select(User.id, User.display_name)
            .join(Identity, Identity.user_id == User.id)
            .where(func.lower(Identity.handle) == cleaned)
            .group_by(User.id, User.display_name)
            .limit(2)
        )
    ).all()
    if not found:
        raise InvalidInput(
            ('gomflow knows nobody as @%(cleaned)s. For a buyer with no chat account, use new:"Their Name".'),
            cleaned=cleaned,
        )
    if len(found) > 1:
        raise InvalidInput(
            "More than one person wrote as @%(cleaned)s; ask the buyer to order themselves.", cleaned=cleaned
        )
    [(user_id, name)] = found
    return Actor(user_id, 0, channel, name, False, False)


def _placeholder(staff: Actor) -> Actor:
    """Stands for the new buyer until the desk writes them (``PlaceOrder.new_buyer``)."""
    return Actor(0, 0, staff.channel, "", False, False)
