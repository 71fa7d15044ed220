"""Where a multi-step chat flow stands, kept in the database (DESIGN rule 3)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete

from core.db.models import Conversation
from core.uow import UnitOfWork

MENU_KEY = "numbered_menu"  # where ``menu`` is kept in the row, beside the flow's own data


@dataclass
class ConversationState:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    # the numbered options of the last question asked, on a platform without buttons
    # (``bots.numbered``); kept apart from ``data``, which is the flow's alone
    menu: dict[str, Any] | None = None


async def load_conversation(uow: UnitOfWork, identity_id: int) -> ConversationState | None:
    async with uow:
        row = await uow.session.get(Conversation, identity_id)
        if row is None:
            return None
        data = json.loads(row.data)
        return ConversationState(row.flow, row.step, data, data.pop(MENU_KEY, None))


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
        stored = state.data if state.menu is None else {**state.data, MENU_KEY: state.menu}
        row.data = json.dumps(stored, ensure_ascii=False)
        row.updated_at = uow.now
        await uow.commit()


async def end_conversation(uow: UnitOfWork, identity_id: int) -> bool:
    async with uow:
        result = await uow.session.execute(
            delete(Conversation).where(Conversation.identity_id == identity_id)
        )
        await uow.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]
