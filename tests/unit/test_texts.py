"""Unit tests for chalicelib.journeys.texts: message templates, filters, locales and the operator sandbox."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.journeys import texts
from chalicelib.journeys.texts import (
    SUPPORTED_LOCALES,
    MessageContext,
    TemplateRejected,
    UnknownMessageKind,
    care_issues,
    care_tip,
    render,
    render_operator_template,
    supported_locale,
)

JOURNEY_KINDS = (
    "confirmation",
    "reschedule_confirmation",
    "reminder_day_before",
    "reminder_2h",
    "no_show_followup",
    "aftercare",
    "first_visit_followup",
    "feedback_request",
    "review_request",
    "checkin_1_month",
)
CARE_KINDS = ("birthday", "holiday", "reactivation", "rebook_reminder")
KINDS = JOURNEY_KINDS + CARE_KINDS
CATEGORIES = ("hair_cut", "hair_colour", "perm", "hair_care", "nail_gel", "nail_art", "nail_care")
JOURNEYS_DIR = Path(texts.__file__).resolve().parent

START = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai, 07:00 in London, a Wednesday


def make_ctx(
    locale: str = "zh-CN",
    timezone: str = "Asia/Shanghai",
    *,
    category: str = "hair_colour",
    service: str = "染发",
    stylist: str = "Lily",
    start: datetime = START,
    member_name: str = "王女士",
    store: dict | None = None,
) -> MessageContext:
    return MessageContext(
        locale=locale,
        timezone=timezone,
        store=store
        if store is not None
        else {
            "name": "丝艺沙龙 静安店",
            "address": "上海市静安区南京西路1266号",
            "directions": "恒隆广场2楼，近2号电梯",
            "phone": "021-62881234",
        },
        member={"name": member_name},
        booking={
            "id": "bk-1",
            "start": start,
            "end": start + timedelta(minutes=120),
            "duration_minutes": 120,
            "service_name": service,
            "service_category": category,
            "stylist_name": stylist,
        },
    )


# ------------------------------------------------------------------------------------------- data files


def test_messages_toml_defines_exactly_the_kinds_in_both_locales():
    data = tomllib.loads((JOURNEYS_DIR / "messages.toml").read_text(encoding="utf-8"))
    assert set(data) == set(KINDS)
    for kind in KINDS:
        assert set(data[kind]) == set(SUPPORTED_LOCALES), kind
        for locale in SUPPORTED_LOCALES:
            assert data[kind][locale].strip(), (kind, locale)


def test_every_category_has_tips_and_at_least_two_issues_in_both_languages():
    data = tomllib.loads((JOURNEYS_DIR / "care_tips.toml").read_text(encoding="utf-8"))
    assert set(CATEGORIES) | {"default"} <= set(data)
    for category in (*CATEGORIES, "default"):
        entry = data[category]
        assert entry["zh-CN"].strip() and entry["en"].strip(), category
        issues = entry["issues"]
        assert len(issues) >= 2, category
        keys = [issue["key"] for issue in issues]
        assert len(keys) == len(set(keys)), f"duplicate issue keys in {category}"
        for issue in issues:
            assert issue["key"], category
            assert issue["keywords_zh"] and all(k.strip() for k in issue["keywords_zh"]), issue["key"]
            assert issue["keywords_en"] and all(k.strip() for k in issue["keywords_en"]), issue["key"]
            assert all(k == k.lower() for k in issue["keywords_en"]), issue["key"]
            assert issue["advice_zh"].strip() and issue["advice_en"].strip(), issue["key"]


def test_category_tips_are_their_own_not_the_default():
    for category in CATEGORIES:
        for locale in SUPPORTED_LOCALES:
            assert care_tip(category, locale) != care_tip("default", locale), (category, locale)


# ----------------------------------------------------------------------------------------------- render


@pytest.mark.parametrize("kind", CARE_KINDS)
@pytest.mark.parametrize(
    ("locale", "timezone", "opt_out"),
    [
        ("zh-CN", "Asia/Shanghai", "回复TD退订"),
        ("en", "Europe/London", "Reply STOP to opt out."),
        ("en", "America/New_York", "Reply STOP to opt out."),
        ("en", "Asia/Shanghai", "Reply TD to opt out."),  # her country's keyword, in her words
    ],
)
@pytest.mark.parametrize("with_coupon", [True, False])
def test_care_kinds_render_with_and_without_a_coupon(kind, locale, timezone, opt_out, with_coupon):
    coupon = {"code": "K7M2P9QX", "offer": "OFFER-Z", "expires_at": START} if with_coupon else None
    ctx = MessageContext(
        locale=locale,
        timezone=timezone,
        store={"name": "丝艺沙龙 静安店"},
        member={"name": "王女士", "favourite_service": "染发"},
        booking={},
        extra={"coupon": coupon, "care": {"holiday_name": "中秋"}},
    )
    out = render(kind, ctx)
    assert "{{" not in out and "\n" not in out and "王女士" in out
    assert out.startswith("【丝艺沙龙 静安店】" if locale == "zh-CN" else "丝艺沙龙 静安店: ")
    # every marketing text says how to opt out, once, at its end
    assert out.endswith(opt_out) and out.count(opt_out.rstrip(".")) == 1
    if kind in ("birthday", "holiday", "reactivation"):
        assert ("K7M2P9QX" in out) is with_coupon
    assert len(out) <= (160 if locale == "zh-CN" else 320), out


@pytest.mark.parametrize("kind", JOURNEY_KINDS)
@pytest.mark.parametrize("category", (*CATEGORIES, "default", "something_new"))
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_kind_renders_for_every_category(kind, category, locale):
    out = render(kind, make_ctx(locale, category=category, service="SERVICE-X", stylist="STYLIST-Y"))
    assert out == out.strip() and out
    assert "{{" not in out and "{%" not in out and "\n" not in out
    assert "SERVICE-X" in out  # every message names the service
    if locale == "zh-CN":
        assert out.startswith("【丝艺沙龙 静安店】")
        assert len(out) <= 160, out  # SMS-friendly, even with a long store address and directions
    else:
        assert len(out) <= 320, out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_renders_with_empty_optional_fields(kind, locale):
    ctx = make_ctx(
        locale,
        member_name="",
        stylist="",
        store={"name": "", "address": "", "directions": "", "phone": ""},
    )
    out = render(kind, ctx)
    assert out
    assert "【】" not in out and "地址：。" not in out and "Address: ." not in out
    assert "Hi ," not in out and "  " not in out


def test_missing_optional_keys_are_treated_as_empty():
    ctx = MessageContext(
        locale="zh-CN",
        timezone="Asia/Shanghai",
        store={"name": "丝艺沙龙"},
        member={},
        booking={
            "start": START,
            "service_name": "剪发",
            "service_category": "hair_cut",
            "stylist_name": None,
        },
    )
    out = render("reminder_day_before", ctx)
    assert out.startswith("【丝艺沙龙】您好") and "明天15:00" in out


def test_zh_confirmation_content():
    out = render("confirmation", make_ctx("zh-CN"))
    assert "【丝艺沙龙 静安店】" in out
    assert "王女士" in out
    assert "染发" in out
    assert "Lily" in out and "发型师" in out
    assert "上海市静安区南京西路1266号" in out
    assert "恒隆广场2楼，近2号电梯" in out
    assert "11月25日（星期三）15:00" in out
    assert "120分钟" in out


def test_nail_bookings_name_a_nail_technician():
    out = render("confirmation", make_ctx("zh-CN", category="nail_gel", service="光疗美甲"))
    assert "美甲师Lily" in out and "发型师" not in out
    assert "nails" in render("feedback_request", make_ctx("en", category="nail_art", service="nail art"))
    assert "hair" in render("feedback_request", make_ctx("en", category="perm", service="perm"))


def test_en_confirmation_content():
    out = render("confirmation", make_ctx("en-GB", service="full colour", member_name="Amy"))
    assert "Hi Amy" in out
    assert "full colour" in out
    assert "Wednesday 25 November, 15:00" in out
    assert "Lily" in out and "上海市静安区南京西路1266号" in out
    assert "120 min" in out


@pytest.mark.parametrize(
    ("timezone", "expected", "unexpected"),
    [("Asia/Shanghai", "15:00", "07:00"), ("Europe/London", "07:00", "15:00")],
)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_times_are_shown_in_the_store_zone(timezone, expected, unexpected, locale):
    ctx = make_ctx(locale, timezone)
    for kind in ("confirmation", "reschedule_confirmation", "reminder_day_before", "reminder_2h"):
        out = render(kind, ctx)
        assert expected in out, (kind, out)
        assert unexpected not in out, (kind, out)


def test_date_crosses_midnight_in_the_store_zone():
    late = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 01:30 on Thursday 26 November in Shanghai
    assert "11月26日（星期四）01:30" in render("confirmation", make_ctx("zh-CN", start=late))
    assert "Thursday 26 November, 01:30" in render("confirmation", make_ctx("en", start=late))
    london = make_ctx("en", "Europe/London", start=late)
    assert "Wednesday 25 November, 17:30" in render("confirmation", london)  # 24-hour, not 5:30 pm


def test_reminder_day_before_says_tomorrow_at():
    assert "明天15:00" in render("reminder_day_before", make_ctx("zh-CN"))
    assert "tomorrow at 15:00" in render("reminder_day_before", make_ctx("en"))


def test_reminder_2h_asks_to_confirm_or_reschedule():
    zh = render("reminder_2h", make_ctx("zh-CN"))
    assert "1" in zh and "确认" in zh and "改约" in zh
    en = render("reminder_2h", make_ctx("en"))
    assert "Reply 1" in en and "reschedule" in en


def test_aftercare_includes_the_category_tip():
    for locale in SUPPORTED_LOCALES:
        for category in CATEGORIES:
            out = render("aftercare", make_ctx(locale, category=category))
            assert care_tip(category, locale) in out, (locale, category)


def test_checkin_is_specific_for_colour_and_perm():
    assert "补色" in render("checkin_1_month", make_ctx("zh-CN", category="hair_colour"))
    assert "卷" in render("checkin_1_month", make_ctx("zh-CN", category="perm", service="烫发"))
    assert "colour" in render("checkin_1_month", make_ctx("en", category="hair_colour"))
    assert "curls" in render("checkin_1_month", make_ctx("en", category="perm"))


def test_no_show_followup_is_kind():
    zh = render("no_show_followup", make_ctx("zh-CN"))
    assert "没能" in zh and "回复" in zh
    en = render("no_show_followup", make_ctx("en"))
    assert "missed you" in en
    assert "new time" in en


def test_unknown_kind_raises():
    with pytest.raises(UnknownMessageKind) as excinfo:
        render("birthday_spam", make_ctx())
    assert isinstance(excinfo.value, KeyError)
    assert "birthday_spam" in str(excinfo.value)


def test_unsupported_locale_renders_english():
    out = render("confirmation", make_ctx("fr-FR"))
    assert "Wednesday 25 November, 15:00" in out


def test_bad_timezone_is_a_clear_error():
    with pytest.raises(ValueError, match="time zone"):
        render("confirmation", make_ctx(timezone="Mars/Olympus"))


# ---------------------------------------------------------------------------------------------- locales


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("ZH-cn", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("zh_CN.UTF-8", "zh-CN"),
        (" zh-CN ", "zh-CN"),
        ("", "zh-CN"),
        ("   ", "zh-CN"),
        (None, "zh-CN"),
        ("en", "en"),
        ("en-GB", "en"),
        ("en_US", "en"),
        ("EN", "en"),
        ("fr-FR", "en"),
        ("ja", "en"),
        ("zhx", "en"),  # not a Chinese tag
    ],
)
def test_supported_locale(raw, expected):
    assert supported_locale(raw) == expected
    assert supported_locale(raw) in SUPPORTED_LOCALES


# -------------------------------------------------------------------------------------------- care tips


def test_care_tip_per_locale_and_fallback():
    assert "48" in care_tip("hair_colour", "zh-CN")
    assert "colour-safe" in care_tip("hair_colour", "en-GB")
    assert care_tip("hair_colour", "zh") == care_tip("hair_colour", "zh-CN")
    assert care_tip("beard_trim", "zh-CN") == care_tip("default", "zh-CN")
    assert care_tip("beard_trim", "en") == care_tip("default", "en")
    assert care_tip("", "en") == care_tip("default", "en")


def test_care_issues_include_the_default_ones_after_the_category_ones():
    default_keys = [i["key"] for i in care_issues("default")]
    assert len(default_keys) >= 2
    gel = care_issues("nail_gel")
    gel_keys = [i["key"] for i in gel]
    assert "lifting" in gel_keys and "broken_nail" in gel_keys
    assert gel_keys[-len(default_keys) :] == default_keys
    assert [i["key"] for i in care_issues("no_such_category")] == default_keys
    lifting = next(i for i in gel if i["key"] == "lifting")
    assert "翘边" in lifting["keywords_zh"]
    colour_keys = {i["key"] for i in care_issues("hair_colour")}
    assert "colour_fading" in colour_keys
    fading = next(i for i in care_issues("hair_colour") if i["key"] == "colour_fading")
    assert {"掉色", "褪色"} <= set(fading["keywords_zh"])


def test_care_issues_returns_copies():
    care_issues("perm")[0]["keywords_zh"].append("MUTATED")
    care_issues("perm").clear()
    assert all("MUTATED" not in i["keywords_zh"] for i in care_issues("perm"))
    assert len(care_issues("perm")) >= 2


# ----------------------------------------------------------------------------------- operator templates


def test_operator_template_renders_with_variables_and_filters():
    source = (
        "【{{ store.name }}】{{ member.name }}，{{ booking.start|date }}{{ booking.start|weekday }}"
        "{{ booking.start|time }}见！电话{{ store.phone }}。{{ care_tip }}"
    )
    out = render_operator_template(source, make_ctx("zh_CN"))
    assert out.startswith("【丝艺沙龙 静安店】王女士，11月25日星期三15:00见！电话021-62881234。")
    assert out.endswith(care_tip("hair_colour", "zh-CN"))


def test_operator_template_filters_in_english_and_store_zone():
    source = "{{ booking.start|weekday }} {{ booking.start|date }} {{ booking.start|time }} | {{ booking.start|datetime_long }}"
    assert render_operator_template(source, make_ctx("en", "Europe/London")) == (
        "Wednesday 25 November 07:00 | Wednesday 25 November, 07:00"
    )
    assert render_operator_template(source, make_ctx("en", "America/New_York")) == (
        "Wednesday 25 November 02:00 | Wednesday 25 November, 02:00"
    )


def test_filters_accept_dates_and_iso_strings():
    ctx = make_ctx("zh-CN")
    on_day = _with_booking(ctx, day=date(2026, 11, 25))
    assert (
        render_operator_template("{{ booking.day|date }}{{ booking.day|weekday }}", on_day)
        == "11月25日星期三"
    )
    iso = _with_booking(ctx, when="2026-11-25T07:00:00+00:00")
    assert render_operator_template("{{ booking.when|datetime_long }}", iso) == "11月25日（星期三）15:00"


def _with_booking(ctx: MessageContext, **extra) -> MessageContext:
    return MessageContext(ctx.locale, ctx.timezone, ctx.store, ctx.member, {**ctx.booking, **extra})


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ booking.__class__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ store.update({'name': 'x'}) }}",
        "{{ 'x' * 100000000 }}",
        "{{ 9 ** 99999999 }}",
        "{{ ((9 ** 99) ** 99) ** 99 }}",
        "{% for i in range(99999) %}{{ 'x' * 9999 }}{% endfor %}",
    ],
)
def test_operator_template_rejects_unsafe_access(source):
    with pytest.raises(TemplateRejected) as excinfo:
        render_operator_template(source, make_ctx())
    assert str(excinfo.value)


def test_operator_template_output_is_capped():
    with pytest.raises(TemplateRejected, match="longer than"):
        render_operator_template("{% for i in range(5000) %}{{ store.name }}{% endfor %}", make_ctx())


def test_operator_template_mutation_does_not_leak():
    ctx = make_ctx()
    with pytest.raises(TemplateRejected):
        render_operator_template("{{ member.pop('name') }}", ctx)
    assert ctx.member["name"] == "王女士"


def test_operator_template_rejects_undefined_variables():
    with pytest.raises(TemplateRejected, match="undefined"):
        render_operator_template("您好 {{ customer.name }}", make_ctx())
    with pytest.raises(TemplateRejected, match="undefined"):
        render_operator_template("{{ booking.price }}", make_ctx())
    with pytest.raises(TemplateRejected):
        render_operator_template("{% for x in nothing %}{{ x }}{% endfor %}", make_ctx())


def test_operator_template_rejects_syntax_errors():
    with pytest.raises(TemplateRejected, match="syntax"):
        render_operator_template("{{ member.name ", make_ctx())
    with pytest.raises(TemplateRejected, match="syntax"):
        render_operator_template("{% if member.name %}hi", make_ctx())


def test_operator_template_rejects_filter_misuse():
    with pytest.raises(TemplateRejected):
        render_operator_template("{{ store.name|time }}", make_ctx())
    with pytest.raises(TemplateRejected):
        render_operator_template("{{ booking.duration_minutes|date }}", make_ctx())


def test_operator_template_is_plain_text_not_html_escaped():
    store = {"name": "Tom & Jerry's <Salon>", "address": "", "directions": "", "phone": ""}
    assert render_operator_template("{{ store.name }}", make_ctx(store=store)) == "Tom & Jerry's <Salon>"


def test_environment_and_templates_are_built_once():
    env = texts._environment()
    render("confirmation", make_ctx("zh-CN"))
    render("confirmation", make_ctx("zh-CN", "Europe/London"))
    render_operator_template("{{ member.name }}", make_ctx())
    assert texts._environment() is env
    assert texts._message_template("confirmation", "zh-CN") is texts._message_template(
        "confirmation", "zh-CN"
    )
    assert texts._operator_template("{{ member.name }}") is texts._operator_template("{{ member.name }}")


def test_import_is_cheap():
    code = (
        "import sys; import chalicelib.journeys.texts; "
        "bad = [m for m in ('jinja2', 'babel') if m in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr or "jinja2/babel imported at module import time"


# ------------------------------------------------------------------------------- store name and opt-out


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("周五下午有空位", "zh-CN", "【丝艺】周五下午有空位"),
        ("【丝艺】周五下午有空位", "zh-CN", "【丝艺】周五下午有空位"),
        ("see you Friday", "en", "丝艺: see you Friday"),
        ("丝艺: see you Friday", "en", "丝艺: see you Friday"),
        (
            "【丝艺】see you Friday",
            "en",
            "【丝艺】see you Friday",
        ),  # already named, in the other locale's form
    ],
)
def test_a_text_starts_with_the_store_name_once(text, locale, expected):
    assert texts.store_named(text, "丝艺", locale) == expected


def test_a_store_without_a_name_adds_no_prefix():
    assert texts.store_named("hi", "", "en") == "hi"


@pytest.mark.parametrize(
    ("phone", "timezone", "country"),
    [
        ("+8613800138000", "Europe/London", "CN"),  # her phone wins over the store
        ("+12125550123", "Asia/Shanghai", "US"),
        ("+447400123456", "Asia/Shanghai", "GB"),
        (None, "Europe/London", "GB"),
        (None, "America/New_York", "US"),
        (None, "Asia/Shanghai", "CN"),
        ("not a phone", "Asia/Shanghai", "CN"),
        (None, "Asia/Tokyo", None),
    ],
)
def test_her_country_is_her_phones_else_the_stores(phone, timezone, country):
    assert texts.member_country(phone, timezone) == country


@pytest.mark.parametrize(
    ("locale", "country", "line"),
    [
        ("zh-CN", "CN", "回复TD退订"),
        ("en", "US", "Reply STOP to opt out"),
        ("en", "GB", "Reply STOP to opt out"),
        ("en", None, "Reply STOP to opt out"),  # unknown country: the default keyword
        ("zh-CN", "JP", "回复STOP退订"),
    ],
)
def test_the_opt_out_line_follows_her_locale_and_country(locale, country, line):
    assert texts.opt_out_line(locale, country) == line


def test_the_opt_out_line_is_appended_once():
    once = texts.with_opt_out("【丝艺】周末8折。", "zh-CN", "CN")
    assert once == "【丝艺】周末8折。回复TD退订"
    assert texts.with_opt_out(once, "zh-CN", "CN") == once
    en = texts.with_opt_out("Weekend offer!", "en", "GB")
    assert en == "Weekend offer! Reply STOP to opt out."
    assert (
        texts.with_opt_out("Weekend offer! reply stop to opt out", "en", "GB")
        == "Weekend offer! reply stop to opt out"
    )


def test_journey_texts_carry_no_opt_out_line_and_a_campaign_template_gets_both_lines():
    ctx = make_ctx("zh-CN")
    assert "退订" not in render("confirmation", ctx)
    out = texts.render_marketing_template("{{ member.name }}您好，周末8折。", ctx)
    assert out == "【丝艺沙龙 静安店】王女士您好，周末8折。回复TD退订"


# --- remembered preferences (issue 17 §5) ---------------------------------------------------------------


def _with_preferences(locale: str, preferences: dict, category: str = "nail_gel") -> MessageContext:
    ctx = make_ctx(locale, category=category, service="光疗美甲", stylist="小王")
    return MessageContext(
        ctx.locale, ctx.timezone, ctx.store, ctx.member, ctx.booking, {"preferences": preferences}
    )


def test_the_first_visit_follow_up_names_service_stylist_gel_lamp_care_and_what_she_liked():
    prefs = {"designs": ["磨砂质感"], "colours": [], "allergies": ["乳胶"]}

    zh = render("first_visit_followup", _with_preferences("zh-CN", prefs))
    en = render("first_visit_followup", _with_preferences("en", prefs))

    assert "美甲师小王" in zh and "光疗美甲" in zh and "灯下" in zh and "您说喜欢磨砂质感" in zh
    assert "with 小王" in en and "lamp" in en and "You said you loved 磨砂质感" in en
    assert "乳胶" not in zh + en


def test_a_template_cannot_read_her_allergies():
    ctx = _with_preferences("zh-CN", {"allergies": ["乳胶"]})
    assert render_operator_template("{{ preferences.allergies|default('none') }}", ctx) == "none"
    assert "喜欢" not in render("first_visit_followup", ctx)
