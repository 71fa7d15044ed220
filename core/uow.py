"""The unit of work: one database transaction around one use case.

``async with core.uow() as uow:`` rolls back unless the service calls ``commit()``.
Messages queued with ``notify`` are rows in the same transaction (nothing is sent from
inside it); once it commits, the listeners wake the dispatcher.

While an inbound update is being handled (``core.inbound.handling``), the first commit
also marks that update handled, in the same transaction: the update's effect and its
mark commit together, or neither does (DESIGN rule 5).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import inbound
from core.clock import Clock
from core.db.engine import Database
from core.db.models import AuditEntry, Identity, OutboxMessage, User
from core.db.upsert import insert_ignoring_conflict
from core.errors import AlreadyHandled

if TYPE_CHECKING:
    from core.desk import OrderDesk


class UnitOfWork:
    session: AsyncSession

    def __init__(
        self,
        db: Database,
        clock: Clock,
        on_outbox: Callable[[], None] | None = None,
        write_lock: asyncio.Lock | None = None,
        *,
        read_only: bool = False,
        desk: OrderDesk | None = None,
    ) -> None:
        self._desk = desk
        self._read_only = read_only
        self._sessions = db.reader if read_only else db.writer
        self._write_lock = None if read_only else write_lock
        self._clock = clock
        self._on_outbox = on_outbox
        self._queued = 0
        self._after_commit: list[Callable[[], None]] = []
        self.now: datetime = clock.now()

    @property
    def desk(self) -> OrderDesk:
        """Where new orders are placed, in group-committed batches."""
        if self._desk is None:
            raise RuntimeError("this unit of work cannot place orders")
        return self._desk

    async def __aenter__(self) -> UnitOfWork:
        if self._write_lock is not None:
            await self._write_lock.acquire()
        self.session = self._sessions()
        self.now = self._clock.now()
        self._queued = 0
        self._after_commit = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed; unlike rollback() it leaves
        # loaded objects readable (detached) for the view the service returns.
        try:
            await self.session.close()
        finally:
            if self._write_lock is not None:
                self._write_lock.release()

    async def commit(self) -> None:
        handling = None if self._read_only else inbound.current()
        if handling is not None and not await inbound.mark(self, handling):
            await self.session.rollback()
            raise AlreadyHandled("Already done: that message was handled once.")
        await self.session.commit()
        if handling is not None:
            handling.marked = True
        if self._queued and self._on_outbox is not None:
            self._on_outbox()
        self._queued = 0
        done, self._after_commit = self._after_commit, []
        for callback in done:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed (never if it rolls back)."""
        self._after_commit.append(callback)

    def mark_queued(self, count: int = 1) -> None:
        """Messages were written to the outbox directly (in bulk): wake the dispatcher on commit."""
        self._queued += count

    def audit(
        self,
        *,
        actor_id: int | None,
        entity: str,
        entity_id: int,
        action: str,
        from_status: str | None = None,
        to_status: str | None = None,
        detail: str = "",
    ) -> None:
        self.session.add(
            AuditEntry(
                at=self.now,
                actor_id=actor_id,
                entity=entity,
                entity_id=entity_id,
                action=action,
                from_status=from_status,
                to_status=to_status,
                detail=detail,
            )
        )

    async def notify(
        self,
        identity_id: int,
        template: str,
        context: dict[str, Any],
        *,
        dedupe_key: str,
        priority: int = 10,
    ) -> None:
        """Queue one message; a second message with the same dedupe key is dropped."""
        await self.session.execute(
            insert_ignoring_conflict(
                self.session,
                OutboxMessage,
                {
                    "dedupe_key": dedupe_key,
                    "identity_id": identity_id,
                    "template": template,
                    "context": json.dumps(context, default=str, ensure_ascii=False),
                    "priority": priority,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": self.now,
                    "created_at": self.now,
                },
                ["dedupe_key"],
            )
        )
        self._queued += 1

    async def notify_user(
        self,
        user_id: int,
        template: str,
        context: dict[str, Any],
        *,
        dedupe_key: str,
        prefer_channel: str | None = None,
        priority: int = 10,
    ) -> bool:
        """Queue a message on the user's reachable identity: the app they chose (/prefer),
        else ``prefer_channel`` (where the order was placed), else the first; False if none."""
        rows = (
            await self.session.execute(
                select(Identity, User.preferred_channel)
                .join(User, User.id == Identity.user_id)
                .where(Identity.user_id == user_id, Identity.reachable.is_(True))
                .order_by(Identity.id)
            )
        ).all()
        if not rows:
            return False
        identities = [identity for identity, _ in rows]
        chosen = next(
            (i for want in (rows[0][1], prefer_channel) for i in identities if want and i.channel == want),
            identities[0],
        )
        await self.notify(chosen.id, template, context, dedupe_key=dedupe_key, priority=priority)
        return True
