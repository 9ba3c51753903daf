"""The one Logger of every function. Never log a phone number, email or name -- and if one slips
through anyway (a provider's error that echoes the number, a member's message in an exception), it is masked
on the way out:

* `MaskingFormatter`, the Logger's formatter, masks every string of the structured line -- the message, every
  extra field (nested too), the exception text and stack trace -- before it is serialized;
* `install_masking()` wraps the process's log record factory, so records of any other logger (the local
  plumbing, libraries) carry a masked message and exception text whatever handler prints them.

What is masked and how: chalicelib/pii.py (`mask_text`).
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

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
