"""Issue 17 §5: staff remember a member's preferences on her profile; texts use them, never her allergies; her
erasure removes them (Given / When / Then, real app and worker on mock_aws)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.dal.models import MemberItem
from chalicelib.services.auth import issue_token
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

PATH = f"/v1/stores/{SH_STORE}/members/m-1"
LIKED = {
    "favourite_stylist": "小王",
    "style_notes": "喜欢低调一点，不要太亮",
    "colours": ["奶茶色"],
    "designs": ["磨砂质感"],
    "allergies": ["乳胶手套"],
}


def put(harness, body, path: str = PATH + "/preferences", token: str | None = None):
    response = harness.client.http.put(
        path,
        headers={
            "Authorization": f"Bearer {token or harness.chain['staff_token']}",
            "Content-Type": "application/json",
        },
        body=json.dumps(body, ensure_ascii=False).encode(),
    )
    return response.status_code, json.loads(response.body) if response.body else None


def token(harness, role: str, stores: list[str]) -> str:
    return issue_token(
        harness.env["CHAIRSIDE_JWT_SECRET"],
        subject=f"t-{role}",
        chain_id="demo-chain",
        role=role,
        store_ids=stores,
        now=datetime.now(UTC),
    )


@pytest.fixture
def member(harness):
    status, _ = harness.post(booking_event(event_id="evt-p1"))
    assert status == 202
    harness.pump()
    return harness


def test_staff_record_preferences_and_the_profile_shows_them(member):
    status, body = put(member, LIKED, token=token(member, "stylist", [SH_STORE]))

    assert status == 200
    prefs = body["preferences"]
    assert {k: prefs[k] for k in LIKED} == LIKED
    assert prefs["updated_by"] == "t-stylist" and prefs["updated_at"]
    status, profile = member.staff("GET", PATH)
    assert status == 200 and profile["preferences"] == prefs


def test_a_profile_without_preferences_shows_empty_fields(member):
    _, profile = member.staff("GET", PATH)
    assert profile["preferences"] == {
        "favourite_stylist": "",
        "style_notes": "",
        "colours": [],
        "designs": [],
        "allergies": [],
        "updated_at": None,
        "updated_by": None,
    }


@pytest.mark.parametrize(
    "body, field",
    [
        ({**LIKED, "style_notes": "长" * 501}, "style_notes"),
        ({**LIKED, "colours": "奶茶色"}, "colours"),
        ({**LIKED, "designs": [f"d{i}" for i in range(11)]}, "designs"),
        ({**LIKED, "allergies": ["x" * 41]}, "allergies.0"),
        ({**LIKED, "favourite_stylist": 7}, "favourite_stylist"),
        ({**LIKED, "shoe_size": "37"}, "shoe_size"),
    ],
)
def test_bad_preferences_are_refused_naming_the_field_and_nothing_is_stored(member, body, field):
    status, answer = put(member, body)

    assert status == 400 and field in answer["fields"], answer
    assert MemberItem.get(*MemberItem.key("demo-chain", "m-1"), consistent_read=True).preferences is None


def test_a_retried_put_writes_nothing_more_and_a_new_one_replaces_the_whole_record(member):
    _, first = put(member, LIKED)
    member.clock.set(datetime.fromisoformat("2026-11-22T12:00:00+08:00"))

    _, again = put(member, LIKED)
    assert again["preferences"]["updated_at"] == first["preferences"]["updated_at"]

    _, changed = put(member, {"designs": ["法式"]})
    assert changed["preferences"]["designs"] == ["法式"]
    assert changed["preferences"]["allergies"] == [] and changed["preferences"]["colours"] == []
    assert changed["preferences"]["updated_at"] != first["preferences"]["updated_at"]


def test_only_staff_of_her_store_may_set_them(member):
    status, _ = put(member, LIKED, token=token(member, "stylist", [LDN_STORE]))
    assert status == 404
    status, _ = put(member, LIKED, path=f"/v1/stores/{SH_STORE}/members/m-nobody/preferences")
    assert status == 404


def test_the_reminder_says_what_she_liked_and_never_her_allergy(member):
    put(member, LIKED)

    member.advance_to("2026-11-24T10:00:00+08:00")

    assert member.sent_kinds(SH_STORE, "m-1")[-1] == "reminder_day_before"
    text = member.sms()[-1][1]
    assert "您上次说喜欢奶茶色、磨砂质感" in text
    assert "乳胶" not in text and "不要太亮" not in text


def test_without_liked_colours_or_designs_the_reminder_has_no_such_line(member):
    put(member, {"allergies": ["乳胶手套"], "style_notes": "短发"})

    member.advance_to("2026-11-24T10:00:00+08:00")

    assert member.sent_kinds(SH_STORE, "m-1")[-1] == "reminder_day_before"
    text = member.sms()[-1][1]
    assert "喜欢" not in text and "乳胶" not in text


def test_erasure_removes_her_preferences_and_the_export_had_them(member):
    put(member, LIKED)
    headers = {"Authorization": f"Bearer {member.chain['staff_token']}"}
    exported = json.loads(member.client.http.get(PATH + "/export", headers=headers).body)
    assert exported["profile"]["preferences"]["allergies"] == ["乳胶手套"]

    assert member.client.http.delete(PATH, headers=headers).status_code == 200

    ddb = member.session.client("dynamodb")
    dump = json.dumps(ddb.scan(TableName=member.container.settings.main_table)["Items"], ensure_ascii=False)
    assert "乳胶手套" not in dump and "磨砂质感" not in dump  # a test oracle: the application never scans
    assert put(member, LIKED)[0] == 404
