"""Bulk loads without the cycle collector: recovery builds a hundred thousand objects at once.

CPython's cycle collector runs every few hundred new container objects, and its older
generations rescan everything built so far: filling the scheduler with 100k jobs spent
about 40% of recovery's time in collections that found nothing (the objects are a tree,
no cycles). ``collector_paused`` turns it off around one synchronous step, so no other
task runs meanwhile, and back on after (it then runs as usual).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cycle collection inside the block (which must not await); as before after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
