"""Issue 12: provider callbacks cannot be replayed or re-bodied, and their sender ids stay in the providers' alphabets.

WeChat (plaintext and encrypted mode, built by the fake WeChat server) and Agora Chat callbacks through the
in-process app on moto; every refusal is checked to have stored nothing.
"""

from __future__ import annotations

import time
import uuid

import pytest

from chalicelib.dal.models import ConversationItem, MessageItem
from tests.support.builders import SH_STORE

NYC_STORE = "nyc-soho"  # the demo store whose WeChat account runs in encrypted mode


def wechat_text(openid: str, text: str, msg_id: str | None = None, created: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id or uuid.uuid4().int % 10**18}</MsgId></xml>"
    )


def inbound(store_id: str, member_id: str) -> list[MessageItem]:
    return [m for m in MessageItem.query(MessageItem.pk_for(store_id, member_id)) if m.direction == "in"]


def conversations(harness, store_id: str) -> list[str]:
    _, page = harness.staff("GET", f"/v1/stores/{store_id}/conversations")
    return [c["id"] for c in page["items"]]


def agora_message(
    call_id: str,
    sender: str = "m-agora",
    text: str = "thanks 😍",
    *,
    ts_ms: int | None = None,
    msg_id: str | None = None,
) -> dict:
    return {
        "callId": call_id,
        "eventType": "chat",
        "chat_type": "chat",
        "timestamp": ts_ms if ts_ms is not None else int(time.time() * 1000),
        "from": sender,
        "to": f"store-{SH_STORE}",
        "msg_id": msg_id or str(uuid.uuid4().int % 10**18),
        "payload": {"bodies": [{"type": "txt", "msg": text}], "ext": {}},
    }


# --- WeChat: freshness and (timestamp, nonce) bound to the body -----------------------------------------


def test_a_wechat_callback_older_than_five_minutes_is_refused(harness):
    stale = int(time.time()) - 301

    status, _ = harness.wechat(SH_STORE, wechat_text("o-stale", "你好", created=stale), timestamp=stale)

    assert status == 401
    assert inbound(SH_STORE, "wx-o-stale") == []


def test_a_wechat_callback_from_more_than_five_minutes_ahead_is_refused(harness):
    # Well past the 5-minute bound, so however slowly the request runs the clock cannot catch up with it.
    status, _ = harness.wechat(SH_STORE, wechat_text("o-early", "你好"), timestamp=int(time.time()) + 600)

    assert status == 401
    assert inbound(SH_STORE, "wx-o-early") == []


def test_a_wechat_url_verification_with_an_old_timestamp_is_refused(harness):
    assert (
        harness.wechat(SH_STORE, "", method="GET", echostr="e1", timestamp=int(time.time()) - 600)[0] == 401
    )
    assert harness.wechat(SH_STORE, "", method="GET", echostr="e2") == (200, b"e2")


def test_the_same_query_with_the_same_body_is_wechats_retry_answered_and_processed_once(harness):
    ts, xml = int(time.time()), wechat_text("o-retry", "头发有点干怎么办")

    answers = [harness.wechat(SH_STORE, xml, timestamp=ts, nonce="retry-nonce") for _ in range(2)]
    harness.pump()

    assert answers == [(200, b"success")] * 2
    assert len(inbound(SH_STORE, "wx-o-retry")) == 1


def test_the_same_query_with_another_body_is_refused(harness):
    ts = int(time.time())
    assert harness.wechat(SH_STORE, wechat_text("o-first", "周五有空吗"), timestamp=ts, nonce="n-1") == (
        200,
        b"success",
    )

    # A captured query (its signature covers only token, timestamp and nonce) under a body of the attacker's.
    status, _ = harness.wechat(SH_STORE, wechat_text("o-victim", "退订"), timestamp=ts, nonce="n-1")

    assert status == 401
    assert inbound(SH_STORE, "wx-o-victim") == []
    assert len(inbound(SH_STORE, "wx-o-first")) == 1


def test_the_same_timestamp_with_another_nonce_is_another_callback(harness):
    ts = int(time.time())
    assert harness.wechat(SH_STORE, wechat_text("o-a", "一"), timestamp=ts, nonce="n-a")[0] == 200
    assert harness.wechat(SH_STORE, wechat_text("o-b", "二"), timestamp=ts, nonce="n-b")[0] == 200
    assert len(inbound(SH_STORE, "wx-o-a")) == len(inbound(SH_STORE, "wx-o-b")) == 1


# --- WeChat encrypted mode ----------------------------------------------------------------------------


def test_an_encrypted_wechat_message_is_decrypted_stored_and_understood(harness):
    assert next(s for s in harness.chain["stores"] if s["id"] == NYC_STORE)["wechat_encoding_aes_key"]

    answer = harness.wechat(NYC_STORE, wechat_text("o-safe-mode", "头发有点干怎么办"))
    harness.pump()

    assert answer == (200, b"success")
    [message] = inbound(NYC_STORE, "wx-o-safe-mode")
    assert message.text == "头发有点干怎么办" and message.channel == "wechat"
    assert message.processed and message.intent == "aftercare_issue"


def test_an_encrypted_mode_store_refuses_plaintext_callbacks(harness):
    status, _ = harness.wechat(NYC_STORE, wechat_text("o-downgrade", "你好"), encrypted=False)

    assert status == 401
    assert inbound(NYC_STORE, "wx-o-downgrade") == []


def test_an_encrypted_body_swapped_under_a_captured_query_is_refused(harness):
    store = next(s for s in harness.chain["stores"] if s["id"] == NYC_STORE)
    fake = harness.fakes["wechat"]
    params, _ = fake.callback(
        store["wechat_token"],
        wechat_text("o-real", "你好"),
        encoding_aes_key=store["wechat_encoding_aes_key"],
    )
    _, other = fake.callback(
        store["wechat_token"],
        wechat_text("o-forged", "退订"),
        encoding_aes_key=store["wechat_encoding_aes_key"],
        timestamp=params["timestamp"],
        nonce=params["nonce"],
    )
    from urllib.parse import urlencode

    response = harness.client.http.post(
        f"/v1/channels/wechat/{NYC_STORE}?{urlencode(params)}",
        headers={"Content-Type": "text/xml"},
        body=other,
    )

    assert response.status_code == 401  # msg_signature covers <Encrypt>
    assert inbound(NYC_STORE, "wx-o-forged") == []


def test_an_encrypted_callback_with_an_old_timestamp_is_refused(harness):
    stale = int(time.time()) - 400

    status, _ = harness.wechat(NYC_STORE, wechat_text("o-old-safe", "你好", created=stale), timestamp=stale)

    assert status == 401
    assert inbound(NYC_STORE, "wx-o-old-safe") == []


def test_a_message_encrypted_for_another_app_is_refused(harness):
    from devstack.fakes.wechat_api import FakeWeChatAPI

    store = next(s for s in harness.chain["stores"] if s["id"] == NYC_STORE)
    params, body = FakeWeChatAPI(app_id="wx-someone-else").callback(
        store["wechat_token"],
        wechat_text("o-other-app", "你好"),
        encoding_aes_key=store["wechat_encoding_aes_key"],
    )
    from urllib.parse import urlencode

    response = harness.client.http.post(
        f"/v1/channels/wechat/{NYC_STORE}?{urlencode(params)}",
        headers={"Content-Type": "text/xml"},
        body=body,
    )

    assert response.status_code == 401
    assert inbound(NYC_STORE, "wx-o-other-app") == []


# --- Agora: freshness, callId once, the member from the first delivery ---------------------------------


def test_an_agora_callback_older_than_five_minutes_is_refused(harness):
    status, _ = harness.agora(agora_message("c-old", "m-old", ts_ms=int((time.time() - 301) * 1000)))

    assert status == 401
    assert inbound(SH_STORE, "m-old") == []


def test_an_agora_call_id_redelivered_with_the_same_body_is_stored_once(harness):
    body = agora_message("c-retry", "m-retry")

    first, second = harness.agora(body), harness.agora(body)
    harness.pump()

    assert first[0] == second[0] == 200 and first[1]["message_id"] == second[1]["message_id"]
    assert len(inbound(SH_STORE, "m-retry")) == 1


def test_an_agora_call_id_reused_with_another_body_is_refused_and_the_member_stays_the_first(harness):
    first = agora_message("c-reused", "m-first", "我想改时间")
    assert harness.agora(first)[0] == 200

    # Agora's signature covers callId + timestamp only: the same signature over another sender and message.
    forged = {
        **first,
        "from": "m-victim",
        "msg_id": "123456789",
        "payload": {"bodies": [{"type": "txt", "msg": "退订"}], "ext": {}},
    }
    status, _ = harness.agora(forged)

    assert status == 401
    assert inbound(SH_STORE, "m-victim") == []
    assert [m.text for m in inbound(SH_STORE, "m-first")] == ["我想改时间"]


# --- sender ids outside the providers' alphabets ---------------------------------------------------------


@pytest.mark.parametrize(
    "openid", ["o wx", "o/../x", "o<script>", "o%2Fx", "微信用户", "o" * 65, "o\u202ex", "o:x"]
)
def test_a_wechat_sender_outside_the_openid_alphabet_is_refused(harness, openid):
    status, body = harness.wechat(SH_STORE, wechat_text(openid, "你好"))

    assert status == 400, body
    assert conversations(harness, SH_STORE) == []


@pytest.mark.parametrize("sender", ["m agora", "m/x", "用户", "u" * 65, "m@x", "m:x", "m\u202ex"])
def test_an_agora_sender_outside_the_user_id_alphabet_is_refused(harness, sender):
    status, body = harness.agora(agora_message(f"c-{uuid.uuid4().hex[:8]}", sender))

    assert status == 400, body
    assert conversations(harness, SH_STORE) == []


def test_senders_at_the_edges_of_the_alphabets_get_conversations_staff_can_open(harness):
    openid, agora_user = "oAbC-_9" + "x" * 57, "User_1.a-B" + "u" * 54  # 64 characters each
    assert harness.wechat(SH_STORE, wechat_text(openid, "你好"))[0] == 200
    assert harness.agora(agora_message("c-edge", agora_user))[0] == 200

    ids = conversations(harness, SH_STORE)

    assert sorted(ids) == sorted([f"wx-{openid}", agora_user.lower()])  # Agora user ids are case-insensitive
    for conversation_id in ids:
        status, page = harness.staff("GET", f"/v1/stores/{SH_STORE}/conversations/{conversation_id}/messages")
        assert status == 200 and page["items"], (conversation_id, page)
    assert (
        ConversationItem.get(*ConversationItem.key(SH_STORE, agora_user.lower())).last_inbound_address
        == agora_user.lower()
    )
