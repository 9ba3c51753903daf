"""Property tests of the settings PATCHes (issue 17's features) through the in-process app (the `harness` on moto).

Any JSON, and valid bodies with one part broken, PATCHed by the chain admin to the store's and the chain's settings:
never a 5xx, a 400 names at least one field and changes nothing, and a 200 answers what a GET then reads. Bounded
by default (FUZZ_EXAMPLES examples per property, 40 unless set); `make fuzz` raises it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.dal.models import ChainItem, StoreItem
from tests.fuzz.test_webhook_fuzz import FUZZ  # the same bound (FUZZ_EXAMPLES) and health checks
from tests.support.builders import SH_STORE

STORE = f"/v1/stores/{SH_STORE}/settings"
CHAIN = "/v1/chains/demo-chain/settings"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
odd = st.one_of(
    json_values,
    st.sampled_from(
        [
            "",
            "http://x.cn/r",
            "https://g.page/r/x",
            "+8613900000001",
            "+86 139",
            "skip",
            "\u202e",
            "x" * 400,
            0,
            241,
        ]
    ),
)
link = st.fixed_dictionaries(
    {"url": st.sampled_from(["https://g.page/r/x", "https://www.dianping.com/shop/1/review"])},
    optional={
        "label": st.text(max_size=45),
        "locales": st.lists(st.sampled_from(["zh-CN", "en", "fr"]), max_size=3),
    },
)
store_bodies = st.fixed_dictionaries(
    {},
    optional={
        "review_links": st.none() | st.lists(link, max_size=3),
        "manager_phone": st.none() | st.sampled_from(["+8613900000001", "+442079460000", "13900000001"]),
        "handoff_limit_minutes": st.none() | st.integers(-5, 300),
    },
)
chain_bodies = st.fixed_dictionaries(
    {},
    optional={
        "feedback_settings": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "no_answer": st.none() | st.sampled_from(["send_review", "skip", "ask"]),
                "thank_you_coupon": st.none()
                | st.fixed_dictionaries(
                    {"offer": st.text(max_size=110)}, optional={"valid_days": st.integers(-1, 400)}
                ),
            },
        )
    },
)


@st.composite
def broken(draw, bodies) -> Any:
    """A body of the right shape with one key (top level or one down) set to something odd."""
    body = draw(bodies)
    if not body or draw(st.booleans()):
        body[draw(st.text(max_size=20))] = draw(odd)
        return body
    key = draw(st.sampled_from(sorted(body)))
    inner = body[key]
    if isinstance(inner, dict) and inner:
        inner[draw(st.sampled_from(sorted(inner)))] = draw(odd)
    else:
        body[key] = draw(odd)
    return body


def patch(harness, path: str, raw: bytes) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {harness.chain['staff_token']}", "Content-Type": "application/json"}
    response = harness.client.http.request("PATCH", path, headers=headers, body=raw)
    return response.status_code, json.loads(response.body) if response.body else None


def read(harness, path: str) -> Any:
    response = harness.client.http.get(
        path, headers={"Authorization": f"Bearer {harness.chain['staff_token']}"}
    )
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def items() -> tuple[dict, dict]:
    store = StoreItem.get(*StoreItem.key(SH_STORE), consistent_read=True).attribute_values
    chain = ChainItem.get(*ChainItem.key("demo-chain"), consistent_read=True).attribute_values
    return store, chain


def check(harness, path: str, payload: Any) -> None:
    before = items()
    status, body = patch(harness, path, json.dumps(payload).encode())
    assert status in (200, 400), (status, body)
    if status == 400:
        assert body["error"] == "invalid_request" and body["fields"], body
        assert items() == before
    else:
        assert body == read(harness, path)


@FUZZ
@given(payload=st.one_of(json_values, store_bodies, broken(store_bodies)))
@example(payload={"review_links": [{"url": "https://g.page/r/x", "locales": ["en", "en"]}]})
@example(payload={"handoff_limit_minutes": 1e400})
def test_any_store_settings_body_is_set_or_refused_naming_a_field(harness, payload):
    check(harness, STORE, payload)


@FUZZ
@given(payload=st.one_of(json_values, chain_bodies, broken(chain_bodies)))
@example(payload={"feedback_settings": {"thank_you_coupon": {"offer": "\ud800"}}})
def test_any_chain_settings_body_is_set_or_refused_naming_a_field(harness, payload):
    check(harness, CHAIN, payload)
