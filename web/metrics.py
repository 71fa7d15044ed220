"""``/metrics``: what this worker did, in the Prometheus text format.

Counters move as the core records events (``core.metrics``): orders placed and refused,
payments credited, messages sent and failed per channel, the order desk's batch sizes and
database time. The outbox's depth and the age of its oldest pending message are read from
the database at each scrape (one indexed count), so every worker reports the same queue.

Not public: with ``GOMFLOW_METRICS_TOKEN`` set, a scrape must send
``Authorization: Bearer <token>``; without it, only a request from this machine that no
proxy forwarded (no ``X-Forwarded-For``) is answered.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from datetime import datetime

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select

from core import metrics
from core.app import Core
from core.db.models import OutboxMessage

LOOPBACK = frozenset({"127.0.0.1", "::1"})
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
BATCH_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class WorkerMetrics:
    """This process's counters in their own registry (one per web app, so tests that build
    several apps never share counts)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.placed = Counter("gomflow_orders_placed", "Orders placed", registry=r)
        self.refused = Counter("gomflow_orders_refused", "Orders refused, by reason", ["code"], registry=r)
        self.payments = Counter("gomflow_payments", "Payments credited", ["provider"], registry=r)
        self.sent = Counter("gomflow_messages_sent", "Messages a platform accepted", ["channel"], registry=r)
        self.send_errors = Counter(
            "gomflow_send_errors", "Sends that failed, by channel and kind", ["channel", "kind"], registry=r
        )
        self.batch_size = Histogram(
            "gomflow_desk_batch_size", "Orders and plans per desk batch", buckets=BATCH_SIZES, registry=r
        )
        self.batch_seconds = Histogram(
            "gomflow_desk_batch_seconds", "Database time per desk batch", buckets=BATCH_SECONDS, registry=r
        )
        self.outbox_pending = Gauge("gomflow_outbox_pending", "Outbox messages waiting", registry=r)
        self.outbox_age = Gauge(
            "gomflow_outbox_oldest_pending_seconds", "Age of the oldest pending outbox message", registry=r
        )
        self.database_up = Gauge(
            "gomflow_database_up", "1 when the scrape could read the database", registry=r
        )
        self._stop: Callable[[], None] | None = None

    def hear(self, event: str, labels: Mapping[str, str], value: float) -> None:
        if event == metrics.ORDER_PLACED:
            self.placed.inc()
        elif event == metrics.ORDER_REFUSED:
            self.refused.labels(labels.get("code", "error")).inc()
        elif event == metrics.PAYMENT:
            self.payments.labels(labels.get("provider", "unknown")).inc()
        elif event == metrics.SENT:
            self.sent.labels(labels.get("channel", "")).inc()
        elif event == metrics.SEND_ERROR:
            self.send_errors.labels(labels.get("channel", ""), labels.get("kind", "")).inc()
        elif event == metrics.DESK_BATCH:
            self.batch_size.observe(value)
        elif event == metrics.DESK_SECONDS:
            self.batch_seconds.observe(value)

    def start(self) -> None:
        if self._stop is None:
            self._stop = metrics.listen(self.hear)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None

    async def read_outbox(self, core: Core) -> None:
        """The queue as the database has it: shared by every worker, so any one may report it."""
        try:
            async with core.reader() as uow:
                count, oldest = (
                    await uow.session.execute(
                        select(func.count(), func.min(OutboxMessage.created_at)).where(
                            OutboxMessage.status == "pending"
                        )
                    )
                ).one()
                now = uow.now
        except Exception:  # the scrape still answers, and says the database did not
            self.database_up.set(0)
            return
        self.database_up.set(1)
        self.outbox_pending.set(int(count or 0))
        self.outbox_age.set(_age(now, oldest))


def _age(now: datetime, oldest: datetime | None) -> float:
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


METRICS = web.AppKey("metrics", WorkerMetrics)


def allowed(request: web.Request, token: str) -> bool:
    """A scrape with the configured bearer token, or, with none configured, from this machine."""
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return request.remote in LOOPBACK and "X-Forwarded-For" not in request.headers


def add_metrics_routes(app: web.Application, core: Core) -> None:
    worker = WorkerMetrics()
    app[METRICS] = worker

    async def scrape(request: web.Request) -> web.Response:
        if not allowed(request, core.settings.metrics_token):
            raise web.HTTPNotFound()  # nothing here for anyone else, not even its existence
        await worker.read_outbox(core)
        return web.Response(
            body=generate_latest(worker.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def start(_: web.Application) -> None:
        worker.start()

    async def stop(_: web.Application) -> None:
        worker.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_get("/metrics", scrape)
