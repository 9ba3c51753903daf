"""Domain errors become HTTP answers here, and only here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.errors import ChairsideError
from chalicelib.observability import logger

JSON: dict[str, str | list[str]] = {"Content-Type": "application/json"}


def json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(body=body, status_code=status, headers=JSON)


def handled(route: Callable[..., Response | dict]) -> Callable[..., Response]:
    """Map domain errors to 4xx; anything unexpected to 503 (safe to retry), never a bare 500."""

    @functools.wraps(route)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            result = route(*args, **kwargs)
        except ChairsideError as exc:
            return json_response(exc.status, exc.body())
        except Exception:  # noqa: BLE001 - the one place that turns a failure into an answer
            logger.exception("request failed")
            return json_response(
                503,
                {
                    "error": "temporarily_unavailable",
                    "message": "please retry; nothing was changed by a failed request",
                },
            )
        return result if isinstance(result, Response) else json_response(200, result)

    return wrapper
