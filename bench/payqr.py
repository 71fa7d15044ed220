"""Pay-page QR benchmark: a crowd loads one payment's QR image while a buyer asks the bot.

``--loads`` requests for the same ``/pay/{token}/qr.png`` go to the real web app at once;
meanwhile a buyer sends ``/browse`` and we time the reply. Run as built (the image drawn
once in a worker thread and shared) and, for comparison, drawing it on the event loop for
every request, as the pay page did before.
Run: ``python -m bench.payqr``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time

from aiohttp.test_utils import TestClient, TestServer

from bench.common import table
from core.config import Settings
from core.db.migrate import upgrade
from core.payments.qr import QrImages, qr_png
from main import App, bootstrap
from tests.conftest import open_go, say
from web.app import build_web_app


class DrawnOnTheLoop(QrImages):
    """The old way, for comparison only: every load draws the image on the event loop."""

    async def png(self, payload: str) -> bytes:
        self.drawn += 1
        return qr_png(payload)


async def pay_page(app: App) -> str:
    await open_go(app)
    await say(app, "gina", "/paymethods SVT-FML paynow:+6591234567 manual")
    await say(app, "bob", "/order SVT-FML ALB:A 1")
    [url] = [b.url for row in (await say(app, "bob", "/pay SVT-FML-1")).buttons for b in row if b.url]
    assert url is not None
    return "/pay/" + url.rsplit("/pay/", 1)[1]


async def run(loads: int, images: QrImages) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        app = bootstrap(Settings(database_url=f"sqlite+aiosqlite:///{tmp}/qr.db"), write=lambda _: None)
        try:
            await upgrade(app.core.db)
            page = await pay_page(app)
            app.core.qr_images = images
            async with TestClient(TestServer(build_web_app(app.core), host="127.0.0.1")) as client:

                async def load() -> int:
                    response = await client.get(f"{page}/qr.png")
                    await response.read()
                    return response.status

                start = time.monotonic()
                crowd = [asyncio.ensure_future(load()) for _ in range(loads)]
                await asyncio.sleep(0)
                asked = time.monotonic()
                await say(app, "cara", "/browse")
                reply_ms = (time.monotonic() - asked) * 1000
                statuses = await asyncio.gather(*crowd)
                seconds = time.monotonic() - start
        finally:
            await app.core.close()
    return {
        "ok": sum(status == 200 for status in statuses),
        "loads_per_s": loads / seconds,
        "reply_ms": reply_ms,
        "drawn": images.drawn,
    }


async def bench(loads: int) -> dict[str, float]:
    shared = await run(loads, QrImages())
    old = await run(loads, DrawnOnTheLoop())
    print(
        table(
            [
                ("cores", str(os.cpu_count())),
                ("QR loads at once (one payment)", f"{loads:,}"),
                ("as built: loads per second", f"{shared['loads_per_s']:,.0f}"),
                ("as built: a bot reply meanwhile", f"{shared['reply_ms']:,.0f} ms"),
                ("as built: images drawn", f"{shared['drawn']:,.0f}"),
                ("drawn on the loop each time: loads per second", f"{old['loads_per_s']:,.0f}"),
                ("drawn on the loop each time: a bot reply meanwhile", f"{old['reply_ms']:,.0f} ms"),
                ("drawn on the loop each time: images drawn", f"{old['drawn']:,.0f}"),
            ]
        ),
        flush=True,
    )
    return {**shared, "old_reply_ms": old["reply_ms"], "old_drawn": old["drawn"]}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="A crowd loading one pay page's QR image")
    parser.add_argument("--loads", type=int, default=200)
    args = parser.parse_args(argv)
    return asyncio.run(bench(args.loads))


if __name__ == "__main__":
    main()
