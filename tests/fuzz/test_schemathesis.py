"""Schemathesis against docs/openapi.yaml, through the in-process app (the `harness` on moto).

Every operation of the description gets FUZZ_EXAMPLES generated requests (10 unless set; `make fuzz` sets 500),
positive and negative, plus the description's own examples. Each is sent through the Chalice test client and
checked: never a 5xx, only documented statuses, content types and bodies, and a rejection (4xx) leaves the main
table as it was. One harness per tag, so one stack serves that tag's operations.

Requests are made to get past the front door most of the time: staff operations carry a valid staff token (else
another role's, or what schemathesis generated), webhooks are signed with the chain's secret, WeChat query strings
with the store's token and Agora bodies with the callback secret, and ids point at the seeded chain's stores,
member and conversation (or at a store another region serves: 421). A part schemathesis generated as invalid
(negative) is never repaired. Erasure runs last in its group, as it deletes the seeded member.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.channels.agora.chat import callback_signature
from chalicelib.channels.wechat.callback_xml import expected_signature
from chalicelib.dal.regions import ServedElsewhere, directory_item
from chalicelib.services.signatures import sign
from tests.support.builders import LDN_STORE, SH_STORE, booking_event
from tests.support.catalog import open_for_booking

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
SCHEMA = schemathesis.openapi.from_path(str(SPEC))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
TAGS = sorted({tag for operation in OPERATIONS for tag in operation.tags or ["untagged"]})
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
WEBHOOKS = {"/v1/webhooks/bookings", "/v1/webhooks/messages"}
# A store of the chain that another region serves (a store-directory entry): requests naming it answer 421.
REMOTE_STORE = "hk-central"
STORES = [SH_STORE, SH_STORE, LDN_STORE, REMOTE_STORE]  # the Shanghai store most often
SEEDED_MEMBER = "m-1"  # has a booking and a conversation at the Shanghai store (seed)
_ids = itertools.count(1)


def rows(harness) -> int:
    """Items in the main table (a test-only Scan)."""
    ddb = harness.session.client("dynamodb")
    count, kwargs = 0, {}
    while True:
        page = ddb.scan(TableName=harness.container.settings.main_table, Select="COUNT", **kwargs)
        count += page["Count"]
        if "LastEvaluatedKey" not in page:
            return count
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def seed(harness) -> None:
    """Member m-1 of the Shanghai store: a booking (so a profile) and a conversation; and REMOTE_STORE in the
    store directory, served in ap-east-1."""
    entry = ServedElsewhere(
        REMOTE_STORE, harness.chain["chain_id"], "ap-east-1", "https://api-hk.chairside.example/api/"
    )
    harness.session.client("dynamodb").put_item(
        TableName=harness.container.settings.main_table, Item=directory_item(entry, datetime.now(UTC))
    )
    open_for_booking(SH_STORE)  # members book for themselves there (issue 14; before the store is first read)
    status, body = harness.post(booking_event(event_id="oa-seed-booking", member_id=SEEDED_MEMBER))
    assert status == 202, body
    for i in range(2):
        status, body = harness.post_message(
            {
                "event_id": f"oa-seed-{i}",
                "store_id": SH_STORE,
                "member_id": SEEDED_MEMBER,
                "channel": "sms",
                "message": {"id": f"oa-seed-{i}", "type": "text", "text": f"你好 {i}"},
                "sent_at": "2026-11-22T10:05:00+08:00",
                "member_name": "Li",
            }
        )
        assert status == 200, body


# --- making generated requests get past the front door -----------------------------------------------


def usually(data, label: str) -> bool:
    """True three times in four, and in the simplest example (hypothesis starts from, and shrinks towards, 0)."""
    return data.draw(st.integers(0, 3), label=label) != 3


def positive_at(case, location: ParameterLocation) -> bool:
    return case.meta is None or not case.meta.is_negative_at(location)


def staff_token(harness, data) -> str | None:
    """The chain admin's token mostly; another role's (403s) or the generated value otherwise."""
    choice = data.draw(st.integers(0, 7), label="staff token")
    roles = harness.chain.get("role_tokens") or {}
    if choice == 7:
        return None
    if choice == 6 and roles:
        return roles[data.draw(st.sampled_from(sorted(roles)), label="role")]
    return harness.chain["staff_token"]


def member_token(harness, data) -> str | None:
    """The seeded member's token mostly; another chain's member's (404s) or the generated value otherwise."""
    choice = data.draw(st.integers(0, 7), label="member token")
    if choice == 7:
        return None
    chain = "other-chain" if choice == 6 else harness.chain["chain_id"]
    return harness.container.member_tokens.issue(chain, SEEDED_MEMBER)[0]


def steer(harness, case, data) -> dict[str, Any]:
    """Point a generated case at the seeded data and give it valid credentials, most of the time.

    Only parts schemathesis generated as valid are changed, and only into other valid values. Returns what
    `send` must do to the serialized request (sign it)."""
    operation, plan = case.operation, {}
    if case.path_parameters and positive_at(case, ParameterLocation.PATH):
        params = dict(case.path_parameters)
        if "store_id" in params and usually(data, "known store"):
            params["store_id"] = data.draw(st.sampled_from(STORES), label="store")
        for name in ("conversation_id", "member_id"):
            if name in params and usually(data, f"known {name}"):
                params[name] = SEEDED_MEMBER
        if "chain_id" in params and usually(data, "known chain"):
            params["chain_id"] = harness.chain["chain_id"]
        if "message_id" in params and usually(data, "known message"):  # one of the seeded member's (issue 16)
            from chalicelib.conversations.inbound import message_id

            params["message_id"] = message_id(
                "sms", f"oa-seed-{data.draw(st.integers(0, 1), label='seed msg')}"
            )
        case.path_parameters = params
    is_staff = any(
        "staffBearer" in requirement for requirement in operation.definition.raw.get("security", [])
    )
    is_member = any(
        "memberBearer" in requirement for requirement in operation.definition.raw.get("security", [])
    )
    if (
        is_member
        and positive_at(case, ParameterLocation.HEADER)
        and (not is_staff or usually(data, "member"))
    ):
        token = member_token(harness, data)  # self-booking (issue 14)
        if token:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    elif is_staff and positive_at(case, ParameterLocation.HEADER):
        token = staff_token(harness, data)
        if token:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    if operation.path in WEBHOOKS and positive_at(case, ParameterLocation.HEADER):
        plan["sign"] = usually(data, "signed")
    if operation.path.startswith("/v1/channels/wechat/") and positive_at(case, ParameterLocation.QUERY):
        store = (case.path_parameters or {}).get("store_id")
        tokens = {s["id"]: s["wechat_token"] for s in harness.chain["stores"]}
        if store in tokens and usually(data, "wechat signed"):
            query = dict(case.query or {})
            query["signature"] = expected_signature(
                tokens[store], str(query.get("timestamp", "")), str(query.get("nonce", ""))
            )
            case.query = query
    if operation.path.endswith("/availability") and positive_at(case, ParameterLocation.QUERY):
        if usually(data, "offered service"):  # self-booking (issue 14)
            case.query = {**(case.query or {}), "service": "cut"}
    if operation.path.startswith(("/v1/receipts/alibaba-sms/", "/v1/channels/alibaba-sms/")) and positive_at(
        case, ParameterLocation.QUERY
    ):
        if usually(data, "receipt token"):  # mainland SMS receipts (issue 15): the seeded chain's token
            case.query = {
                **(case.query or {}),
                "receipt_token": harness.chain["alibaba_sms"]["receipt_token"],
            }
    if isinstance(case.body, dict) and positive_at(case, ParameterLocation.BODY):
        steer_body(harness, operation.path, case.body, data)
    return plan


def steer_body(harness, path: str, body: dict, data) -> None:
    if path == "/v1/webhooks/bookings" and isinstance(body.get("booking"), dict):
        if usually(data, "known booking store"):
            body["booking"]["store_id"] = data.draw(st.sampled_from(STORES), label="store")
        if not data.draw(st.booleans(), label="same event id"):
            body["event_id"] = f"oa-evt-{next(_ids)}"
    elif path == "/v1/webhooks/messages":
        if usually(data, "known message store"):
            body["store_id"] = data.draw(st.sampled_from(STORES), label="store")
        if not data.draw(st.booleans(), label="same message id") and isinstance(body.get("message"), dict):
            body["message"]["id"] = f"oa-msg-{next(_ids)}"
    elif path == "/v1/stores/{store_id}/bookings" and usually(data, "bookable"):  # self-booking (issue 14)
        body["service"] = "cut"
        body["stylist_id"] = data.draw(st.sampled_from(["any", "sh-amy", "sh-xiaowang"]), label="stylist")
        day, hour = data.draw(st.integers(23, 28), label="day"), data.draw(st.integers(9, 21), label="hour")
        body["start"] = (
            f"2026-11-{day}T{hour:02d}:{data.draw(st.sampled_from([0, 15, 30, 40]), label='minute'):02d}:00+08:00"
        )
    elif path.endswith("/me/waitlist") and "date" in body and usually(data, "a waitlist request that fits"):
        body["service"] = data.draw(st.sampled_from(["cut", "colour"]), label="waitlist service")
        body["stylist_id"] = data.draw(
            st.sampled_from(["any", "sh-lina", "sh-amy"]), label="waitlist stylist"
        )
        body["date"] = (
            f"2026-11-{data.draw(st.integers(20, 30), label='waitlist day')}"  # the clock: the 22nd
        )
    elif path.startswith("/v1/channels/agora/"):
        if usually(data, "to a store"):
            body["to"] = f"store-{data.draw(st.sampled_from(STORES), label='agora store')}"
        if "chat_type" in body and not data.draw(st.booleans(), label="chat_type as generated"):
            body["chat_type"] = "chat"
        if usually(data, "agora signed"):
            body["security"] = callback_signature(
                body["callId"], harness.chain["agora"]["callback_secret"], body["timestamp"]
            )


def send(harness, case, plan: dict[str, Any]) -> schemathesis.Response:
    """Serialize as schemathesis would for `requests`, then send through the Chalice test client."""
    kwargs = case.as_transport_kwargs(base_url="http://chairside.test")
    fields = ("method", "url", "headers", "params", "data", "json", "files", "cookies")
    request = requests.Request(**{k: kwargs[k] for k in fields if k in kwargs}).prepare()
    body = request.body.encode("utf-8") if isinstance(request.body, str) else (request.body or b"")
    if plan.get("sign"):
        ts = str(int(time.time()))
        request.headers["X-Chairside-Chain"] = harness.chain["chain_id"]
        request.headers["X-Chairside-Timestamp"] = ts
        request.headers["X-Chairside-Signature"] = sign(harness.chain["webhook_secret"], ts, body)
    started = time.perf_counter()
    response = harness.client.http.request(
        request.method, request.path_url, headers=dict(request.headers), body=body
    )
    headers = {name.lower(): [value] for name, value in response.headers.items()}
    # API Gateway (and `chalice local`) label a response without a Content-Type as JSON; the test client does not.
    headers.setdefault("content-type", ["application/json"])
    return schemathesis.Response(
        status_code=response.status_code,
        headers=headers,
        content=response.body or b"",
        request=request,
        elapsed=time.perf_counter() - started,
        verify=True,
    )


# --- the property ---------------------------------------------------------------------------------------


def strategy(operation):
    """The description's examples, then valid requests (twice as often as invalid ones), then invalid ones."""
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    strategies = [*SCHEMA.get_strategies_from_examples(operation), positive, positive]
    if any(True for _ in operation.iter_parameters()) or operation.body:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def fuzz(harness, operation, statuses: Counter) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy(operation), data=st.data())
    def property_(case, data):
        plan = steer(harness, case, data)
        before = rows(harness)

        response = send(harness, case, plan)
        hypothesis.event(f"HTTP {response.status_code}")
        statuses[(operation.label, response.status_code)] += 1

        case.validate_response(response, checks=CHECKS)
        if 400 <= response.status_code < 500:
            assert rows(harness) == before, f"a {response.status_code} answer changed the stored state"

    property_()


@pytest.mark.timeout(max(300, EXAMPLES * 2))
@pytest.mark.parametrize("tag", TAGS)
def test_every_operation_conforms_to_the_openapi_description(harness, tag):
    seed(harness)
    failures, statuses = [], Counter()
    # Erasure last: it deletes the seeded member the others read.
    operations = [op for op in OPERATIONS if tag in (op.tags or ["untagged"])]
    for operation in sorted(operations, key=lambda op: op.method.upper() == "DELETE"):
        try:
            fuzz(harness, operation, statuses)
        except Exception as exc:  # noqa: BLE001 - report every operation's failure, not just the first
            failures.append(f"--- {operation.label}\n{type(exc).__name__}: {exc}")
    # What the requests got, per operation (shown with -s, and with a failure).
    print("\n".join(f"{label:70} HTTP {status} x{n}" for (label, status), n in sorted(statuses.items())))
    assert not failures, "\n\n".join(failures)


def test_the_description_is_fuzzed_whole():
    assert {op.label for op in OPERATIONS} == {
        f"{method.upper()} {path}"
        for path, item in SCHEMA.raw_schema["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
