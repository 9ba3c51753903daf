"""A tiny HTTP client for driving the running local stack (end-to-end tests, `make chaos`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any


def http(method: str, url: str, body: Any = None, headers: dict | None = None) -> tuple[int, Any]:
    """(status, decoded JSON body); bytes are sent as they are, anything else as JSON."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw[:1] in (b"{", b"[") else raw


def signed_headers(secret: str, chain_id: str, raw: bytes) -> dict[str, str]:
    """The headers a chain's system signs a webhook with (HMAC-SHA256 over "<timestamp>.<body>")."""
    ts = str(int(time.time()))
    mac = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Chairside-Chain": chain_id,
        "X-Chairside-Timestamp": ts,
        "X-Chairside-Signature": "v1=" + mac.hexdigest(),
    }
