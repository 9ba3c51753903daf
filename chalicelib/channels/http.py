"""Provider HTTP (WeChat, Agora Chat, the chains' booking systems) through one pooled urllib3 `PoolManager` per
container: a warm container reuses its TLS connections to a provider instead of opening one per call. urllib3 is
already in the layer (botocore's transport).

Every status comes back as a response, never raised; a network failure raises `ProviderUnreachable`, an OSError,
so callers treat it as the transient failure it is. No retries here: each caller decides (a send is retried by the
queue, never twice within one attempt).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

import urllib3

MAX_RESPONSE_BYTES = 1024 * 1024  # no provider answer we read is near this; a larger one is cut, not buffered


class HttpResponse(NamedTuple):
    status: int
    body: bytes


class ProviderUnreachable(OSError):
    """The request did not get an HTTP answer (refused, reset, timed out, TLS failed)."""


class ProviderHttp:
    def __init__(self, pool: urllib3.PoolManager | None = None, *, max_pools: int = 16) -> None:
        self._pool = pool or urllib3.PoolManager(num_pools=max_pools, maxsize=4, retries=False)

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> HttpResponse:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("refusing to open a non-HTTP URL")
        try:
            answer = self._pool.request(
                method,
                url,
                body=body,
                headers=dict(headers),
                timeout=urllib3.Timeout(total=timeout),
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            # The exception's text can carry the URL, and a WeChat URL's query holds the access token.
            raise ProviderUnreachable(type(exc).__name__) from None
        try:
            return HttpResponse(answer.status, answer.read(MAX_RESPONSE_BYTES))
        except urllib3.exceptions.HTTPError as exc:
            raise ProviderUnreachable(type(exc).__name__) from None
        finally:
            answer.release_conn()


_shared: ProviderHttp | None = None


def shared_http() -> ProviderHttp:
    """The process's pool, for a client built without one (scripts, tests); the container passes its own."""
    global _shared
    if _shared is None:
        _shared = ProviderHttp()
    return _shared
