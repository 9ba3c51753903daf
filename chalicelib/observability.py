"""The one Logger (and the one EMF Metrics, at the end) of every function. Never log a phone number, email or name -- and if one slips
through anyway (a provider's error that echoes the number, a member's message in an exception), it is masked
on the way out:

* `MaskingFormatter`, the Logger's formatter, masks every string of the structured line -- the message, every
  extra field (nested too), the exception text and stack trace -- before it is serialized;
* `install_masking()` wraps the process's log record factory, so records of any other logger (the local
  plumbing, libraries) carry a masked message and exception text whatever handler prints them.

What is masked and how: chalicelib/pii.py (`mask_text`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import init_phase
from chalicelib.metrics import ALL as ALL_METRICS
from chalicelib.pii import mask_text, mask_value

SERVICE = "chairside"


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines, with phone numbers and emails masked in every field."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return super().serialize(mask_value(log))


_plain = logging.Formatter()


def _masked_record_factory(previous: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            if isinstance(record.msg, str):
                message = record.getMessage()
                masked = mask_text(message)
                if masked != message:
                    record.msg, record.args = masked, ()
            if record.exc_info and not record.exc_text:
                record.exc_text = mask_text(_plain.formatException(record.exc_info))
            if record.stack_info:
                record.stack_info = mask_text(record.stack_info)
        except Exception:  # noqa: BLE001, S110 - a record that cannot be formatted is left for logging to report
            pass
        return record

    factory.masks_contacts = True  # type: ignore[attr-defined]
    return factory


def install_masking() -> None:
    """Mask every log record this process creates (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "masks_contacts", False):
        logging.setLogRecordFactory(_masked_record_factory(current))


install_masking()
logger = Logger(service=SERVICE, logger_formatter=MaskingFormatter())

# --- metrics (issue 17 §2) ---------------------------------------------------------------------------------
# CloudWatch Embedded Metric Format: a flush prints one JSON line that CloudWatch Logs turns into metrics; no API
# call, no latency. Dimensions are `service` and `stage` only: a custom metric costs per dimension combination,
# so per-store numbers are the reports' (docs/REPORTS.md), not CloudWatch's.
NAMESPACE = "Chairside"
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


class EmfCounter:
    """chalicelib.metrics.Counter on Powertools' EMF Metrics; the handlers flush it (`flush_metrics`)."""

    def __init__(self, emf: Metrics, stage: str) -> None:
        self._emf = emf
        # One stage per Lambda process; a process that builds containers of several stages (the tests, the bench)
        # starts each one's metrics afresh rather than overwriting the dimension under pending counts.
        if emf.default_dimensions.get("stage") != stage:
            emf.clear_default_dimensions()
            emf.clear_metrics()
            emf.set_default_dimensions(stage=stage)

    def count(self, name: str, n: int = 1) -> None:
        if name not in ALL_METRICS:  # the dashboard (infra/monitoring.py) charts only these
            raise ValueError(f"{name!r} is not in chalicelib.metrics.ALL")
        self._emf.add_metric(name=name, unit=MetricUnit.Count, value=n)


def flush_metrics() -> None:
    """Print what was counted as one EMF line (nothing, and no warning, when nothing was). With
    POWERTOOLS_METRICS_DISABLED (the local stack, tests) nothing is printed and the counts are dropped."""
    if metrics.metric_set:
        metrics.flush_metrics()
        metrics.clear_metrics()  # Powertools keeps them when metrics are disabled


def flushes_metrics(handler: Callable[..., Any]) -> Callable[..., Any]:
    """A Lambda handler's decorator: its invocation's metrics are flushed when it returns or raises (and the
    first invocation ends the container's init: `init_phase.resume()`)."""

    @functools.wraps(handler)
    def wrapped(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            flush_metrics()
            init_phase.resume()

    return wrapped
