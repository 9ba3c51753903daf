"""The local stack as `make run` starts it (`python -m devstack run`), driven over HTTP, for the soak."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from chalicelib import resources as r
from devstack.client import http, signed_headers

ROOT = Path(__file__).resolve().parents[1]


class SoakError(RuntimeError):
    pass


@dataclass
class RunningStack:
    info: dict[str, Any]
    state_dir: Path
    process: subprocess.Popen

    @classmethod
    def start(cls, state_dir: Path, timeout: float = 180) -> RunningStack:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # 1,000 bookings' INFO lines slow the workers down
        log = open(state_dir / "stack.log", "wb")  # lives as long as the process
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run", "--state-dir", str(state_dir), "--api-port", "0"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        local = state_dir / "local.json"
        deadline = time.monotonic() + timeout
        while not local.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                cls(info={}, state_dir=state_dir, process=process).stop()
                raise SoakError(
                    "the local stack did not start:\n" + (state_dir / "stack.log").read_text()[-3000:]
                )
            time.sleep(0.2)
        return cls(json.loads(local.read_text()), state_dir, process)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    # --- HTTP ------------------------------------------------------------------------------------
    @property
    def api(self) -> str:
        return self.info["api_url"]

    def now(self) -> datetime:
        return datetime.fromisoformat(http("GET", self.api + "/v1/_local/clock")[1]["now"])

    def advance_to(self, moment: datetime) -> datetime:
        seconds = max(0.0, (moment - self.now()).total_seconds())
        status, body = http(
            "POST",
            self.api + "/v1/_local/clock",
            {"advance_seconds": seconds},
            {"Content-Type": "application/json"},
        )
        if status != 200:
            raise SoakError(f"clock: {status} {body}")
        return datetime.fromisoformat(body["now"])

    def faults(self, body: dict) -> dict:
        status, answer = http(
            "POST", self.api + "/v1/_local/faults", body, {"Content-Type": "application/json"}
        )
        if status != 200:
            raise SoakError(f"faults: {status} {answer}")
        return answer["faults"]

    def post_booking_event(self, event: dict) -> tuple[int, Any]:
        raw = json.dumps(event, ensure_ascii=False).encode()
        return http(
            "POST",
            self.api + "/v1/webhooks/bookings",
            raw,
            signed_headers(self.info["webhook_secret"], self.info["chain_id"], raw),
        )

    def history(self, store_id: str, member_id: str) -> list[dict]:
        status, body = http(
            "GET",
            f"{self.api}/v1/stores/{store_id}/members/{member_id}/messages?limit=100",
            headers={"Authorization": f"Bearer {self.info['staff_token']}"},
        )
        if status != 200:
            raise SoakError(f"history of {member_id}: {status} {body}")
        return body["items"]

    def wechat_user(self, openid: str, **control: Any) -> None:
        """The fake WeChat's member control (devstack/fakes/wechat_api.py): `blocked="refuse"` (43101 on every
        template), `lose_receipts=n` (her next n templates get no TEMPLATESENDJOBFINISH)."""
        status, answer = http(
            "POST",
            self.info["fakes"]["wechat_api"] + "/_fake/user",
            {"openid": openid, **control},
            {"Content-Type": "application/json"},
        )
        if status != 200 or answer.get("errcode") != 0:
            raise SoakError(f"wechat user control: {status} {answer}")

    def wechat_subscribe(self, openid: str, template_ids: list[str]) -> None:
        """Her "accept" in the subscribe pop-up for these templates (the fake pushes it to the store's server)."""
        status, answer = http(
            "POST",
            self.info["fakes"]["wechat_api"] + "/_fake/subscribe",
            {"openid": openid, "template_ids": template_ids},
            {"Content-Type": "application/json"},
        )
        if status != 200 or answer.get("errcode") != 0:
            raise SoakError(f"wechat subscribe: {status} {answer}")

    def sent_subscriptions(self) -> list[dict]:
        """Every WeChat subscription message the fake accepted: [{"touser", "template_id"}]."""
        status, answer = http("GET", self.info["fakes"]["wechat_api"] + "/_fake/subscriptions")
        if status != 200:
            raise SoakError(f"wechat subscriptions: {status} {answer}")
        return list(answer["subscriptions"])

    def sent_templates(self) -> list[dict]:
        """Every WeChat template message the fake accepted: [{"touser", "client_msg_id", "template_id"}]."""
        status, answer = http("GET", self.info["fakes"]["wechat_api"] + "/_fake/templates")
        if status != 200:
            raise SoakError(f"wechat templates: {status} {answer}")
        return list(answer["templates"])

    def set_receipt_wait(self, seconds: int) -> None:
        """The demo chain's `channel_routing` waits `seconds` for a template's or Agora's receipt before the one
        fallback (issue 15; 300 by default): written to the chain item as a chain admin's setting would be."""
        from chalicelib.dal.models import ChainItem

        table = boto3.client(
            "dynamodb",
            endpoint_url=self.info["aws_endpoint_url"],
            region_name=self.info["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fixed local credentials
        )
        name = r.MAIN_TABLE.name(self.info["stage"])
        pk, sk = ChainItem.key(self.info["chain_id"])
        routing = {"receipt_wait_seconds": {"wechat_template": seconds, "agora": seconds}}
        table.update_item(
            TableName=name,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression="SET channel_routing = :r",
            ExpressionAttributeValues={":r": {"S": json.dumps(routing)}},
        )

    def sent_sms(self) -> list[dict]:
        """Every SMS the provider (moto's SNS) accepted: [{"phone_number", "message", ...}]."""
        _, data = http("GET", self.info["aws_endpoint_url"] + "/moto-api/data.json")
        return list((data.get("sns") or {}).get("SMS") or [])

    # --- what the plumbing is doing --------------------------------------------------------------
    def sqs(self) -> Any:
        return boto3.client(
            "sqs",
            endpoint_url=self.info["aws_endpoint_url"],
            region_name=self.info["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fixed local credentials
        )

    def queue_depth(self, sqs: Any, name: str) -> int:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())

    def steps_queue_names(self) -> tuple[str, str]:
        stage = self.info["stage"]
        return r.STEPS_QUEUE.name(stage), r.STEPS_QUEUE.dlq_name(stage)

    def idle_at(self) -> datetime | None:
        """The domain time of the plumbing's last tick that found nothing due and nothing queued."""
        try:
            return datetime.fromisoformat(
                json.loads((self.state_dir / "plumbing.json").read_text())["idle_at"]
            )
        except (OSError, ValueError, KeyError):
            return None

    def fault_counters(self) -> dict:
        try:
            return json.loads((self.state_dir / "faults.json").read_text())
        except (OSError, ValueError):
            return {}
