"""Property tests of the booking webhook through the in-process app (the `harness` on moto).

Bounded by default (FUZZ_EXAMPLES examples per property, 40 unless set); `make fuzz` raises it.
The harness is created once per test function, so the examples of one property share one stack:
every property is checked against the state before and after each request.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import hypothesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.api.webhooks import MAX_BODY_BYTES
from chalicelib.contracts.booking_event import EVENT_TYPES
from chalicelib.services.signatures import sign
from tests.support.builders import LDN_STORE, SH_STORE, booking_event
from tests.support.mutations import mutate, paths

CATEGORIES = ("hair_cut", "hair_colour", "perm", "hair_care", "nail_gel", "nail_art", "nail_care")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
WEBHOOK = "/v1/webhooks/bookings"
ACCEPTABLE = {202, 400, 409, 413}
STORE_TZ = {SH_STORE: ZoneInfo("Asia/Shanghai"), LDN_STORE: ZoneInfo("Europe/London")}
STYLISTS = {SH_STORE: ["sh-xiaowang", "sh-amy", "sh-lina"], LDN_STORE: ["ldn-sophie", "ldn-mei"]}
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?[+-]\d\d:\d\d$")
_ids = itertools.count(1)


# --- what the stack holds ------------------------------------------------------------------------


def snapshot(harness) -> tuple[int, frozenset[str]]:
    """(items in the main table, names of the journey schedules)."""
    ddb = harness.session.client("dynamodb")
    table = harness.container.settings.main_table
    count, kwargs = 0, {}
    while True:
        page = ddb.scan(TableName=table, Select="COUNT", **kwargs)
        count += page["Count"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    return count, frozenset(s["Name"] for s in harness.schedules())


def post_raw(harness, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    response = harness.client.http.post(WEBHOOK, headers=headers, body=raw)
    try:
        body = json.loads(response.body) if response.body else None
    except ValueError:
        body = response.body
    return response.status_code, body


def signed_headers(harness, raw: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "X-Chairside-Chain": harness.chain["chain_id"],
        "X-Chairside-Timestamp": ts,
        "X-Chairside-Signature": sign(harness.chain["webhook_secret"], ts, raw),
    }


def check_rejection_changed_nothing(status: int, before, after) -> None:
    if 400 <= status < 500:
        assert after == before, f"a {status} answer changed the stored state"


# --- (a) anything, correctly signed --------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=16,
)


_TEMPLATE = booking_event(email="li@example.com")
_TEMPLATE_PATHS = paths(_TEMPLATE)


@st.composite
def mutated_events(draw) -> Any:
    """A valid booking event with one to three parts replaced by arbitrary JSON or removed."""
    event = json.loads(json.dumps(_TEMPLATE))
    event["event_id"] = f"fuzz-a-{next(_ids)}"
    event["booking"]["id"] = draw(st.sampled_from(["fz-1", "fz-2", "fz-3"]))
    mutate(draw, event, _TEMPLATE_PATHS, json_values)
    return event


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@FUZZ
@given(payload=st.one_of(json_values, mutated_events()))
@example(payload=[])
@example(payload={"booking": {"member": {"phone": "+" + "9" * 300}}})
def test_any_json_correctly_signed_never_gets_a_5xx_and_a_rejection_changes_nothing(harness, payload):
    raw = _dump(payload)
    before = snapshot(harness)

    status, body = post_raw(harness, raw, signed_headers(harness, raw))
    hypothesis.event(f"HTTP {status}")

    assert status in ACCEPTABLE, (status, body)
    check_rejection_changed_nothing(status, before, snapshot(harness))
    if status == 400:
        assert body["error"] == "invalid_request" and body["fields"], body


@FUZZ
@given(raw=st.one_of(st.binary(max_size=2048), st.text(max_size=500).map(lambda t: t.encode("utf-8"))))
@example(raw=b"\xff\xfe{}")
@example(raw=b"NaN")
@example(raw=b'{"event_id": "e", "booking": ' + b"[" * 3000 + b"]" * 3000 + b"}")
@example(raw=b" " * (MAX_BODY_BYTES + 1))
def test_any_bytes_correctly_signed_never_get_a_5xx_and_a_rejection_changes_nothing(harness, raw):
    before = snapshot(harness)

    status, body = post_raw(harness, raw, signed_headers(harness, raw))
    hypothesis.event(f"HTTP {status}")

    assert status in ACCEPTABLE, (status, body)
    check_rejection_changed_nothing(status, before, snapshot(harness))
    if len(raw) > MAX_BODY_BYTES:
        assert status == 413


# --- (b) valid booking events --------------------------------------------------------------------

NAMES = ["李女士", "Zoë O'Brien", "😀💇‍♀️✨", "مريم الحسن", "שרה כהן", "\u202eevil\u202c", "  padded  ", ""]
PHONES = ["+8613800138000", "+86 138 0013 8000", "+44 20 7946 0000", "+1 (415) 555-2671", "+33612345678"]
ids = st.from_regex(r"[A-Za-z0-9_.:@\-]{1,40}", fullmatch=True)


@st.composite
def valid_events(draw) -> dict:
    store = draw(st.sampled_from([SH_STORE, LDN_STORE]))
    local = draw(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)))
    seconds = draw(st.sampled_from(["minutes", "seconds"]))
    offset = draw(st.sampled_from(["+08:00", "+00:00", "-05:00"]))
    start = local.isoformat(timespec=seconds) + offset
    occurred = draw(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)))
    email = draw(
        st.none() | st.from_regex(r"[a-z0-9._+]{1,20}@[a-z0-9]{1,10}\.(com|cn|co\.uk)", fullmatch=True)
    )
    event = booking_event(
        type=draw(st.sampled_from(EVENT_TYPES)),
        event_id=f"fuzz-b-{next(_ids)}",
        booking_id=draw(st.sampled_from(["bk-1", "bk-2", "bk-3"]) | ids),
        store_id=store,
        start=start,
        occurred_at=occurred.isoformat(timespec="seconds") + draw(st.sampled_from(["+08:00", "Z", "-05:00"])),
        duration=draw(st.integers(min_value=5, max_value=600)),
        category=draw(st.sampled_from(CATEGORIES) | st.from_regex(r"[a-z0-9_]{1,64}", fullmatch=True)),
        stylist=draw(st.sampled_from(STYLISTS[store]) | ids),
        member_id=draw(st.sampled_from(["m-1", "m-2"]) | ids),
        phone=draw(st.none() | st.just("") | st.sampled_from(PHONES)),
        email=email,
        locale=draw(st.sampled_from(["zh-CN", "en", "en-GB", "fr"])),
    )
    member = event["booking"]["member"]
    member["name"] = draw(st.sampled_from(NAMES) | st.text(max_size=200))
    event["booking"]["stylist"]["name"] = draw(st.sampled_from(NAMES) | st.text(max_size=50))
    event["booking"]["service"]["name"] = draw(st.sampled_from(NAMES) | st.text(max_size=50))
    event["booking"]["notes"] = draw(st.none() | st.text(max_size=300))
    if draw(st.booleans()):
        event["booking"]["price"] = None
    return event


@FUZZ
@given(booking=valid_events())
def test_valid_booking_events_never_get_a_5xx_and_their_journeys_are_in_store_local_order(harness, booking):
    before = snapshot(harness)

    status, body = harness.post(booking)
    hypothesis.event(
        f"HTTP {status}" + (f" ({body['ignored']})" if status == 202 and "ignored" in body else "")
    )

    assert status in (202, 409), (status, body)
    if status == 409:
        assert body["error"] == "stylist_unavailable"
        check_rejection_changed_nothing(status, before, snapshot(harness))
        return
    assert body["booking_id"] == booking["booking"]["id"]
    # An ignored (out-of-order) event answers with the booking as stored, perhaps at another store.
    store = harness.container.bookings.booking(harness.chain["chain_id"], body["booking_id"]).store_id
    assert store == booking["booking"]["store_id"] or "ignored" in body
    journey = body["journey"]
    for step in journey:
        assert isinstance(step["due_at"], str) and ISO_WITH_OFFSET.match(step["due_at"]), step
        due = datetime.fromisoformat(step["due_at"])
        assert due.utcoffset() == due.astimezone(STORE_TZ[store]).utcoffset(), step  # store-local
    instants = [datetime.fromisoformat(step["due_at"]) for step in journey]
    assert instants == sorted(instants)
    member = booking["booking"]["member"]
    if "ignored" not in body and not member["phone"] and not member["email"]:
        assert journey == []  # nobody to reach


# --- (c) broken signature headers ----------------------------------------------------------------

HEADERS = ("X-Chairside-Chain", "X-Chairside-Timestamp", "X-Chairside-Signature")


@st.composite
def header_mutations(draw) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=3, unique=True))
    return {
        name: draw(
            st.one_of(
                st.just(None),  # missing
                st.sampled_from(["", " ", "\t", "null", "0", "v1=", "-1", "²", "１７００００００００"]),
                st.text(max_size=60),
                st.integers(min_value=100, max_value=20_000).map(lambda n: "9" * n),  # huge
                st.integers(min_value=100, max_value=20_000).map(lambda n: "v1=" + "a" * n),
                st.integers(min_value=-400, max_value=400).filter(bool),  # a shifted timestamp
                st.sampled_from(["upper", "lower", "other-chain"]),
            )
        )
        for name in names
    }


def _apply(headers: dict[str, str], name: str, change: Any) -> None:
    if change is None:
        headers.pop(name)
    elif isinstance(change, int):
        headers[name] = (
            str(int(headers["X-Chairside-Timestamp"]) + change) if name.endswith("Timestamp") else str(change)
        )
    elif change == "upper":
        headers[name] = headers[name].upper()
    elif change == "lower":
        headers[name] = headers[name].lower() + "x"
    elif change == "other-chain":
        headers[name] = "other-chain"
    else:
        headers[name] = change


@FUZZ
@given(mutations=header_mutations())
@example(mutations={"X-Chairside-Timestamp": "²"})  # isdigit() but not int()
@example(mutations={"X-Chairside-Timestamp": "١٧٠٠٠٠٠٠٠٠"})  # other scripts' digits
@example(mutations={"X-Chairside-Chain": "c" * 5000})
@example(mutations={"X-Chairside-Signature": None, "X-Chairside-Chain": ""})
def test_any_broken_signature_header_gets_401_and_stores_nothing(harness, mutations):
    event = booking_event(
        event_id=f"fuzz-c-{next(_ids)}",
        booking_id=f"fz-c-{next(_ids)}",
        start="2026-12-15T11:00:00+08:00",
        stylist=f"sty-{next(_ids)}",
    )
    raw = _dump(event)
    headers = signed_headers(harness, raw)
    original = dict(headers)
    for name, change in mutations.items():
        _apply(headers, name, change)
    if all(headers.get(name, "").strip() == original[name] for name in HEADERS):
        return  # the mutation happened to leave the request valid (e.g. only added whitespace)
    before = snapshot(harness)

    status, body = post_raw(harness, raw, headers)

    assert status == 401, (status, body, headers)
    assert body["error"] == "unauthorized"
    assert snapshot(harness) == before
