"""No log line of an end-to-end run holds a phone number or an email address.

Its own local stack (its own state directory, any free port), driven over HTTP like the others: a booking with a
phone and an email, channel failures whose reasons name both, a chat message with a phone number and an email in
its text, a two-way SMS from her number, the member's export and erasure, the clock moved to the next reminder.
Then the stack is stopped and ALL of its output is read -- the stack's stdout and stderr (moto's server is sent
to /dev/null; the plumbing and workers log here) and the API's log -- and any phone number or email of the test
data, or anything else the masker would mask, fails the test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest

from chalicelib.pii import mask_text
from tests.e2e.conftest import ROOT, Stack, eventually, http
from tests.support.builders import SH_STORE, booking_event

pytestmark = pytest.mark.e2e

PHONE, EMAIL = "+8613811112222", "lily.chen@example.com"
CHAT_PHONE, CHAT_EMAIL = "15987654321", "wang.fang@example.org"
# Every form in which the test data could leak: the number without its '+', the national number, the address.
FORBIDDEN = ("8613811112222", "13811112222", CHAT_PHONE, EMAIL, CHAT_EMAIL, "lily.chen@", "wang.fang@")


@pytest.fixture
def own_stack(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with open(tmp_path / "stack.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run", "--state-dir", str(tmp_path), "--api-port", "0"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            local = tmp_path / "local.json"
            eventually(lambda: local.exists() or process.poll() is not None, 120, "local.json")
            if process.poll() is not None:
                raise RuntimeError(
                    "the local stack did not start:\n" + (tmp_path / "stack.log").read_text()[-3000:]
                )
            yield Stack(json.loads(local.read_text()), process)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the stack stops its children and exits
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    raise


def _sms_from(stack: Stack, phone: str, text: str) -> None:
    import boto3

    sns = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=stack.info["region"]
    ).client("sns", endpoint_url=stack.info["aws_endpoint_url"])
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("sms-inbound"))
    sns.publish(
        TopicArn=topic,
        Message=json.dumps(
            {
                "originationNumber": phone,
                "destinationNumber": "+8610690000",
                "messageBody": text,
                "inboundMessageId": f"in-{uuid.uuid4().hex[:8]}",
            }
        ),
    )


def test_no_log_line_of_a_run_holds_a_phone_number_or_an_email(own_stack, tmp_path):
    stack = own_stack
    member = f"mask-{uuid.uuid4().hex[:6]}"
    start = stack.local(SH_STORE, 2, 15)

    # The first confirmation fails on both channels, with reasons that name the number and the address.
    stack.inject("sms", transient=1)
    stack.inject("email", transient=1)
    status, _ = stack.post_booking(
        booking_event(
            booking_id=f"bk-{member}",
            member_id=member,
            start=start,
            occurred_at=stack.now(),
            phone=PHONE,
            email=EMAIL,
        )
    )
    assert status == 202
    stack.wait_sent(SH_STORE, member, ["confirmation"])

    status, answer = stack.signed(
        "/v1/webhooks/messages",
        {
            "event_id": f"e-{uuid.uuid4().hex[:8]}",
            "store_id": SH_STORE,
            "member_id": member,
            "channel": "web",
            "message": {
                "id": f"m-{uuid.uuid4().hex[:8]}",
                "type": "text",
                "text": f"我换号码了，新号码 {CHAT_PHONE}，邮箱 {CHAT_EMAIL}，请更新",
            },
            "sent_at": stack.now().isoformat(),
        },
    )
    assert status == 200, answer
    _sms_from(stack, PHONE, f"请问店里可以停车吗？我的电话 {CHAT_PHONE}")
    eventually(
        lambda: [
            m for m in stack.messages(SH_STORE, member) if m["channel"] == "sms" and m["direction"] == "in"
        ],
        what="her SMS found by the hashed lookup of her number",
    )

    stack.advance_to((start - timedelta(days=1)).replace(hour=10, minute=1))
    stack.wait_sent(SH_STORE, member, ["reminder_day_before"])

    status, export = stack.staff("GET", f"/v1/stores/{SH_STORE}/members/{member}/export")
    assert status == 200 and export["profile"]["phone"] == PHONE
    status, erased = http(
        "DELETE",
        f"{stack.api}/v1/stores/{SH_STORE}/members/{member}",
        headers={"Authorization": f"Bearer {stack.info['staff_token']}"},
    )
    assert status == 200 and erased["erased"]["profile"] == 1

    os.killpg(stack.process.pid, signal.SIGINT)
    assert stack.process.wait(30) == 0

    logs = {
        name: (tmp_path / name).read_text(encoding="utf-8", errors="replace")
        for name in ("stack.log", "api.log")
    }
    assert "booking event applied" in logs["stack.log"] + logs["api.log"]  # the logs were captured at all
    assert "journey step will be retried" in logs["stack.log"]  # the failure reasons were logged (masked)
    for name, text in logs.items():
        squeezed = re.sub(r"[\s\-()]", "", text)
        for raw in FORBIDDEN:
            assert raw not in text and raw not in squeezed, f"{raw} unmasked in {name}"
        unmasked = [line for line in text.splitlines() if mask_text(line) != line]
        assert not unmasked, f"{name} has lines with a phone number or email:\n" + "\n".join(unmasked[:5])
