"""The hosted second opinion (issue 16 §5) on mock_aws, with the local fake of Bedrock's Converse API: off by
default, asked only by the inbound worker and only below the chain's threshold, held to its time budget, and
never able to turn a complaint into something milder."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from chalicelib.dal.models import ChainItem, ConversationItem
from chalicelib.understanding import Understanding
from devstack.fakes.bedrock_runtime import FakeBedrockRuntime
from tests.integration.test_fail_safe_replies import classify_as
from tests.support.builders import SH_STORE, booking_event

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
BASE = f"/v1/stores/{SH_STORE}/conversations"


@pytest.fixture
def bedrock(harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrockRuntime]:
    with FakeBedrockRuntime(slow_seconds=2.0) as fake:
        monkeypatch.setenv(
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.base_url
        )  # the SDK's per-service endpoint
        yield fake


def turn_on(min_confidence: float = 0.6, budget_ms: int = 1500) -> None:
    chain = ChainItem.get(*ChainItem.key("demo-chain"))
    chain.update(
        actions=[
            ChainItem.second_opinion.set(
                {
                    "provider": "bedrock",
                    "model_id": MODEL,
                    "min_confidence": min_confidence,
                    "budget_ms": budget_ms,
                    "region": "us-east-1",
                }
            )
        ]
    )


def wechat_text(openid: str, text: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{uuid.uuid4().int % 10**18}</MsgId></xml>"
    )


def over_wechat(harness, text: str, openid: str = "o-linked") -> dict:
    """A member linked by her booking's openid writes on WeChat; the worker understands it. Her message."""
    event = booking_event()
    event["booking"]["member"]["wechat_openid"] = openid
    harness.post(event)
    assert harness.wechat(SH_STORE, wechat_text(openid, text)) == (200, b"success")
    harness.pump()
    _, page = harness.staff("GET", f"{BASE}/m-1/messages")
    [message] = [m for m in page["items"] if m["direction"] == "in"]
    return message


def status_of(member_id: str = "m-1") -> str:
    return ConversationItem.get(*ConversationItem.key(SH_STORE, member_id)).status


def test_off_by_default_nothing_is_asked(harness, bedrock):
    unsure_locally(harness)
    message = over_wechat(harness, "我想把卡里的钱拿回来")

    assert bedrock.calls == []
    assert message["intent"] == "other"


def unsure_locally(harness) -> None:
    """The local classifier's answer is fixed below min_confidence: how sure the real one is of a reply changes
    as its model learns."""
    classify_as(harness, Understanding("other", "neutral", confidence=0.5))


def test_an_unsure_reply_in_the_worker_takes_the_hosted_complaint_and_reaches_a_person(harness, bedrock):
    turn_on()
    unsure_locally(harness)

    message = over_wechat(harness, "我想把卡里的钱拿回来")

    assert [c.reply for c in bedrock.calls] == ["我想把卡里的钱拿回来"]
    assert [c.model_id for c in bedrock.calls] == [MODEL]
    assert message["intent"] == "complaint" and message["sentiment"] == "negative"
    assert status_of() == "needs_human"


def test_a_sure_reply_is_not_sent_out(harness, bedrock):
    turn_on(min_confidence=0.6)

    message = over_wechat(harness, "好的收到")  # the rules are sure of a confirm (0.75)

    assert bedrock.calls == []
    assert message["intent"] == "confirm"


def test_the_generic_webhook_answers_in_the_request_without_asking(harness, bedrock):
    turn_on()
    unsure_locally(harness)
    harness.post(booking_event())

    status, body = harness.post_message(
        {
            "event_id": "evt-sync",
            "store_id": SH_STORE,
            "member_id": "m-1",
            "channel": "sms",
            "message": {"id": "msg-sync", "type": "text", "text": "我想把卡里的钱拿回来"},
            "sent_at": "2026-11-22T10:05:00+08:00",
        }
    )

    assert status == 200 and body["intent"] == "other"
    assert bedrock.calls == []


def test_past_its_time_budget_the_local_answer_stands(harness, bedrock):
    turn_on(budget_ms=300)
    unsure_locally(harness)

    bedrock.slow_seconds = 10.0
    event = booking_event()
    event["booking"]["member"]["wechat_openid"] = "o-linked"
    harness.post(event)
    assert harness.wechat(SH_STORE, wechat_text("o-linked", "[[bedrock:slow]] 我想把卡里的钱拿回来")) == (
        200,
        b"success",
    )

    started = time.perf_counter()
    harness.pump()  # the inbound worker (and the journey's first step)
    elapsed = time.perf_counter() - started

    _, page = harness.staff("GET", f"{BASE}/m-1/messages")
    [message] = [m for m in page["items"] if m["direction"] == "in"]
    assert message["intent"] == "other"  # the fake answers after 10 s; the worker gave up at its 0.3 s budget
    assert elapsed < 8.0


@pytest.mark.parametrize("marker", ["[[bedrock:garbage]]", "[[bedrock:error]]"])
def test_an_unparsable_answer_or_an_error_is_no_opinion(harness, bedrock, marker):
    turn_on()
    unsure_locally(harness)

    message = over_wechat(harness, f"{marker} 我想把卡里的钱拿回来")

    assert len(bedrock.calls) == 1
    assert message["intent"] == "other"


def test_a_badly_stored_setting_is_off(harness, bedrock):
    chain = ChainItem.get(*ChainItem.key("demo-chain"))
    chain.update(actions=[ChainItem.second_opinion.set({"provider": "bedrock", "budget_ms": 99999})])
    unsure_locally(harness)

    message = over_wechat(harness, "我想把卡里的钱拿回来")

    assert bedrock.calls == [] and message["intent"] == "other"


def test_the_operator_turns_it_on_and_off_for_a_chain(harness, bedrock):
    from ops.second_opinion import main

    where = ["--stage", harness.env["CHAIRSIDE_STAGE"], "--region", "ap-southeast-1"]
    assert main(["on", "--chain", "demo-chain", "--model-id", MODEL, "--budget-ms", "99", *where]) == 2
    assert main(["on", "--chain", "no-such-chain", "--model-id", MODEL, *where]) == 2
    assert (
        main(["on", "--chain", "demo-chain", "--model-id", MODEL, "--bedrock-region", "us-east-1", *where])
        == 0
    )
    setting = ChainItem.get(*ChainItem.key("demo-chain")).second_opinion
    assert setting == {
        "provider": "bedrock",
        "model_id": MODEL,
        "min_confidence": 0.6,
        "budget_ms": 1500,
        "region": "us-east-1",
    }

    unsure_locally(harness)
    assert over_wechat(harness, "我想把卡里的钱拿回来")["intent"] == "complaint"

    assert main(["off", "--chain", "demo-chain", *where]) == 0
    assert ChainItem.get(*ChainItem.key("demo-chain")).second_opinion is None
