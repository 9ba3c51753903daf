"""Always-on care on mock_aws: each store's recurring schedule fires its daily tick at 10:00 store-local, the tick
finds who is due (Queries only) and every member hears an occasion once, however often the tick runs.

The harness clock starts at 2026-11-22 10:00 Shanghai (02:00 London): London's first tick is 10:00 GMT the same
day, Shanghai's is 10:00 on the 23rd."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import resources as r
from chalicelib.care.always_on import CareTickMessage
from chalicelib.care.schedules import schedule_name
from devstack.seed import STORES
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

CHAIN = "demo-chain"
NYC_STORE = "nyc-soho"
STYLISTS = {SH_STORE: "sh-xiaowang", LDN_STORE: "ldn-sophie", NYC_STORE: "nyc-jess"}


def visit(
    harness,
    member_id: str,
    start: str,
    *,
    store_id: str = SH_STORE,
    category: str = "hair_colour",
    birthday: str | None = None,
    locale: str = "zh-CN",
    phone: str = "+8613800138000",
    kinds: tuple[str, ...] = ("booking.created", "booking.completed"),
) -> None:
    """A booking of hers (by default created and completed: a visit), with marketing consent."""
    member = {
        "id": member_id,
        "name": member_id,
        "phone": phone,
        "locale": locale,
        "birthday": birthday,
        "marketing_consent": True,
    }
    common = {
        "booking_id": f"bk-{uuid.uuid4().hex[:8]}",
        "store_id": store_id,
        "start": start,
        "category": category,
        "stylist": STYLISTS[store_id],
        "member": member,
    }
    for kind in kinds:
        status, body = harness.post(
            booking_event(type=kind, occurred_at="2026-11-22T09:00:00+08:00", **common)
        )
        assert status == 202, body


def care_sent(harness, store_id: str, member_id: str) -> list[str]:
    care = ("birthday", "holiday", "reactivation", "rebook_reminder")
    return [kind for kind in harness.sent_kinds(store_id, member_id) if kind in care]


def texts(harness, store_id: str, member_id: str, kind: str) -> list[str]:
    return [
        m["text"]
        for m in harness.messages(store_id, member_id)
        if m["kind"] == kind and m["status"] == "sent"
    ]


def deliver_tick_again(harness, store_id: str, scheduled_time: str) -> None:
    """What SQS does now and then: deliver the same tick a second time."""
    sqs = harness.session.client("sqs")
    url = sqs.get_queue_url(QueueName=r.CARE_TICKS_QUEUE.name(harness.env[r.ENV_STAGE]))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=CareTickMessage(CHAIN, store_id, scheduled_time).to_json())
    harness.pump()


def test_every_store_has_its_daily_schedule_in_its_own_zone(harness):
    scheduler = harness.session.client("scheduler")
    group = harness.container.settings.care_schedule_group
    schedules = {s["Name"]: s for s in scheduler.list_schedules(GroupName=group)["Schedules"]}
    assert set(schedules) == {schedule_name(store["id"]) for store in STORES}  # every store of the demo seed
    london = scheduler.get_schedule(Name=schedule_name(LDN_STORE), GroupName=group)
    assert (london["ScheduleExpression"], london["ScheduleExpressionTimezone"]) == (
        "cron(0 10 * * ? *)",
        "Europe/London",
    )
    assert london["Target"]["Arn"] == harness.container.settings.care_ticks_queue_arn
    # Seeding again (a store provisioned twice, or moved) updates it in place.
    harness.container.care_schedules.ensure(CHAIN, LDN_STORE, "Europe/Dublin")
    assert scheduler.get_schedule(Name=schedule_name(LDN_STORE), GroupName=group)[
        "ScheduleExpressionTimezone"
    ] == ("Europe/Dublin")
    assert harness.schedules() == []  # the journeys group holds booking steps only


def test_birthday_and_dormant_members_hear_from_their_store_at_ten_local_once(harness):
    visit(harness, "bd-sh", "2026-10-01T15:00:00+08:00", birthday="1992-11-23")
    visit(harness, "dm-sh", "2026-08-25T15:00:00+08:00")  # 90 days before the 23rd
    visit(
        harness,
        "bd-ldn",
        "2026-10-10T15:00:00+01:00",
        store_id=LDN_STORE,
        birthday="1988-11-22",
        locale="en",
        phone="+447911000001",
        category="hair_cut",
    )  # a colour then would be due a root touch-up
    visit(
        harness, "dm-ldn", "2026-08-20T11:00:00+01:00", store_id=LDN_STORE, locale="en", phone="+447911000002"
    )
    # Dormant too, but she has booked again: no "we miss you".
    visit(
        harness, "fb-ldn", "2026-08-20T14:00:00+01:00", store_id=LDN_STORE, locale="en", phone="+447911000003"
    )
    visit(
        harness,
        "fb-ldn",
        "2026-12-01T14:00:00+00:00",
        store_id=LDN_STORE,
        locale="en",
        phone="+447911000003",
        kinds=("booking.created",),
    )

    harness.advance_to("2026-11-22T09:59:00+00:00")  # London 09:59
    assert care_sent(harness, LDN_STORE, "bd-ldn") == [] and care_sent(harness, LDN_STORE, "dm-ldn") == []

    harness.advance_to(
        "2026-11-22T10:01:00+00:00"
    )  # London 10:01; Shanghai is already 18:01, its tick tomorrow
    assert care_sent(harness, LDN_STORE, "bd-ldn") == ["birthday"]
    assert "Happy birthday" in texts(harness, LDN_STORE, "bd-ldn", "birthday")[0]
    assert care_sent(harness, LDN_STORE, "dm-ldn") == ["reactivation"]
    assert care_sent(harness, LDN_STORE, "fb-ldn") == []
    assert care_sent(harness, SH_STORE, "bd-sh") == [] and care_sent(harness, SH_STORE, "dm-sh") == []

    harness.advance_to("2026-11-23T09:59:00+08:00")
    assert care_sent(harness, SH_STORE, "bd-sh") == []
    harness.advance_to("2026-11-23T10:01:00+08:00")
    assert care_sent(harness, SH_STORE, "bd-sh") == ["birthday"]
    assert "生日快乐" in texts(harness, SH_STORE, "bd-sh", "birthday")[0]
    assert care_sent(harness, SH_STORE, "dm-sh") == ["reactivation"]
    [welcome_back] = texts(harness, SH_STORE, "dm-sh", "reactivation")
    assert "八五折" in welcome_back and "券码" in welcome_back  # the demo chain's own offer, with a code

    # The same ticks delivered again, and the next days' ticks: nobody hears an occasion twice.
    deliver_tick_again(harness, SH_STORE, "2026-11-23T02:00:00Z")
    deliver_tick_again(harness, LDN_STORE, "2026-11-22T10:00:00Z")
    harness.advance_to("2026-11-25T10:01:00+00:00")
    assert care_sent(harness, SH_STORE, "bd-sh") == ["birthday"]
    assert care_sent(harness, SH_STORE, "dm-sh") == ["reactivation"]
    assert care_sent(harness, LDN_STORE, "bd-ldn") == ["birthday"]
    assert care_sent(harness, LDN_STORE, "dm-ldn") == ["reactivation"]


def test_her_own_rhythm_counts_once_she_has_three_visits(harness):
    for start in ("2026-08-21T15:00:00+08:00", "2026-09-20T15:00:00+08:00", "2026-10-20T15:00:00+08:00"):
        visit(harness, "regular", start)  # every 30 days; 34 days since the last on the 23rd
    for start in ("2026-09-20T16:00:00+08:00", "2026-10-20T16:00:00+08:00"):
        visit(
            harness, "two-visits", start, phone="+8613800138001"
        )  # the same gap, but only two visits: 90 days

    harness.advance_to("2026-11-23T10:01:00+08:00")

    assert care_sent(harness, SH_STORE, "regular") == ["reactivation"]
    assert care_sent(harness, SH_STORE, "two-visits") == []


def test_rebook_reminders_follow_the_services_cycle(harness):
    def ldn(member_id: str, start: str, category: str, n: int, **kw: Any) -> None:
        visit(
            harness,
            member_id,
            start,
            store_id=LDN_STORE,
            category=category,
            locale="en",
            phone=f"+44791100010{n}",
            **kw,
        )

    ldn("gel", "2026-11-01T11:00:00+00:00", "nail_gel", 1)  # 21 days before the 22nd: a gel refill is due
    ldn("gel-booked", "2026-11-01T13:00:00+00:00", "nail_gel", 2)
    ldn("gel-booked", "2026-11-28T13:00:00+00:00", "nail_gel", 2, kinds=("booking.created",))
    ldn("cut", "2026-11-01T15:00:00+00:00", "hair_cut", 3)  # no natural cycle kept for a cut

    harness.advance_to("2026-11-22T10:01:00+00:00")

    assert care_sent(harness, LDN_STORE, "gel") == ["rebook_reminder"]
    assert "it's been 3 weeks since your" in texts(harness, LDN_STORE, "gel", "rebook_reminder")[0]
    assert care_sent(harness, LDN_STORE, "gel-booked") == []
    assert care_sent(harness, LDN_STORE, "cut") == []


def test_holiday_greetings_come_from_the_chains_calendar_once(harness):
    visit(harness, "zh-member", "2026-10-01T15:00:00+08:00")
    visit(harness, "en-member", "2026-10-02T15:00:00+08:00", locale="en", phone="+8613800138002")
    tick = harness.container.care_tick

    # The demo chain greets two days before Christmas (holidays.toml), at 10:00 Shanghai on the 23rd.
    assert tick.run(CareTickMessage(CHAIN, SH_STORE, "2026-12-22T02:00:00Z"))["holiday"] == 0
    assert tick.run(CareTickMessage(CHAIN, SH_STORE, "2026-12-23T02:00:00Z"))["holiday"] == 2
    assert (
        tick.run(CareTickMessage(CHAIN, SH_STORE, "2026-12-23T02:00:00Z"))["holiday"] == 2
    )  # queued again...
    harness.pump()

    assert care_sent(harness, SH_STORE, "zh-member") == ["holiday"]  # ...sent once
    assert care_sent(harness, SH_STORE, "en-member") == ["holiday"]
    assert "圣诞节快乐" in texts(harness, SH_STORE, "zh-member", "holiday")[0]
    assert "Happy Christmas" in texts(harness, SH_STORE, "en-member", "holiday")[0]


def test_a_holiday_greets_a_store_page_by_page_in_ticks_of_its_own_and_each_member_once(harness, monkeypatch):
    members = [f"page-member-{n}" for n in range(5)]
    for n, member in enumerate(members):
        visit(harness, member, f"2026-10-0{n + 1}T15:00:00+08:00", phone=f"+861380013810{n}")
    tick = harness.container.care_tick
    monkeypatch.setattr(tick, "_members_page", 2)  # 5 members: pages of 2, 2 and 1

    first = tick.run(CareTickMessage(CHAIN, SH_STORE, "2026-12-23T02:00:00Z"))
    assert first["holiday"] == 2  # one page; the next pages are ticks of their own on the care-ticks queue
    deliver_tick_again(harness, SH_STORE, "2026-12-23T02:00:00Z")  # SQS repeats the first tick: no harm

    assert [care_sent(harness, SH_STORE, member) for member in members] == [["holiday"]] * 5


def test_the_daily_tick_tags_members_who_simply_stay_away_and_their_next_visit_clears_it(harness):
    def tags(member_id: str) -> list[str]:
        return list(harness.container.care_repo.member(CHAIN, member_id, consistent=True).tags or [])

    visit(harness, "away-90", "2026-08-30T15:00:00+08:00")  # 84 days before the harness's start
    for start in ("2026-10-01", "2026-10-21", "2026-11-10"):  # her own rhythm: every 20 days (21 at least)
        visit(harness, "away-own", f"{start}T15:00:00+08:00", phone="+8613800138011")
    assert "lapsed_90d" not in tags("away-90") and "lapsed_own_rhythm" not in tags("away-own")
    tick = harness.container.care_tick

    harness.clock.set(datetime(2026, 11, 29, 2, tzinfo=UTC))  # 10:00 Shanghai, 90 days and 19 hours later
    assert tick.run(CareTickMessage(CHAIN, SH_STORE, "2026-11-29T02:00:00Z"))["tags_refreshed"] == 1
    assert "lapsed_90d" in tags("away-90") and "lapsed_own_rhythm" not in tags("away-own")
    assert tick.run(CareTickMessage(CHAIN, SH_STORE, "2026-11-29T02:00:00Z"))["tags_refreshed"] == 0  # again

    harness.clock.set(datetime(2026, 12, 2, 2, tzinfo=UTC))  # 21 days and 19 hours after her last visit
    assert tick.run(CareTickMessage(CHAIN, SH_STORE, "2026-12-02T02:00:00Z"))["tags_refreshed"] == 1
    assert "lapsed_own_rhythm" in tags("away-own")

    visit(harness, "away-90", "2026-11-30T15:00:00+08:00")  # she is back
    assert "lapsed_90d" not in tags("away-90")


def test_a_moving_public_holiday_greets_only_its_countrys_stores_with_a_coupon(harness):
    visit(
        harness,
        "ny-member",
        "2026-10-01T15:00:00-04:00",
        store_id=NYC_STORE,
        locale="en",
        phone="+12125550123",
    )
    visit(harness, "sh-member", "2026-10-01T15:00:00+08:00")
    tick = harness.container.care_tick

    # Thanksgiving 2026 is Thursday 26 November (the `holidays` library): 10:00 New York is 15:00Z.
    assert tick.run(CareTickMessage(CHAIN, NYC_STORE, "2026-11-25T15:00:00Z"))["holiday"] == 0
    assert tick.run(CareTickMessage(CHAIN, NYC_STORE, "2026-11-26T15:00:00Z"))["holiday"] == 1
    assert tick.run(CareTickMessage(CHAIN, SH_STORE, "2026-11-26T02:00:00Z"))["holiday"] == 0  # not in China
    harness.clock.set(
        datetime(2026, 11, 26, 15, 5, tzinfo=UTC)
    )  # sent in New York's day, not its quiet hours
    harness.pump()

    assert care_sent(harness, NYC_STORE, "ny-member") == ["holiday"]
    [text] = texts(harness, NYC_STORE, "ny-member", "holiday")
    assert "Happy Thanksgiving" in text and "10% off" in text and "code " in text
    assert care_sent(harness, SH_STORE, "sh-member") == []


def test_a_deployed_stage_ensures_the_schedules_of_a_chains_stores_with_the_same_code(harness, capsys):
    from chalicelib.dal.models import StoreItem
    from infra.care_schedules import main

    StoreItem(
        *StoreItem.key("sh-xuhui"),
        store_id="sh-xuhui",
        chain_id=CHAIN,
        name="徐汇店",
        timezone="Asia/Shanghai",
        gsi1pk=StoreItem.chain_key(CHAIN),
        gsi1sk="sh-xuhui",
    ).save()
    role = harness.container.settings.scheduler_role_arn
    stage = harness.env[r.ENV_STAGE]

    assert (
        main(
            ["--stage", stage, "--region", "ap-southeast-1", "--chain", CHAIN, "--role-arn", role],
            session=harness.session,
        )
        == 0
    )
    assert (
        main(
            [
                "--stage",
                stage,
                "--region",
                "ap-southeast-1",
                "--chain",
                CHAIN,
                "--role-arn",
                role,
                "--store",
                "sh-xuhui",
            ],
            session=harness.session,
        )
        == 0
    )  # again: updated in place

    scheduler = harness.session.client("scheduler")
    group = harness.container.settings.care_schedule_group
    assert {s["Name"] for s in scheduler.list_schedules(GroupName=group)["Schedules"]} == {
        schedule_name(store["id"]) for store in STORES
    } | {"care-sh-xuhui"}
    assert "care-sh-xuhui: ensured" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # another chain's (or an unknown) store is refused, nothing is created
        main(
            [
                "--stage",
                stage,
                "--region",
                "ap-southeast-1",
                "--chain",
                CHAIN,
                "--role-arn",
                role,
                "--store",
                "x",
            ],
            session=harness.session,
        )
