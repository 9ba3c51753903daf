"""`python -m ops.members import FILE.csv --store S`: through the member directory, rows validated, twice safe."""

from __future__ import annotations

import io
from pathlib import Path

from chalicelib.dal.models import MemberItem
from ops.members import import_members, main
from tests.support.builders import SH_STORE, booking_event

SAMPLE = Path(__file__).resolve().parents[2] / "ops" / "samples" / "members.csv"


def profiles(harness) -> list[dict]:
    items = harness.session.client("dynamodb").scan(  # test only
        TableName=harness.container.settings.main_table,
        FilterExpression="sk = :s",
        ExpressionAttributeValues={":s": {"S": "PROFILE"}},
    )["Items"]
    return items


def test_the_sample_file_loads_and_a_second_run_creates_no_one(harness):
    err = io.StringIO()
    first = import_members(harness.container, SH_STORE, SAMPLE, err)

    assert (first.created, first.found, first.rejected) == (4, 0, [])
    assert "4/4" in err.getvalue() and "4 created" in err.getvalue()
    directory = harness.container.member_directory
    wang = directory.find("demo-chain", phone="+8613900139101")
    profile = MemberItem.get(*MemberItem.key("demo-chain", wang), consistent_read=True)
    assert (profile.name, profile.email, profile.birthday, profile.marketing_consent) == (
        "王丽",
        "wangli@example.com",
        "1990-05-01",
        True,
    )
    assert profile.primary_store_id == SH_STORE and set(profile.manual_tags) == {"vip", "nail_fan"}
    assert directory.find("demo-chain", phone="+8613900139102")  # spaced in the file, E.164 here
    count = len(profiles(harness))

    second = import_members(harness.container, SH_STORE, SAMPLE, io.StringIO())

    assert (second.created, second.found, second.rejected) == (0, 4, [])
    assert len(profiles(harness)) == count


def test_a_member_known_from_bookings_is_updated_not_duplicated(harness, tmp_path):
    assert harness.post(booking_event(member_id="m-known", phone="+8613900139201"))[0] == 202
    path = tmp_path / "m.csv"
    path.write_text("phone,name,birthday,tags\n+8613900139201,李女士,1991-03-08,regular\n", encoding="utf-8")

    outcome = import_members(harness.container, SH_STORE, path, io.StringIO())

    assert (outcome.created, outcome.found) == (0, 1)
    profile = MemberItem.get(*MemberItem.key("demo-chain", "m-known"), consistent_read=True)
    assert profile.birthday == "1991-03-08" and "regular" in profile.manual_tags


def test_rejected_rows_are_reported_by_line_and_the_others_load(harness, tmp_path, monkeypatch):
    path = tmp_path / "bad.csv"
    path.write_text(
        "phone,name,email,birthday,marketing_consent,tags\n"
        "+8613900139301,OK,,,,\n"
        "12345,Bad phone,,,,\n"
        "+8613900139303,Bad date,,1990-13-40,,\n"
        ",No phone,,,,\n"
        "+8613900139305,Bad consent,not-an-email,,maybe,a b\n",
        encoding="utf-8",
    )
    err = io.StringIO()

    outcome = import_members(harness.container, SH_STORE, path, err)

    assert outcome.created == 1
    assert [line for line, _ in outcome.rejected] == [3, 4, 5, 6]
    text = err.getvalue()
    assert "line 3: rejected: phone: not a phone number" in text
    assert "line 4: rejected: birthday: must be a date YYYY-MM-DD" in text
    assert "line 5: rejected: phone: a phone number is required" in text
    assert (
        "email: not an email address" in text and "marketing_consent: yes or no" in text and "tags:" in text
    )

    # The command exits non-zero when a row was rejected (and 2 for an unknown store).
    import ops.members as module

    monkeypatch.setattr(module, "_container", lambda args: harness.container)
    assert main(["import", str(path), "--store", SH_STORE]) == 1
    assert main(["import", str(SAMPLE), "--store", SH_STORE]) == 0
    assert main(["import", str(SAMPLE), "--store", "no-such-store"]) == 2
