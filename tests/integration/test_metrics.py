"""``/metrics``: the Prometheus text format, counters that move with the work, and a page
nobody outside the machine (or without the token) can read."""

from __future__ import annotations

from dataclasses import replace

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from main import App
from tests.conftest import open_go, say
from web.app import build_web_app

TOKEN = "metrics-" + "t0ken-" + "for-tests"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, parsed by prometheus_client's own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client: TestClient, headers: dict[str, str] | None = None) -> str:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, response.status
    assert response.headers["Content-Type"].startswith("text/plain")
    return await response.text()


async def test_counters_move_with_orders_and_the_outbox_is_read_at_scrape(any_app: App) -> None:
    await open_go(any_app, cap=3, limit=2)
    async with TestClient(TestServer(build_web_app(any_app.core), host="127.0.0.1")) as client:
        before = samples(await scrape(client))
        assert before[("gomflow_orders_placed_total", ())] == 0
        assert ("gomflow_outbox_pending", ()) in before
        assert before[("gomflow_database_up", ())] == 1

        assert "⚠️" not in (await say(any_app, "bob", "/order SVT-FML ALB:A 2")).text
        assert "⚠️" in (await say(any_app, "amy", "/order SVT-FML ALB:A 3")).text  # over the limit
        after = samples(await scrape(client))

    assert after[("gomflow_orders_placed_total", ())] == 1
    refused = {labels: v for (name, labels), v in after.items() if name == "gomflow_orders_refused_total"}
    assert sum(refused.values()) == 1 and all(dict(k)["code"] for k in refused)
    assert after[("gomflow_desk_batch_size_count", ())] >= 2
    assert after[("gomflow_desk_batch_seconds_sum", ())] > 0
    assert after[("gomflow_outbox_pending", ())] >= 0
    assert after[("gomflow_outbox_oldest_pending_seconds", ())] >= 0


async def test_a_payment_is_counted_by_provider_once_committed(app: App) -> None:
    await open_go(app)
    await say(app, "bob", "/order SVT-FML ALB:A 1")
    async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:
        assert "SVT-FML-1" in (await say(app, "gina", "/markpaid SVT-FML-1 25.90 cash")).text
        assert "⚠️" in (await say(app, "gina", "/markpaid SVT-FML-404 25.90 cash")).text
        after = samples(await scrape(client))
    payments = {dict(k)["provider"]: v for (name, k), v in after.items() if name == "gomflow_payments_total"}
    assert payments == {"manual": 1.0}


async def test_metrics_are_not_public(app: App) -> None:
    async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:
        proxied = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
        assert proxied.status == 404  # through a proxy: someone else's request

    app.core.settings = replace(app.core.settings, metrics_token=TOKEN)
    async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:
        for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            assert (await client.get("/metrics", headers=headers)).status == 404, headers
        text = await scrape(client, {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "203.0.113.7"})
    assert "gomflow_orders_placed_total" in text
