"""Reading a GOM's bank QR from a photo: how long it takes, and how long the event loop
stands still meanwhile (the drop's buyers share that loop).

    python -m bench.qr_photo [--megapixels 12] [--rounds 5]

Each round reads the same photo through ``set_methods``'s path (``asyncio.to_thread``)
while a ticker on the loop records its longest gap; the same read done inline on the loop
is the comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import time
from collections.abc import Sequence
from typing import Any

from PIL import Image

from bench.common import table
from core.payments.qr_photo import read_payment_qr
from tests.qr_pictures import photo_of, static_paynow


def phone_photo(megapixels: float) -> bytes:
    """The QR in the middle of a white photo of about ``megapixels``, as a JPEG."""
    qr = Image.open(io.BytesIO(photo_of(static_paynow(), "png")))
    width = int(math.sqrt(megapixels * 1_000_000 * 3 / 4))
    height = width * 4 // 3
    picture = Image.new("RGB", (width, height), "white")
    picture.paste(qr, ((width - qr.width) // 2, (height - qr.height) // 2))
    out = io.BytesIO()
    picture.save(out, format="jpeg", quality=85)
    return out.getvalue()


async def _longest_pause(read: Any) -> tuple[float, float]:
    """(seconds the read took, the loop's longest gap between ticks meant 1 ms apart)."""
    longest = 0.0
    done = False

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    await read()
    took = time.perf_counter() - started
    done = True
    await task
    return took, longest


async def measure(megapixels: float, rounds: int) -> dict[str, Any]:
    photo = phone_photo(megapixels)
    threaded, inline = [], []
    for _ in range(rounds):
        threaded.append(await _longest_pause(lambda: asyncio.to_thread(read_payment_qr, photo)))

        async def on_loop() -> None:
            read_payment_qr(photo)

        inline.append(await _longest_pause(on_loop))
    return {
        "megapixels": megapixels,
        "bytes": len(photo),
        "read ms": 1000 * min(t for t, _ in threaded),
        "pause ms (thread)": 1000 * max(p for _, p in threaded),
        "pause ms (inline)": 1000 * max(p for _, p in inline),
    }


def report(r: dict[str, Any]) -> str:
    return table(
        [
            ("photo", f"{r['megapixels']:g} MP JPEG, {r['bytes'] / 1024:.0f} KiB"),
            ("read (best round)", f"{r['read ms']:.0f} ms"),
            ("longest loop pause, read in a thread", f"{r['pause ms (thread)']:.0f} ms"),
            ("longest loop pause, read on the loop", f"{r['pause ms (inline)']:.0f} ms"),
        ]
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.qr_photo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.megapixels, args.rounds))
    print(report(result))
    return result


if __name__ == "__main__":
    main()
