"""The one place the review flow calls the screenshot reader.

Reading is evidence, never a gate: whatever the reader does (is not installed, raises,
finds nothing), the buyer's proof is stored and the GOM told. The reader is imported on
first use so a server that never reads pays nothing for it, and it runs in a worker
thread because OCR is seconds of CPU the event loop must not wait on.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.payments.reading import ProofReading

log = logging.getLogger(__name__)

READER_MODULE = "core.payments.reading.proof"
NOT_INSTALLED = "Screenshots are not read on this server (the reader is not installed)."
FAILED = "The screenshot could not be read; look at it yourself."

Reader = Callable[..., ProofReading]


def _reader() -> Reader | None:
    try:
        module: Any = importlib.import_module(READER_MODULE)
    except ImportError:
        return None
    found: Reader | None = getattr(module, "read_proof", None)
    return found


def available() -> bool:
    """Whether this server can read screenshots at all (the reader is installed); found
    without importing it, so asking costs nothing."""
    return importlib.util.find_spec(READER_MODULE) is not None


def read_now(image: bytes, currency: str | None, reader: Reader | None = None) -> ProofReading:
    """Read ``image`` in the calling thread; a reading with a note when it cannot be read."""
    use = reader or _reader()
    if use is None:
        return ProofReading(note=NOT_INSTALLED)
    try:
        reading = use(image, expect_currency=currency)
    except Exception:  # the reader's failure must never become the buyer's
        log.exception("reading a proof screenshot failed")
        return ProofReading(note=FAILED)
    if not isinstance(reading, ProofReading):
        return ProofReading(note=FAILED)
    return reading


# One thread of its own: the OCR engine reads one image at a time anyway, and a burst of
# screenshots queued on the shared default executor would hold up everything else that
# runs there (proof images cleaned, QR codes drawn).
_READING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gomflow-proof-reader")


async def read_image(image: bytes, currency: str | None, reader: Reader | None = None) -> ProofReading:
    """``read_now`` in the reader's own thread, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_READING, read_now, image, currency, reader)
