"""The garbage collector of a serving process, set for bursts of orders.

Start-up makes some 200,000 objects that live as long as the process (modules, mappers,
SQLAlchemy's and discord.py's state). Left to CPython's defaults, every full collection
walks them all, and one falling inside a drop took 0.2-0.9 s of it (measured with
``gc.callbacks`` in ``bench.scale``: 500 buyers at once, p99 220-280 ms with it, 55-80 ms
without). Frozen out of the collector's way, a collection walks only what is new; and a
young generation of 10,000 objects instead of 700 lets a batch of orders make its
short-lived tuples and rows without a collection every few orders (the order desk's CPU
per order fell by a further fifth, ``bench.scale``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_GENERATION = 10_000

_depth = 0
_defaults = gc.get_threshold()


@contextmanager
def settled_heap() -> Iterator[None]:
    """While serving: what exists now is frozen, and the young generation is larger.

    Entered again (an adapter that connects later), it freezes what was made since; the
    collector is given back as it was only when the outermost one ends, so tests that start
    and stop gomflow many times in one process do not keep their garbage forever."""
    global _depth, _defaults
    if _depth == 0:
        _defaults = gc.get_threshold()
        gc.collect()  # what is garbage now is not frozen with the rest
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, _defaults[1], _defaults[2])
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.set_threshold(*_defaults)
            gc.unfreeze()
