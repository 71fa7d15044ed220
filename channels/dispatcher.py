"""Delivers the outbox: claims due messages, renders them per channel, records the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from channels.base import Channel, DeliveryError, RecipientUnreachable
from core.app import Core
from core.outbox import Outgoing, claim_due, mark_failed, mark_retry, mark_sent
from core.render import Renderer

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self, core: Core, renderer: Renderer, channels: Mapping[str, Channel], poll_seconds: float = 5.0
    ) -> None:
        self._core = core
        self._renderer = renderer
        self._channels = channels
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        core.outbox_listeners.append(self._wake.set)

    async def run_once(self) -> int:
        """Deliver everything due now; returns how many were delivered."""
        delivered = 0
        while batch := await claim_due(self._core.uow()):
            for message in batch:
                delivered += await self._deliver(message)
        return delivered

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox delivery round failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def _deliver(self, message: Outgoing) -> int:
        channel = self._channels.get(message.channel)
        if channel is None:
            await mark_retry(self._core.uow(), message, f"no {message.channel} transport is running")
            return 0
        try:
            rendered = self._renderer.render(message.template, message.channel, message.context)
            await channel.send(message.address, rendered)
        except RecipientUnreachable as exc:
            await mark_failed(self._core.uow(), message, str(exc), unreachable=True)
            return 0
        except DeliveryError as exc:
            await mark_retry(self._core.uow(), message, str(exc), exc.retry_after)
            return 0
        except Exception as exc:
            log.exception("delivering outbox message %s failed", message.id)
            await mark_retry(self._core.uow(), message, repr(exc))
            return 0
        await mark_sent(self._core.uow(), message.id)
        return 1
