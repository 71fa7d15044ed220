"""Closing the outbound transports; which ones run is decided by ``platforms.py``."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from channels.base import Channel

log = logging.getLogger(__name__)


async def close_all(channels: Mapping[str, Channel]) -> None:
    for channel in channels.values():
        close = getattr(channel, "close", None)
        if close is not None:
            try:
                await close()
            except Exception:  # shutting down: log and go on closing the others
                log.exception("closing the %s transport failed", channel.name)
