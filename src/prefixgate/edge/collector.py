"""Building a whole serving state from text without Python's cyclic garbage collector walking it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["building_long_lived"]


@contextmanager
def building_long_lived() -> Iterator[None]:
    """Run the body with the cyclic collector off; then move every object alive into the collector's
    permanent generation (`gc.freeze`) and turn it back on if it was on.

    Reading a snapshot creates millions of objects (the parsed JSON, rows, their addresses), none in a
    cycle, and the state they make lives until the next snapshot. Each full collection that their growing
    number triggers walks all of them again, and so would the first collection after the body: at 1M
    delegations that was about half the time a snapshot took to read (BENCHMARKS.md, "Read it back").
    Reference counting frees everything as usual, frozen or not; only cycles alive at the end (none are
    made here) would stay until the process ends.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_on:
            gc.enable()
