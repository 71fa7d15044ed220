"""The core's composition: a database, a clock and who to wake when messages are queued."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from core.clock import Clock, SystemClock
from core.config import Settings
from core.db.engine import Database, connect
from core.desk import OrderDesk
from core.payments.gateway import PaymentGateway
from core.payments.qr import QrImages
from core.pg_batches import run_batch
from core.privacy.keys import Keyring
from core.privacy.setup import attach, load_keyring
from core.throttle import InboundLimit
from core.uow import UnitOfWork
from core.verification import ChannelVerifier, LinkTarget


@dataclass
class Core:
    db: Database
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    outbox_listeners: list[Callable[[], None]] = field(default_factory=list)
    # SQLite has one writer at a time; queueing writers here instead of in SQLite's
    # busy handler (which sleeps and polls) keeps a drop's latency low and fair.
    write_lock: asyncio.Lock | None = None
    # Payment providers configured for this deployment, by method name ("stripe", …).
    payment_gateways: dict[str, PaymentGateway] = field(default_factory=dict)
    # Ways to pay inside a chat app this deployment can take ("telegram": invoices).
    in_chat_payments: set[str] = field(default_factory=set)
    # Who checks that a GOM controls a chat they link, by platform ("telegram", "discord").
    channel_verifiers: dict[str, ChannelVerifier] = field(default_factory=dict)
    # What a linkable destination looks like, by platform (from the platform registry).
    link_targets: dict[str, LinkTarget] = field(default_factory=dict)
    # The data keys that seal personal values (attached to the engine by build_core).
    keyring: Keyring | None = None
    # QR images of payment requests, drawn off the event loop and kept (chat and pay page).
    qr_images: QrImages = field(default_factory=QrImages)
    # How fast one sender may write to us (core.throttle); built from the settings.
    inbound_limit: InboundLimit = field(default_factory=InboundLimit)

    desk: OrderDesk = field(init=False)

    def __post_init__(self) -> None:
        if self.db.is_sqlite and self.write_lock is None:
            self.write_lock = asyncio.Lock()
        self.desk = OrderDesk(self.db, self.clock, self.write_lock, run_batch)

    async def close(self) -> None:
        await self.desk.close()
        await self.db.dispose()

    def offered_gateways(self) -> frozenset[str]:
        """The payment methods that need this server's configuration and have it."""
        return frozenset(self.payment_gateways) | frozenset(self.in_chat_payments)

    def uow(self) -> UnitOfWork:
        """A unit of work that may write."""
        return UnitOfWork(self.db, self.clock, self._outbox_changed, self.write_lock, desk=self.desk)

    def reader(self) -> UnitOfWork:
        """A unit of work for queries; on SQLite it never takes the write lock."""
        return UnitOfWork(self.db, self.clock, read_only=True)

    def _outbox_changed(self) -> None:
        for listener in self.outbox_listeners:
            listener()


def build_core(settings: Settings, clock: Clock | None = None) -> Core:
    db = connect(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pgbouncer=settings.db_pgbouncer,
    )
    keyring = load_keyring(settings.database_url, settings.data_keys, settings.index_key)
    attach(db.engine.sync_engine.dialect, keyring)
    limit = InboundLimit(settings.inbound_rate, settings.inbound_burst)
    return Core(db=db, settings=settings, clock=clock or SystemClock(), keyring=keyring, inbound_limit=limit)
