"""QR images of payment payloads, as PNG bytes for the chat reply and the pay page.

Drawing a QR PNG takes tens of milliseconds of pure Python; 200 buyers opening their pay
page (or sending /pay) at once would hold the event loop, and every bot reply, for
seconds. The image is a function of the payload alone, so ``QrImages`` draws it in a
worker thread and keeps it: later loads of the same payment request, and loads arriving
while it is drawn, share the one drawing.
"""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict

import segno


def qr_png(payload: str, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


MAX_KEPT = 512  # recent payment requests; a PNG is a few kilobytes


class QrImages:
    def __init__(self, max_kept: int = MAX_KEPT) -> None:
        self._kept: OrderedDict[str, asyncio.Future[bytes]] = OrderedDict()
        self._max_kept = max_kept
        self.drawn = 0  # how many images were drawn (for the benchmark and the test)

    async def png(self, payload: str) -> bytes:
        """The PNG of ``payload``, drawn once in a worker thread and shared."""
        kept = self._kept.get(payload)
        if kept is None:
            kept = asyncio.ensure_future(self._draw(payload))
            self._kept[payload] = kept
            while len(self._kept) > self._max_kept:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(payload)
        try:
            return await asyncio.shield(kept)  # one loader giving up does not cancel the others'
        except Exception:
            if self._kept.get(payload) is kept:
                del self._kept[payload]  # a failed drawing is not kept
            raise

    async def _draw(self, payload: str) -> bytes:
        self.drawn += 1
        return await asyncio.to_thread(qr_png, payload)
