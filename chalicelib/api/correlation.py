"""Every log line of an API request carries the Lambda request id and a correlation id, and the answer echoes it.

The correlation id is the caller's `X-Correlation-Id` when it is a safe id (letters, digits, `.`, `_`, `:`, `-`;
at most 128), else API Gateway's request id, else (`chalice local`) the Lambda request id. It is appended to
every line (`correlation_id`) with Powertools' Lambda context keys (`function_request_id`, `function_name`, ...)
for the request, and removed afterwards, so nothing carries over to the next request of a warm container.
Registered in app.py as an `http` middleware: the edge, never a service.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from chalicelib.observability import logger

HEADER = "X-Correlation-Id"
_SAFE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def correlation_id(given: str | None, request_id: str) -> str:
    """The caller's id when it is safe to log and echo, else the request's own."""
    return given if given is not None and _SAFE.fullmatch(given) else request_id


def _lambda_keys(lambda_context: Any) -> dict[str, Any]:
    if lambda_context is None:
        return {}
    from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model

    return dict(build_lambda_context_model(lambda_context).__dict__)


def correlate(event: Request, get_response: Callable[[Request], Response]) -> Response:
    lambda_keys = _lambda_keys(event.lambda_context)
    request_id = str((event.context or {}).get("requestId") or lambda_keys.get("function_request_id") or "")
    cid = correlation_id(event.headers.get(HEADER), request_id)
    logger.append_keys(**lambda_keys)
    logger.set_correlation_id(cid or None)
    try:
        response = get_response(event)
    finally:
        logger.remove_keys([*lambda_keys, "correlation_id"])
    if cid:
        response.headers = {**(response.headers or {}), HEADER: cid}
    return response
