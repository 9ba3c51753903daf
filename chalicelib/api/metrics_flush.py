"""An API request's metrics (chalicelib/metrics.py) are printed as one EMF line when it ends, error or not, and
the first request ends the container's init (`init_phase.resume()`). Registered in app.py as an `all`
middleware: the edge, never a service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import init_phase
from chalicelib.observability import flush_metrics


def flush_after(event: Any, get_response: Callable[[Any], Any]) -> Any:
    try:
        return get_response(event)
    finally:
        flush_metrics()
        init_phase.resume()
