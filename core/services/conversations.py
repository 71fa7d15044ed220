"""Where a multi-step chat flow stands, kept in the database (DESIGN rule 3)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete

from core.db.models import Conversation
from core.uow import UnitOfWork


@dataclass
class ConversationState:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


async def load_conversation(uow: UnitOfWork, identity_id: int) -> ConversationState | None:
    async with uow:
        row = await uow.session.get(Conversation, identity_id)
        return None if row is None else ConversationState(row.flow, row.step, json.loads(row.data))


async def save_conversation(uow: UnitOfWork, identity_id: int, state: ConversationState) -> None:
    async with uow:
        row = await uow.session.get(Conversation, identity_id)
        if row is None:
            row = Conversation(
                identity_id=identity_id,
                flow=state.flow,
                step=state.step,
                data="{}",
                updated_at=uow.now,
            )
            uow.session.add(row)
        row.flow, row.step = state.flow, state.step
        row.data = json.dumps(state.data, ensure_ascii=False)
        row.updated_at = uow.now
        await uow.commit()


async def end_conversation(uow: UnitOfWork, identity_id: int) -> bool:
    async with uow:
        result = await uow.session.execute(
            delete(Conversation).where(Conversation.identity_id == identity_id)
        )
        await uow.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]
