"""Issue 12: the API's access log (`api.log`, chalice local's request log) never records a signed query string.

Its own local stack (as tests/e2e/test_log_masking.py), a WeChat URL verification and a WeChat message with their
signatures, timestamps and nonces in the query; then the stack is stopped and every log it wrote is read.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from tests.e2e.test_log_masking import own_stack  # noqa: F401 - the fixture: a stack of this test's own
from tests.support.builders import SH_STORE

pytestmark = pytest.mark.e2e


def test_no_log_line_holds_a_signature_nonce_or_timestamp_of_a_callback_query(own_stack, tmp_path):  # noqa: F811
    stack = own_stack
    nonce = f"nonce{uuid.uuid4().hex[:12]}"
    xml = (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[o-log-{nonce}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[你好]]></Content><MsgId>{uuid.uuid4().int % 10**18}</MsgId></xml>"
    )
    status, _ = stack.wechat(SH_STORE, xml, nonce=nonce)
    assert status == 200
    signature = stack.last_wechat_query["signature"]
    timestamp = stack.last_wechat_query["timestamp"]

    os.killpg(stack.process.pid, signal.SIGINT)
    assert stack.process.wait(30) == 0

    api_log = (tmp_path / "api.log").read_text(encoding="utf-8", errors="replace")
    stack_log = (tmp_path / "stack.log").read_text(encoding="utf-8", errors="replace")
    assert f"/v1/channels/wechat/{SH_STORE}?" in api_log  # the request was logged at all
    assert "signature=***" in api_log and "nonce=***" in api_log
    for name, text in (("api.log", api_log), ("stack.log", stack_log)):
        for secret in (signature, nonce, f"timestamp={timestamp}"):
            assert secret not in text, f"{secret} in {name}"
