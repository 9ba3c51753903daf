"""Cyclic garbage collection paused while a Lambda container starts (issue 13 §8).

Python runs a collection every few hundred allocations. A container's init -- importing its entry point,
wiring the container, the first request's lazy loads -- allocates tens of thousands of objects that live as
long as the container, so those collections free next to nothing and cost 6-12 % of the init (make bench,
docs/PERFORMANCE.md). In Lambda only (its runtime sets AWS_LAMBDA_RUNTIME_API), an entry point pauses
collection before its imports and the end of its first invocation resumes it (the handler wrappers in
observability.py and api/metrics_flush.py); reference counting still frees most garbage meanwhile, and what a
cycle holds is collected once collection resumes. Nothing is frozen, so nothing is kept. Tests and the local
stack collect as usual.
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
    """Turn automatic collection back on if `pause()` turned it off (once; later calls do nothing)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
