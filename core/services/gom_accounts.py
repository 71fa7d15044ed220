"""The operator's GOM accounts: who may run group orders, and taking that away again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from core.db.models import GroupOrder, Identity, StaffMember, User
from core.errors import Conflict, InvalidInput, UnknownUser
from core.privacy.identities import reach, stored_id
from core.status import GOStatus
from core.uow import UnitOfWork

FINISHED = (GOStatus.COMPLETED, GOStatus.FAILED, GOStatus.CANCELLED)


@dataclass(frozen=True)
class GomRow:
    name: str
    identities: tuple[str, ...]  # channel:id, the way `gomflow gom add` names them
    running: int  # group orders not finished
    helpers: int


async def list_goms(uow: UnitOfWork) -> list[GomRow]:
    """Every GOM, in the order they were registered, with where they write from."""
    async with uow:
        goms = (await uow.session.scalars(select(User).where(User.is_gom.is_(True)).order_by(User.id))).all()
        rows = []
        for user in goms:
            identities = await uow.session.execute(
                select(Identity.channel, Identity.external_id, Identity.address)
                .where(Identity.user_id == user.id, Identity.kind == "person")
                .order_by(Identity.id)
            )
            running = await uow.session.scalar(
                select(func.count()).where(GroupOrder.gom_id == user.id, GroupOrder.status.not_in(FINISHED))
            )
            helpers = await uow.session.scalar(
                select(func.count()).where(StaffMember.gom_id == user.id, StaffMember.member_id != user.id)
            )
            rows.append(
                GomRow(
                    user.display_name,
                    tuple(
                        f"{channel}:{reach(found, address)}" for channel, found, address in identities.all()
                    ),
                    running or 0,
                    helpers or 0,
                )
            )
        return rows


async def remove_gom(uow: UnitOfWork, channel: str, external_id: str) -> str:
    """Take away the right to run group orders, and the GOM's team with it; returns the name.

    Refused while any of their group orders is unfinished (its buyers still need a GOM).
    The change is a compare-and-set on ``is_gom``: of two operators at once, one removes.
    """
    who = f"{channel}:{external_id}"
    async with uow:
        user = await uow.session.scalar(
            select(User)
            .join(Identity, Identity.user_id == User.id)
            .where(
                Identity.channel == channel, Identity.external_id == stored_id(channel, external_id.strip())
            )
        )
        if user is None:
            raise UnknownUser(
                "Nobody has written to gomflow as %(who)s; `gomflow gom list` shows the GOMs.", who=who
            )
        running = (
            await uow.session.scalars(
                select(GroupOrder.code)
                .where(GroupOrder.gom_id == user.id, GroupOrder.status.not_in(FINISHED))
                .order_by(GroupOrder.code)
            )
        ).all()
        if running:
            raise Conflict(
                (
                    "%(display_name)s (%(who)s) still runs %(running)s; those group orders must be "
                    "completed or cancelled first."
                ),
                display_name=user.display_name,
                who=who,
                running=", ".join(running),
            )
        removed = await uow.session.execute(
            update(User).where(User.id == user.id, User.is_gom.is_(True)).values(is_gom=False)
        )
        if removed.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput(
                "%(display_name)s (%(who)s) is not a GOM.", display_name=user.display_name, who=who
            )
        await uow.session.execute(delete(StaffMember).where(StaffMember.gom_id == user.id))
        uow.audit(actor_id=None, entity="user", entity_id=user.id, action="gom_removed")
        await uow.commit()
        return user.display_name
