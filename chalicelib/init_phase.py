"""Cyclic garbage collection paused while a Lambda container starts (issue 13 §8).

Python runs a collection every few hundred allocations. A container's init -- importing its entry point,
wiring the container, the first request's lazy loads -- allocates tens of thousands of objects that live as
long as the container, so those collections free next to nothing and cost 6-12 % of the init (make bench,
docs/PERFORMANCE.md). In Lambda only (its runtime sets AWS_LAMBDA_RUNTIME_API), an entry point pauses
collection before its imports and the end of its first invocation resumes it (the handler wrappers in
observability.py and api/metrics_flush.py). Resuming first freezes what is alive (`gc.freeze()`): the first
collection would otherwise walk every object of the init (about 130,000), which all live as long as the
container, and later full collections would walk them again. Reference counting frees most garbage meanwhile;
what a reference cycle held during the init stays (300-500 objects measured per entry point, make bench's
children). Tests and the local stack collect as usual.
"""

from __future__ import annotations

import gc
import os

LAMBDA_RUNTIME_API = "AWS_LAMBDA_RUNTIME_API"

_paused = False


def pause() -> None:
    """In a Lambda container, stop automatic collection until `resume()`; elsewhere do nothing."""
    global _paused
    if os.environ.get(LAMBDA_RUNTIME_API) and gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze the init's objects and turn automatic collection back on, if `pause()` turned it off (once;
    later calls do nothing)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
