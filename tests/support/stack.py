"""Start the local stack exactly as `make run` does (`python -m devstack run`) and drive it over HTTP.

The session fixture `stack` is registered in tests/conftest.py, so tests/e2e and tests/browser share one stack."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devstack.client import http, signed_headers

ROOT = Path(__file__).resolve().parents[2]


def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll the running stack until `check` returns something truthy (the workers are asynchronous)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last saw {last!r}")


@dataclass
class Stack:
    info: dict[str, Any]
    process: subprocess.Popen
    last_wechat_query: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return self.info["api_url"]

    def store(self, store_id: str) -> dict:
        return next(s for s in self.info["stores"] if s["id"] == store_id)

    def now(self) -> datetime:
        return datetime.fromisoformat(http("GET", self.api + "/v1/_local/clock")[1]["now"])

    def advance(self, seconds: float) -> datetime:
        status, body = http(
            "POST",
            self.api + "/v1/_local/clock",
            {"advance_seconds": seconds},
            {"Content-Type": "application/json"},
        )
        assert status == 200, body
        return datetime.fromisoformat(body["now"])

    def advance_to(self, moment: datetime) -> datetime:
        return self.advance(max(0.0, (moment - self.now()).total_seconds()))

    def local(self, store_id: str, days: int, hour: int, minute: int = 0) -> datetime:
        """`days` after the current domain day (UTC date), at hour:minute store-local: the same
        calendar day for every store, so zones can be compared."""
        tz = ZoneInfo(self.store(store_id)["timezone"])
        day = self.now().date() + timedelta(days=days)
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)

    def post_booking(self, event: dict, *, twice: bool = False) -> tuple[int, Any]:
        raw = json.dumps(event, ensure_ascii=False).encode()
        answers = []
        for _ in range(2 if twice else 1):
            answers.append(
                http(
                    "POST",
                    self.api + "/v1/webhooks/bookings",
                    raw,
                    signed_headers(self.info["webhook_secret"], self.info["chain_id"], raw),
                )
            )
        if twice:
            assert answers[0] == answers[1], answers
        return answers[0]

    def messages(self, store_id: str, member_id: str) -> list[dict]:
        status, body = http(
            "GET",
            f"{self.api}/v1/stores/{store_id}/members/{member_id}/messages?limit=100",
            headers={"Authorization": f"Bearer {self.info['staff_token']}"},
        )
        assert status == 200, body
        return body["items"]

    def sent(self, store_id: str, member_id: str) -> list[str]:
        """Kinds sent to a member, oldest first."""
        return [m["kind"] for m in reversed(self.messages(store_id, member_id)) if m["status"] == "sent"]

    def wait_sent(self, store_id: str, member_id: str, kinds: list[str], timeout: float = 30) -> list[str]:
        return eventually(
            lambda: (lambda got: got if got[-len(kinds) :] == kinds else None)(
                self.sent(store_id, member_id)
            ),
            timeout,
            f"{kinds} for {member_id}",
        )

    def sms_to(self, phone: str) -> list[str]:
        status, data = http("GET", self.info["aws_endpoint_url"] + "/moto-api/data.json")
        sms = (data.get("sns") or {}).get("SMS") or []
        return [m["message"] for m in sms if m.get("phone_number") == phone]

    def signed(self, path: str, body: dict) -> tuple[int, Any]:
        raw = json.dumps(body, ensure_ascii=False).encode()
        return http(
            "POST",
            self.api + path,
            raw,
            signed_headers(self.info["webhook_secret"], self.info["chain_id"], raw),
        )

    def member_says(
        self,
        store_id: str,
        member_id: str,
        text: str,
        *,
        channel: str = "sms",
        member_name: str | None = None,
    ) -> tuple[int, Any]:
        """A member's text through the signed message webhook, as the chain's chat provider posts it."""
        body: dict[str, Any] = {
            "event_id": f"e-{uuid.uuid4().hex[:8]}",
            "store_id": store_id,
            "member_id": member_id,
            "channel": channel,
            "message": {"id": f"m-{uuid.uuid4().hex[:8]}", "type": "text", "text": text},
            "sent_at": self.now().isoformat(),
        }
        if member_name:
            body["member_name"] = member_name
        return self.signed("/v1/webhooks/messages", body)

    def wechat(
        self, store_id: str, xml: str, *, timestamp: int | None = None, nonce: str | None = None
    ) -> tuple[int, Any]:
        """A plaintext-mode WeChat callback, fresh (the service refuses one more than 5 minutes old) and with a new
        nonce unless told: a (timestamp, nonce) is bound to the first body it came with."""
        token = self.store(store_id)["wechat_token"]
        ts, nonce = str(timestamp or int(time.time())), nonce or f"e2e{uuid.uuid4().hex[:10]}"
        signature = hashlib.sha1("".join(sorted([token, ts, nonce])).encode()).hexdigest()  # noqa: S324 - WeChat's
        self.last_wechat_query = {"signature": signature, "timestamp": ts, "nonce": nonce}
        url = f"{self.api}/v1/channels/wechat/{store_id}?signature={signature}&timestamp={ts}&nonce={nonce}"
        request = urllib.request.Request(
            url, data=xml.encode(), method="POST", headers={"Content-Type": "text/xml"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()

    def staff(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        return http(
            method,
            self.api + path,
            body,
            {"Authorization": f"Bearer {self.info['staff_token']}", "Content-Type": "application/json"},
        )

    def inject(self, channel: str, **counts: int) -> None:
        status, body = http(
            "POST",
            self.api + "/v1/_local/faults",
            {"channel": channel, **counts},
            {"Content-Type": "application/json"},
        )
        assert status == 200, body


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, int(port))) == 0


@contextmanager
def running_stack(state: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """`python -m devstack run` in `state`, with `extra_env` (e.g. CHAIRSIDE_DEMO_MAINLAND_SMS=1), until the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | (extra_env or {})
    log = open(state / "stack.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack", "run", "--state-dir", str(state), "--api-port", "0"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    local = state / "local.json"
    try:
        eventually(lambda: local.exists() or process.poll() is not None, 120, "local.json")
        if process.poll() is not None:
            raise RuntimeError("the local stack did not start:\n" + (state / "stack.log").read_text()[-3000:])
        info = json.loads(local.read_text())
        yield Stack(info, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        log.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("chairside-local")) as running:
        yield running
