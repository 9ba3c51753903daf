"""The settings PATCH bodies (contracts/settings_patch.py) and how a PATCH merges into what is stored
(dal/settings_items.py), without AWS."""

from __future__ import annotations

import pytest

from chalicelib.contracts.settings_patch import ChainSettingsPatch, StoreSettingsPatch
from chalicelib.contracts.validation import parse
from chalicelib.dal.models import ChainItem, StoreItem
from chalicelib.dal.settings_items import merged_feedback, review_links_of, store_values
from chalicelib.errors import ValidationFailed
from chalicelib.services.auth import Staff
from chalicelib.services.store_settings import chain_view, store_view


def store_patch(body: dict) -> StoreSettingsPatch:
    return parse(StoreSettingsPatch, body, "bad")


def chain_patch(body: dict) -> ChainSettingsPatch:
    return parse(ChainSettingsPatch, body, "bad")


def fields_of(model, body: dict) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        parse(model, body, "bad")
    return refused.value.fields


# --- validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.dianping.com/shop/123/review",
        "https://g.page/r/CXyz/review?hl=en",
        "https://search.google.com/local/writereview?placeid=ChIJ",
        "https://www.meituan.com:443/shop/1",
    ],
)
def test_a_review_link_is_an_https_url(url):
    assert store_patch({"review_links": [{"url": url}]}).review_links[0].url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://www.dianping.com/shop/123",
        "ftp://example.com/x",
        "https://localhost/review",
        "https:///review",
        "https://user:pw@g.page/r/x",
        "https://g.page/r/x y",
        "https://g.page/r/\u202ex",
        "https://g.page:port/r/x",
        "https://[::1/x",
        "https://g.page/" + "x" * 300,
        "//g.page/r/x",
        "",
    ],
)
def test_anything_else_is_refused_naming_the_link(url):
    assert set(fields_of(StoreSettingsPatch, {"review_links": [{"url": url}]})) == {"review_links.0.url"}


def test_locales_are_the_ones_served_each_once():
    assert store_patch({"review_links": [{"url": "https://g.page/r/x", "locales": ["en", "zh-CN"]}]})
    assert "review_links.0.locales" in fields_of(
        StoreSettingsPatch, {"review_links": [{"url": "https://g.page/r/x", "locales": ["zh-TW"]}]}
    )
    assert "review_links.0.locales" in fields_of(
        StoreSettingsPatch, {"review_links": [{"url": "https://g.page/r/x", "locales": ["en", "en"]}]}
    )


def test_labels_lose_control_characters_and_are_short():
    link = store_patch({"review_links": [{"label": " 大众\u202e点评\n", "url": "https://g.page/r/x"}]})
    assert link.review_links[0].label == "大众点评"
    assert "review_links.0.label" in fields_of(
        StoreSettingsPatch, {"review_links": [{"label": "x" * 41, "url": "https://g.page/r/x"}]}
    )


def test_at_most_ten_links():
    links = [{"url": f"https://g.page/r/{i}"} for i in range(11)]
    assert "review_links" in fields_of(StoreSettingsPatch, {"review_links": links})


@pytest.mark.parametrize(
    "phone, stored", [("+8613900000001", "+8613900000001"), ("+44 20 7946 0000", "+442079460000")]
)
def test_the_manager_phone_is_stored_in_e164(phone, stored):
    assert store_patch({"manager_phone": phone}).manager_phone == stored


@pytest.mark.parametrize(
    "phone", ["13900000001", "+86139", "+1 555 000", "phone", "+" + "1" * 40, 8613900000001]
)
def test_a_phone_number_that_is_not_valid_is_refused(phone):
    assert set(fields_of(StoreSettingsPatch, {"manager_phone": phone})) == {"manager_phone"}


@pytest.mark.parametrize("limit", [1, 15, 240])
def test_the_limit_is_a_whole_number_of_minutes_from_1_to_240(limit):
    assert store_patch({"handoff_limit_minutes": limit}).handoff_limit_minutes == limit


@pytest.mark.parametrize("limit", [0, -5, 241, 15.5, "15", True, [15]])
def test_any_other_limit_is_refused(limit):
    assert set(fields_of(StoreSettingsPatch, {"handoff_limit_minutes": limit})) == {"handoff_limit_minutes"}


def test_no_answer_is_one_of_the_choices_the_feedback_service_takes():
    from chalicelib.services.feedback import NO_ANSWER_CHOICES

    for choice in NO_ANSWER_CHOICES:
        assert chain_patch({"feedback_settings": {"no_answer": choice}}).feedback_settings.no_answer == choice
    assert "feedback_settings.no_answer" in fields_of(
        ChainSettingsPatch, {"feedback_settings": {"no_answer": "gate_reviews"}}
    )


def test_a_thank_you_coupon_has_an_offer_and_days_from_1_to_365():
    coupon = chain_patch({"feedback_settings": {"thank_you_coupon": {"offer": " 八折 "}}})
    assert coupon.feedback_settings.thank_you_coupon.model_dump() == {"offer": "八折", "valid_days": 30}
    for bad, field in (
        ({"offer": "八折", "valid_days": 366}, "valid_days"),
        ({"offer": "八折", "valid_days": "30"}, "valid_days"),
        ({"offer": "x" * 101}, "offer"),
        ({"valid_days": 30}, "offer"),
    ):
        fields = fields_of(ChainSettingsPatch, {"feedback_settings": {"thank_you_coupon": bad}})
        assert f"feedback_settings.thank_you_coupon.{field}" in fields, bad


def test_unknown_fields_are_named():
    assert "manager_email" in fields_of(StoreSettingsPatch, {"manager_email": "a@b.c"})
    assert "feedback_settings.coupon" in fields_of(ChainSettingsPatch, {"feedback_settings": {"coupon": {}}})


# --- the merge ----------------------------------------------------------------------------------------------


def test_a_store_patch_names_only_the_attributes_it_was_given():
    assert store_values(store_patch({})) == {}
    assert store_values(store_patch({"handoff_limit_minutes": 20})) == {"handoff_limit_minutes": 20}
    assert store_values(store_patch({"manager_phone": None, "review_links": []})) == {
        "manager_phone": None,
        "review_links": None,
    }
    links = store_patch(
        {
            "review_links": [
                {"label": "G", "url": "https://g.page/r/x"},
                {"url": "https://d.cn/r", "locales": ["zh-CN"]},
            ]
        }
    )
    assert store_values(links) == {
        "review_links": [
            {"label": "G", "url": "https://g.page/r/x"},
            {"label": "", "url": "https://d.cn/r", "locales": ["zh-CN"]},
        ]
    }


def test_the_chains_feedback_settings_merge_key_by_key():
    stored = {"no_answer": "skip", "thank_you_coupon": {"offer": "八折", "valid_days": 30}, "later": 1}
    assert merged_feedback(stored, chain_patch({})) == stored
    assert merged_feedback(stored, chain_patch({"feedback_settings": {}})) == stored
    assert merged_feedback(stored, chain_patch({"feedback_settings": {"no_answer": "send_review"}})) == {
        **stored,
        "no_answer": "send_review",
    }
    assert merged_feedback(stored, chain_patch({"feedback_settings": {"thank_you_coupon": None}})) == {
        "no_answer": "skip",
        "later": 1,
    }
    assert merged_feedback(stored, chain_patch({"feedback_settings": None})) == {}
    once = merged_feedback(stored, chain_patch({"feedback_settings": {"no_answer": None}}))
    assert merged_feedback(once, chain_patch({"feedback_settings": {"no_answer": None}})) == once


# --- the answers --------------------------------------------------------------------------------------------


def store(**values) -> StoreItem:
    return StoreItem(*StoreItem.key("s-1"), store_id="s-1", chain_id="c-1", **values)


def test_review_links_stored_by_hand_read_back_in_the_patch_shape():
    assert review_links_of(store(review_links={"url": "https://g.page/r/x"})) == [
        {"label": "", "url": "https://g.page/r/x", "locales": []}
    ]
    assert review_links_of(store(review_links=[{"label": "no url"}, "junk", {"url": "https://d.cn/r"}])) == [
        {"label": "", "url": "https://d.cn/r", "locales": []}
    ]


def test_the_manager_phone_is_shown_only_to_a_role_that_may_write_it():
    item = store(manager_phone="+8613900000001", handoff_limit_minutes=20)
    assert store_view(item, show_phone=True)["manager_phone"] == "+8613900000001"
    assert "manager_phone" not in store_view(item, show_phone=False)
    # whether a role may is the table's `settings.write` (permissions.toml); every reader may write today
    for role in ("store_manager", "chain_admin"):
        assert Staff("s", "c-1", role, ("s-1",)).may("settings.write")


def test_a_stored_feedback_value_the_service_would_not_use_reads_as_the_default():
    chain = ChainItem(
        *ChainItem.key("c-1"),
        chain_id="c-1",
        feedback_settings={"no_answer": "gate", "thank_you_coupon": "八折"},
    )
    view = chain_view(chain)
    assert view["feedback_settings"] == {"no_answer": None, "thank_you_coupon": None}
    assert view["defaults"]["feedback_settings"] == {"no_answer": "send_review"}
    assert view["channel_routing"] is None and view["defaults"]["channel_routing"]["order"][0] == "wechat"
