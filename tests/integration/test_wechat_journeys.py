"""WeChat journeys as WeChat allows them today (issue 15, §2), against the fake WeChat server over real HTTP:
template messages (exact request, keyword limits, client_msg_id, a blocked member), customer-service text and its
48-hour window, and the account's events through the real callback (TEMPLATESENDJOBFINISH receipts,
subscribe / unsubscribe follow state)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import pytest

from chalicelib.channels.base import Contact, Outgoing, provider_of, send_outgoing
from chalicelib.channels.wechat.client import CustomerServiceWindowClosed, WeChatChannel, WeChatClient
from chalicelib.channels.wechat.templates import TemplateMapping, WeChatTemplateChannel
from chalicelib.dal.models import MemberItem
from chalicelib.errors import PermanentSendError
from devstack.client import http
from devstack.fakes.wechat_api import FakeWeChatAPI, job_finish_xml
from tests.support.builders import SH_STORE, booking_event
from tests.support.receipt_checks import RecordingSink

APP_ID, APP_SECRET = "wx8f3a1c2b4d5e6f70", "a1b2c3d4e5f60718293a4b5c6d7e8f90"
SHE = "oX7pQ5vK2mN8rT1yB4cD6fG9hJ0k"
BOOKED = TemplateMapping(
    "tmpl-booked",
    {
        "thing1": "store_name",
        "thing2": "service_name",
        "time3": "start_local",
        "phone_number4": "store_phone",
    },
    url="manage_link",
)
VALUES = {
    "member_name": "王小美",
    "store_name": "Chairside 静安寺店",
    "store_phone": "+86 21 6288 0000",
    "service_name": "日式烫发（含护理）+ 头皮深层清洁疗程套餐",
    "start_local": "11月25日（星期三） 15:00",
    "manage_link": "https://chairside.example/m/k3Jd8",
    "message_id": "msg-bk-1-confirmation",
}


@pytest.fixture
def api() -> Iterator[FakeWeChatAPI]:
    with FakeWeChatAPI(APP_ID, APP_SECRET) as fake:
        fake.register_template("tmpl-booked", ["thing1", "thing2", "time3", "phone_number4"])
        yield fake


@pytest.fixture
def client(api: FakeWeChatAPI) -> WeChatClient:
    return WeChatClient(APP_ID, APP_SECRET, base_url=api.base_url, clock=time.time, timeout=2)


def confirmation(**values: str) -> Outgoing:
    return Outgoing(
        kind="confirmation", text="（全文）", subject="Chairside 静安寺店", values={**VALUES, **values}
    )


# --- template messages -------------------------------------------------------------------------------------


def test_a_confirmation_goes_as_the_registered_template_with_fitted_values(api, client):
    channel = WeChatTemplateChannel(client, {"confirmation": BOOKED})

    msgid = send_outgoing(channel, Contact(wechat_openid=SHE), confirmation())

    [body] = api.templates
    assert body == {
        "touser": SHE,
        "template_id": "tmpl-booked",
        "url": "https://chairside.example/m/k3Jd8",
        "client_msg_id": body["client_msg_id"],
        "data": {
            "thing1": {"value": "Chairside 静安寺店"},
            "thing2": {"value": "日式烫发（含护理）+ 头皮深层清洁疗程…"},
            "time3": {"value": "11月25日 15:00"},
            "phone_number4": {"value": "+862162880000"},
        },
    }
    assert body["client_msg_id"].isascii() and len(body["client_msg_id"]) <= 64
    assert "first" not in body["data"] and "remark" not in body["data"]
    assert api.shown[0]["lines"]["thing2"] == "日式烫发（含护理）+ 头皮深层清洁疗程…"  # accepted, not 47003
    assert msgid == str(api.shown[0]["msgid"])
    assert provider_of(channel, Contact(wechat_openid=SHE)) == "wechat"


def test_a_retried_send_of_the_same_message_is_one_message(api, client):
    channel = WeChatTemplateChannel(client, {"confirmation": BOOKED})
    she = Contact(wechat_openid=SHE)

    first = channel.send_outgoing(she, confirmation())
    again = channel.send_outgoing(she, confirmation())
    other = channel.send_outgoing(she, confirmation(message_id="msg-bk-2-confirmation"))

    assert first == again != other
    assert len(api.shown) == 2


def test_the_fake_lists_the_templates_it_accepted_for_the_soak(api, client):
    """`GET /_fake/templates` (fake-only; chaos/stack.py counts template messages with it) over HTTP."""
    WeChatTemplateChannel(client, {"confirmation": BOOKED}).send_outgoing(
        Contact(wechat_openid=SHE), confirmation()
    )

    status, answer = http("GET", f"{api.base_url}/_fake/templates")

    [body] = api.templates
    assert status == 200
    assert answer == {
        "templates": [{"touser": SHE, "client_msg_id": body["client_msg_id"], "template_id": "tmpl-booked"}]
    }


def test_the_fake_refuses_a_category_value_over_its_limit_like_wechat(api, client):
    with pytest.raises(PermanentSendError, match="47003"):
        client.send_template(SHE, "tmpl-booked", {"thing1": "一二三四五六七八九十一二三四五六七八九十一"})
    with pytest.raises(PermanentSendError, match="47003"):
        client.send_template(SHE, "tmpl-booked", {"time3": "tomorrow"})
    with pytest.raises(PermanentSendError, match="40037"):
        client.send_template(SHE, "tmpl-not-registered", {"thing1": "x"})
    assert api.shown == []


def test_a_member_who_blocks_the_template_is_a_permanent_failure(api, client):
    api.block(SHE, "refuse")
    channel = WeChatTemplateChannel(client, {"confirmation": BOOKED})

    with pytest.raises(PermanentSendError, match="43101"):
        channel.send_outgoing(Contact(wechat_openid=SHE), confirmation())
    assert api.templates == [] and api.events == []


def test_a_marketing_message_never_reaches_wechat(api, client):
    channel = WeChatTemplateChannel(client, {"care_birthday": BOOKED})
    birthday = Outgoing(kind="care_birthday", text="生日快乐", subject="x", marketing=True, values=VALUES)

    with pytest.raises(PermanentSendError, match="marketing"):
        channel.send_outgoing(Contact(wechat_openid=SHE), birthday)
    assert api.requests == []


# --- customer-service text and the 48-hour window --------------------------------------------------------------


def test_customer_service_text_inside_the_window_and_45015_after_it(api, client):
    now = time.time()
    api.clock = lambda: now
    api.user_wrote(SHE, at=now - 47 * 3600)
    channel = WeChatChannel(client)
    she = Contact(wechat_openid=SHE)

    send_outgoing(channel, she, confirmation())  # any kind may go as text inside the window
    assert api.sent == [{"touser": SHE, "msgtype": "text", "text": {"content": "（全文）"}}]

    api.clock = lambda: now + 2 * 3600  # 49 hours after she wrote
    with pytest.raises(CustomerServiceWindowClosed, match="45015") as refused:
        send_outgoing(channel, she, confirmation())
    assert isinstance(refused.value, PermanentSendError)
    assert len(api.sent) == 1


def test_her_message_to_the_account_opens_the_window_in_the_fake(api, client):
    api.cs_window_strict = True
    channel = WeChatChannel(client)
    with pytest.raises(CustomerServiceWindowClosed):
        channel.send(Contact(wechat_openid=SHE), "您好", "store")

    api.callback("tok", f"<xml><FromUserName><![CDATA[{SHE}]]></FromUserName><MsgType>text</MsgType></xml>")
    channel.send(Contact(wechat_openid=SHE), "您好", "store")
    assert len(api.sent) == 1


# --- the account's events through the real callback --------------------------------------------------------------


def _deliver(harness, params: dict[str, str], body: bytes, store_id: str = SH_STORE) -> tuple[int, bytes]:
    path = f"/v1/channels/wechat/{store_id}?{urlencode(params, quote_via=quote)}"
    response = harness.client.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
    return response.status_code, response.body


def _store(harness, store_id: str = SH_STORE) -> dict:
    return next(s for s in harness.chain["stores"] if s["id"] == store_id)


def test_template_job_finish_events_become_receipts(harness):
    sink = RecordingSink()
    harness.container.receipt_sink = sink
    fake = harness.fakes["wechat"]
    fake.block("o-blocks", "event")
    client = WeChatClient(fake.app_id, fake.app_secret, base_url=fake.base_url, clock=time.time, timeout=2)
    delivered = client.send_template("o-follower", "demo-tmpl-booked", {"thing1": "静安寺店"})
    refused = client.send_template("o-blocks", "demo-tmpl-booked", {"thing1": "静安寺店"})

    events = fake.take_events(_store(harness)["wechat_token"], _store(harness)["wechat_encoding_aes_key"])
    answers = [_deliver(harness, params, body) for params, body in events]
    again = _deliver(harness, *events[0])  # WeChat's retry of the same push

    assert answers == [(200, b"success"), (200, b"success")] and again == (200, b"success")
    first, second, repeat = sink.receipts
    assert (first.provider, first.provider_message_id, first.status, first.code) == (
        "wechat",
        delivered,
        "delivered",
        "success",
    )
    assert (second.provider_message_id, second.status, second.code) == (
        refused,
        "failed",
        "failed:user block",
    )
    assert repeat == first  # applied again: the receipts service makes a duplicate a no-op
    assert first.at.tzinfo is not None


def test_a_system_failure_is_a_failed_receipt_and_an_unknown_status_is_ignored(harness):
    sink = RecordingSink()
    harness.container.receipt_sink = sink
    token = _store(harness)["wechat_token"]
    fake = harness.fakes["wechat"]

    failed = _deliver(
        harness,
        *fake.callback(
            token,
            job_finish_xml("o-1", 3487542469355618313, "failed: system failed"),
            encoding_aes_key=_store(harness)["wechat_encoding_aes_key"],
        ),
    )
    odd = _deliver(
        harness,
        *fake.callback(
            token,
            job_finish_xml("o-1", 42, "pending"),
            encoding_aes_key=_store(harness)["wechat_encoding_aes_key"],
        ),
    )

    assert failed == odd == (200, b"success")
    [receipt] = sink.receipts
    assert (receipt.provider_message_id, receipt.status, receipt.code) == (
        "3487542469355618313",
        "failed",
        "failed: system failed",
    )


def _follow_event(openid: str, event: str, at: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event></xml>"
    )


def test_subscribe_and_unsubscribe_set_her_follow_state_and_an_older_event_changes_nothing(harness):
    event = booking_event()
    event["booking"]["member"]["wechat_openid"] = "o-linked"
    harness.post(event)
    member_id = event["booking"]["member"]["id"]
    now = int(time.time())

    def member() -> MemberItem:
        return MemberItem.get(*MemberItem.key("demo-chain", member_id), consistent_read=True)

    assert harness.wechat(SH_STORE, _follow_event("o-linked", "subscribe", now - 60)) == (200, b"success")
    assert member().wechat_following is True
    assert harness.wechat(SH_STORE, _follow_event("o-linked", "subscribe", now - 60)) == (200, b"success")
    assert member().wechat_following is True  # a duplicate: the same state

    harness.wechat(SH_STORE, _follow_event("o-linked", "unsubscribe", now))
    assert member().wechat_following is False
    assert member().wechat_following_at == datetime.fromtimestamp(now, UTC)

    harness.wechat(
        SH_STORE, _follow_event("o-linked", "subscribe", now - 30)
    )  # late delivery of an older event
    assert member().wechat_following is False


def test_a_follow_from_an_openid_no_booking_gave_is_kept_for_its_wechat_member(harness):
    harness.wechat(SH_STORE, _follow_event("o-stranger", "subscribe", int(time.time())))
    item = MemberItem.get(*MemberItem.key("demo-chain", "wx-o-stranger"), consistent_read=True)
    assert item.wechat_following is True


def test_the_demo_secret_maps_each_transactional_kind_without_first_or_remark(harness):
    raw = harness.session.client("secretsmanager").get_secret_value(
        SecretId=f"chairside/{harness.env['CHAIRSIDE_STAGE']}/stores/{SH_STORE}/wechat"
    )["SecretString"]
    templates = json.loads(raw)["templates"]
    assert {"confirmation", "reminder_day_before", "reminder_2h", "no_show_followup", "aftercare"} <= set(
        templates
    )
    credentials = harness.container.channel_secrets.wechat_credentials(SH_STORE)
    assert credentials.templates["confirmation"].template_id == "demo-tmpl-booked"
    assert all(not {"first", "remark"} & set(entry["fields"]) for entry in templates.values())


def test_a_job_finish_event_without_its_msgid_is_refused_naming_it(harness):
    xml = job_finish_xml("o-1", 1, "success").replace("<MsgID>1</MsgID>", "")
    store = _store(harness)
    status, body = _deliver(
        harness,
        *harness.fakes["wechat"].callback(
            store["wechat_token"], xml, encoding_aes_key=store["wechat_encoding_aes_key"]
        ),
    )
    assert status == 400 and json.loads(body)["fields"] == {"MsgID": "missing"}


class AccountServer:
    """A stand-in for the account's server URL: records WeChat's POSTs, answers "success"."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qsl, urlsplit

        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                parts = urlsplit(self.path)
                outer.received.append((parts.path, dict(parse_qsl(parts.query)), body))
                self.send_response(200)
                self.send_header("Content-Length", "7")
                self.end_headers()
                self.wfile.write(b"success")
                outer.arrived.set()

            def log_message(self, format, *args) -> None:  # the base class's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def account_server() -> Iterator[AccountServer]:
    server = AccountServer()
    yield server
    server.close()


def test_the_fake_pushes_job_finish_events_to_the_accounts_server_signed(api, client, account_server):
    from chalicelib.channels.wechat.callback_xml import parse_message, verify_signature

    api.push_to(f"{account_server.url}/v1/channels/wechat/s1", "tok")
    msgid = client.send_template(SHE, "tmpl-booked", {"thing1": "静安寺店"})
    assert account_server.arrived.wait(10), "no TEMPLATESENDJOBFINISH was pushed"

    [(path, params, body)] = account_server.received
    assert path == "/v1/channels/wechat/s1"
    assert verify_signature("tok", params["signature"], params["timestamp"], params["nonce"])
    event = parse_message(body)
    assert (event.event, event.job_msg_id, event.job_status) == ("TEMPLATESENDJOBFINISH", msgid, "success")


def test_the_local_stack_wires_the_fake_to_the_demo_account(tmp_path, account_server):
    from chalicelib.channels.wechat import crypto
    from devstack.seed import DEMO_WECHAT_TEMPLATES
    from devstack.stack import LocalStack

    key = "a" * 43
    with FakeWeChatAPI("wx-demo-chain", "demo-secret") as fake:
        stack = LocalStack(state_dir=tmp_path, fakes={"wechat": fake})
        demo = {"stores": [{"id": "sh-jingan", "wechat_token": "tok", "wechat_encoding_aes_key": key}]}
        stack._wire_wechat(account_server.url, demo)
        client = WeChatClient(
            "wx-demo-chain", "demo-secret", base_url=fake.base_url, clock=time.time, timeout=2
        )
        with pytest.raises(PermanentSendError, match="40037"):  # only the account's templates
            client.send_template(SHE, "not-ours", {"thing1": "x"})
        booked = DEMO_WECHAT_TEMPLATES["confirmation"]
        msgid = client.send_template(SHE, booked["template_id"], {k: "静安寺店" for k in ["thing1"]})
        assert account_server.arrived.wait(10)

    [(path, params, body)] = account_server.received
    assert path == "/v1/channels/wechat/sh-jingan" and params["encrypt_type"] == "aes"
    plain = crypto.decrypt(key, crypto.encrypted_part(body), "wx-demo-chain")
    assert f"<MsgID>{msgid}</MsgID>".encode() in plain


def test_a_stores_template_channel_from_its_secret_sends_and_its_receipt_names_the_send(harness):
    from devstack.seed import demo_wechat_registrations

    sink = RecordingSink()
    harness.container.receipt_sink = sink
    fake = harness.fakes["wechat"]
    for template_id, keywords in demo_wechat_registrations().items():
        fake.register_template(template_id, keywords)
    store = harness.container.stores.get(SH_STORE)
    channel = harness.container.channels.for_store(store)["wechat_template"]

    msgid = send_outgoing(channel, Contact(wechat_openid="o-follower"), confirmation())
    for params, body in fake.take_events(
        _store(harness)["wechat_token"], _store(harness)["wechat_encoding_aes_key"]
    ):
        assert _deliver(harness, params, body) == (200, b"success")

    [shown] = fake.shown
    assert shown["template_id"] == "demo-tmpl-booked" and shown["lines"]["time3"] == "11月25日 15:00"
    [receipt] = sink.receipts
    assert (receipt.provider, receipt.provider_message_id, receipt.status) == (
        provider_of(channel, Contact()),
        msgid,
        "delivered",
    )


def test_the_fakes_user_control_sets_when_she_wrote_and_a_block(api, client):
    import urllib.request

    def control(body: dict) -> dict:
        request = urllib.request.Request(
            f"{api.base_url}/_fake/user", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read())

    assert (
        control({"openid": SHE, "last_wrote_at": time.time() - 49 * 3600, "blocked": "refuse"})["errcode"]
        == 0
    )
    with pytest.raises(CustomerServiceWindowClosed):
        client.send_text(SHE, "您好")
    with pytest.raises(PermanentSendError, match="43101"):
        client.send_template(SHE, "tmpl-booked", {"thing1": "静安寺店"})
    control({"openid": SHE, "blocked": None, "last_wrote_at": time.time()})
    client.send_text(SHE, "您好")
    assert client.send_template(SHE, "tmpl-booked", {"thing1": "静安寺店"})


def test_the_job_finish_sample_event_becomes_a_failed_receipt(harness):
    from pathlib import Path

    sink = RecordingSink()
    harness.container.receipt_sink = sink
    sample = (Path(__file__).parents[2] / "events" / "wechat_template_job_finish.xml").read_text()

    assert harness.wechat(SH_STORE, sample) == (200, b"success")
    [receipt] = sink.receipts
    assert (receipt.provider_message_id, receipt.status, receipt.code) == (
        "3487542469355618313",
        "failed",
        "failed:user block",
    )
    assert receipt.at == datetime.fromtimestamp(1795327260, UTC)


def test_the_fake_can_lose_a_members_next_receipt(api, client):
    api._control_user(json.dumps({"openid": SHE, "lose_receipts": 1}).encode())
    lost = client.send_template(SHE, "tmpl-booked", {"thing1": "静安寺店"})
    kept = client.send_template(SHE, "tmpl-booked", {"thing1": "静安寺店"})
    assert lost != kept
    assert [str(msgid) for _, msgid, _ in api.events] == [kept]
