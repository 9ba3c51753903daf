"""The provider fees of routed journeys against all-SMS (bench/provider_cost.py): the real router decides."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.prices import provider_price
from bench.provider_cost import MIX, SentMessage, journey_messages, price, sms_parts

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
SMS = provider_price("sms_cn_alibaba")


def test_an_sms_bills_70_characters_with_its_sign_name_then_67_a_part():
    sign = "【花漾美业】"  # 6 characters
    assert sms_parts("好" * 64) == 1
    assert sms_parts("好" * 65) == 2  # 71 with the sign name
    assert sms_parts("好" * (134 - 6)) == 2
    assert sms_parts("好" * (134 - 6 + 1)) == 3
    assert sms_parts("x", sign_name=sign) == 1


def test_the_router_sends_a_followers_booking_notices_by_template_her_follow_ups_as_she_allowed_the_rest_by_sms():
    journey = [
        SentMessage("confirmation", "短"),
        SentMessage("feedback_request", "短"),
        SentMessage("review_request", "短"),
    ]

    cost = price(journey, 1, NOW)

    assert cost.channels["wechat_follower"] == {"wechat_template": 1, "wechat_subscribe": 1, "sms": 1}
    assert cost.channels["app_user"] == {"agora": 3}
    assert cost.channels["sms_only"] == {"sms": 3}
    assert cost.per_journey_usd["wechat_follower"] == pytest.approx(SMS)
    assert cost.per_journey_usd["app_user"] == 0
    assert cost.all_sms_per_1000 == pytest.approx(1000 * 3 * SMS)
    shares = dict((who, share) for share, who in MIX)
    expected = 1000 * (shares["wechat_follower"] * SMS + shares["sms_only"] * 3 * SMS)
    assert cost.routed_per_1000 == pytest.approx(expected)
    assert cost.ratio == pytest.approx(expected / (1000 * 3 * SMS))
    # a follower who allowed no subscription message pays for the feedback request too
    assert cost.follower_without_grants_usd == pytest.approx(2 * SMS)
    with_none = expected + 1000 * shares["wechat_follower"] * SMS
    assert cost.ratio_without_grants == pytest.approx(with_none / (1000 * 3 * SMS))


def test_a_long_sms_costs_each_of_its_parts_routed_or_not():
    journey = [SentMessage("review_request", "好" * 100)]  # 106 with the sign name: 2 parts

    cost = price(journey, 1, NOW)

    assert cost.all_sms_per_journey_usd == pytest.approx(2 * SMS)
    assert cost.per_journey_usd["sms_only"] == pytest.approx(2 * SMS)


def test_only_outbound_journey_messages_of_the_bench_bookings_are_priced():
    def item(sk, direction="out", booking="bk-bench-1", kind="confirmation"):
        return {
            "sk": {"S": sk},
            "direction": {"S": direction},
            "booking_id": {"S": booking},
            "kind": {"S": kind},
            "text": {"S": "t"},
        }

    items = [
        item("MSG#2026#a"),
        item("MSG#2026#b", direction="in"),
        item("MSG#2026#c", booking="bk-tp-1"),
        item("SEQ#000000000001"),
    ]
    assert journey_messages(items, "bk-bench-") == [SentMessage("confirmation", "t")]


def test_the_ratio_is_one_of_the_bench_targets():
    from bench.report import provider_cost_targets

    cost = price([SentMessage("confirmation", "短"), SentMessage("review_request", "短")], 1, NOW)

    [(_, measured, met)] = provider_cost_targets(cost)
    assert cost.ratio == pytest.approx(0.5)  # 0.6 x 1 SMS + 0.2 x 2 SMS, against 2 SMS
    assert (measured, met) == ("0.50", False)
    assert provider_cost_targets(None)[0][1:] == ("not measured", False)
