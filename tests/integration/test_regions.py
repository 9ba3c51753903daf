"""A store served by another region is answered 421 with that region's endpoint, wherever it is named, and
nothing is read for it or stored: members' data never leaves their region (docs/REGIONS.md)."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from chalicelib.resources import MAIN_TABLE
from infra import directory
from tests.conftest import REGION, STAGE
from tests.support.builders import booking_event

HK_STORE = "hk-central"
HK_API = "https://api-hk.chairside.example/api/"
MISDIRECTED = {"error": "misdirected", "region": "ap-east-1", "endpoint": HK_API}


@pytest.fixture
def hk(harness):
    """hk-central is served in ap-east-1: registered in this region's directory by the operator command."""
    assert REGION != "ap-east-1"
    code = directory.main(
        [
            "put",
            "--stage",
            STAGE,
            "--store",
            HK_STORE,
            "--chain",
            harness.chain["chain_id"],
            "--region",
            "ap-east-1",
            "--api-url",
            HK_API,
            "--into",
            REGION,
        ]
    )
    assert code == 0
    return harness


def everything(harness) -> list[dict]:
    table = harness.session.client("dynamodb")
    items, kwargs = [], {"TableName": MAIN_TABLE.name(STAGE)}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_booking_for_a_store_served_elsewhere_gets_421_and_nothing_is_stored(hk):
    before = everything(hk)

    status, body = hk.post(booking_event(store_id=HK_STORE, booking_id="bk-hk-1"))
    hk.pump()

    assert status == 421, body
    assert body == MISDIRECTED  # where to go, and nothing else: no member data comes back
    assert hk.schedules() == []
    assert everything(hk) == before  # no booking, event, member, contact or calendar item
    assert not any(i["pk"]["S"].startswith("BOOKING#") for i in everything(hk))
    assert hk.sms() == []


def test_staff_of_the_chain_asking_for_its_conversations_get_421(hk):
    token = hk.chain["staff_token"]  # a chain_admin of the store's chain

    for path in (
        f"/v1/stores/{HK_STORE}/conversations",
        f"/v1/stores/{HK_STORE}/conversations/m-1/messages",
        f"/v1/stores/{HK_STORE}/members/m-1/messages",
        f"/v1/stores/{HK_STORE}/members/m-1",
    ):
        status, body = hk.staff("GET", path, token=token)
        assert (status, body) == (421, MISDIRECTED), path


def test_channel_callbacks_for_a_store_served_elsewhere_get_421_and_nothing_is_stored(hk):
    from chalicelib.channels.agora.chat import callback_signature

    before = everything(hk)
    message = {
        "event_id": "evt-hk",
        "store_id": HK_STORE,
        "member_id": "m-hk",
        "channel": "sms",
        "message": {"id": "msg-hk", "type": "text", "text": "hello"},
        "sent_at": "2026-11-22T10:05:00+08:00",
    }
    assert hk.post_message(message) == (421, MISDIRECTED)

    status, body = hk.wechat(HK_STORE, "<xml><MsgType>text</MsgType></xml>", token="any")
    assert (status, json.loads(body)) == (421, MISDIRECTED)

    secret = hk.chain["agora"]["callback_secret"]
    ts = int(time.time() * 1000)
    call = {
        "callId": "c-hk",
        "eventType": "chat",
        "chat_type": "chat",
        "security": callback_signature("c-hk", secret, ts),
        "timestamp": ts,
        "from": "m-agora",
        "to": f"store-{HK_STORE}",
        "msg_id": "hk-1",
        "payload": {"bodies": [{"type": "txt", "msg": "hi"}], "ext": {}},
    }
    response = hk.client.http.post(
        f"/v1/channels/agora/{hk.chain['chain_id']}/callback",
        body=json.dumps(call).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, json.loads(response.body)) == (421, MISDIRECTED)

    hk.pump()
    assert everything(hk) == before


def test_unknown_stores_are_answered_as_before(hk):
    status, body = hk.post(booking_event(store_id="nowhere-1", booking_id="bk-x"))
    assert status == 400 and body["error"] == "invalid_request", body

    status, body = hk.staff("GET", "/v1/stores/nowhere-1/conversations")
    assert status == 404, body


def test_another_chain_learns_nothing_from_the_directory(hk):
    """A signed booking from another chain for a store served elsewhere: unknown store, as in its own region."""
    directory.main(
        [
            "put",
            "--stage",
            STAGE,
            "--store",
            "hk-other",
            "--chain",
            "other-chain",
            "--region",
            "ap-east-1",
            "--api-url",
            HK_API,
            "--into",
            REGION,
        ]
    )

    status, body = hk.post(booking_event(store_id="hk-other", booking_id="bk-other"))

    assert status == 400 and body["error"] == "invalid_request", body
    assert "ap-east-1" not in json.dumps(body)


def test_an_entry_naming_this_region_is_no_redirect_and_a_removed_entry_is_gone(hk):
    with pytest.raises(SystemExit):  # the operator command refuses it ...
        directory.main(
            [
                "put",
                "--stage",
                STAGE,
                "--store",
                "here-1",
                "--chain",
                hk.chain["chain_id"],
                "--region",
                REGION,
                "--api-url",
                HK_API,
                "--into",
                REGION,
            ]
        )
    # ... and the API ignores one written by hand.
    from chalicelib.dal.regions import ServedElsewhere, directory_item

    item = directory_item(ServedElsewhere("here-1", hk.chain["chain_id"], REGION, HK_API), hk.clock.now())
    hk.session.client("dynamodb").put_item(TableName=MAIN_TABLE.name(STAGE), Item=item)
    assert hk.post(booking_event(store_id="here-1", booking_id="bk-here"))[0] == 400

    store = f"gone-{uuid.uuid4().hex[:6]}"
    directory.main(
        [
            "put",
            "--stage",
            STAGE,
            "--store",
            store,
            "--chain",
            hk.chain["chain_id"],
            "--region",
            "ap-east-1",
            "--api-url",
            HK_API,
            "--into",
            REGION,
        ]
    )
    assert directory.show(STAGE, store, [REGION])[REGION].region == "ap-east-1"
    directory.main(["delete", "--stage", STAGE, "--store", store, "--into", REGION])
    assert directory.show(STAGE, store, [REGION]) == {REGION: None}


def test_the_operator_command_refuses_what_would_misroute():
    with pytest.raises(ValueError, match="not configured"):
        directory.targets("ap-east-1", ["us-east-1"])
    with pytest.raises(ValueError, match="https"):
        directory._check_url("http://api.example.com/api/")
    assert directory.targets("ap-east-1", None) == [r for r in directory.REGIONS if r != "ap-east-1"]


def test_a_store_served_elsewhere_is_unknown_to_another_chain(hk):
    """421 tells a chain's own staff where its store lives; to anyone else the store does not exist."""
    from datetime import UTC, datetime

    from chalicelib.services.auth import issue_token

    def token(chain_id: str) -> str:
        return issue_token(
            "test-jwt-secret-of-at-least-32-bytes!",
            subject="x",
            chain_id=chain_id,
            role="chain_admin",
            store_ids=[],
            now=datetime.now(UTC),
        )

    path = f"/v1/stores/{HK_STORE}/conversations"
    assert hk.staff("GET", path, token=token("other-chain"))[0] == 404
    sibling = issue_token(
        "test-jwt-secret-of-at-least-32-bytes!",
        subject="s",
        chain_id=hk.chain["chain_id"],
        role="store_manager",
        store_ids=["sh-jingan"],
        now=datetime.now(UTC),
    )
    assert hk.staff("GET", path, token=sibling)[0] == 404  # a manager of another store of the same chain
    assert hk.staff("GET", path, token=token(hk.chain["chain_id"]))[0] == 421
    other = {
        "event_id": "e1",
        "store_id": HK_STORE,
        "member_id": "m1",
        "channel": "web",
        "message": {"id": "x1", "type": "text", "text": "hi"},
        "sent_at": "2026-11-22T10:00:00+08:00",
    }
    assert hk.post_message(other)[0] == 421  # the message webhook is signed by the store's own chain
