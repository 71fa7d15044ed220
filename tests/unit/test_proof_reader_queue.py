"""Screenshots are read one at a time in a thread of their own, and a read nobody waits for
any more is never started."""

from __future__ import annotations

import asyncio
import threading

import pytest

from core.payments.reading import ProofReading
from core.payments.reading.use import read_image


async def test_a_read_given_up_while_queued_never_runs_and_the_default_executor_stays_free() -> None:
    release, started = threading.Event(), []

    def slow_reader(image: bytes, *, expect_currency: str | None = None) -> ProofReading:
        started.append(image)
        release.wait(timeout=60)
        return ProofReading(note=image.decode())

    first = asyncio.ensure_future(read_image(b"first", "SGD", slow_reader))
    while not started:
        await asyncio.sleep(0.01)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(read_image(b"second", "SGD", slow_reader), 0.2)
    # meanwhile the shared executor (images cleaned, QR codes drawn) is not held up
    assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 30) == "free"
    release.set()
    assert (await asyncio.wait_for(first, 30)).note == "first"
    assert (await asyncio.wait_for(read_image(b"third", "SGD", slow_reader), 30)).note == "third"
    assert started == [b"first", b"third"]
