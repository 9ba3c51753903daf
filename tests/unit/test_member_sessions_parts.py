"""The pure parts of a member signing in: the OAuth state, link codes, phone normalising, the members file row,
the public base URL setting, and which texts carry the manage link."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.contracts.member_import import MemberRow
from chalicelib.errors import CodedUnauthorized, ValidationFailed
from chalicelib.journeys import texts
from chalicelib.services.member_directory import e164
from chalicelib.services.member_links import ALPHABET, CODE_LENGTH, is_code
from chalicelib.services.member_sessions import _random_code, read_state, sign_state
from chalicelib.settings import _public_base_url

KEY = b"k" * 32
NOW = 1_795_000_000


def test_a_state_reads_back_for_its_store_until_it_expires():
    state = sign_state(KEY, "sh-jingan", NOW + 600, "0123456789abcdef")

    assert state.isalnum() and len(state) == 58
    assert read_state(KEY, state, "sh-jingan", NOW) == ("0123456789abcdef", NOW + 600)
    assert read_state(KEY, state, "sh-jingan", NOW + 599)[0] == "0123456789abcdef"


@pytest.mark.parametrize(
    "change",
    ["other store", "expired", "other key", "tampered expiry", "garbage", "not a string", "empty"],
)
def test_a_state_is_refused_when_anything_is_off(change):
    state: object = sign_state(KEY, "sh-jingan", NOW + 600, "0123456789abcdef")
    store, now, key = "sh-jingan", NOW, KEY
    if change == "other store":
        store = "ldn-soho"
    elif change == "expired":
        now = NOW + 600
    elif change == "other key":
        key = b"x" * 32
    elif change == "tampered expiry":
        state = f"{NOW + 6000:010d}" + str(state)[10:]
    elif change == "garbage":
        state = "hello"
    elif change == "not a string":
        state = 12345
    elif change == "empty":
        state = ""

    with pytest.raises(CodedUnauthorized) as refused:
        read_state(key, state, store, now)
    assert refused.value.code == "invalid_state" and refused.value.status == 401


def test_sign_in_codes_are_six_digits_and_vary():
    codes = {_random_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150


def test_link_codes():
    assert is_code("abcdefghjk") and len(ALPHABET) == 31 and CODE_LENGTH == 10
    for bad in ("abcdefghj", "abcdefghjkm", "ABCDEFGHJK", "abcdefghj0", "abcdefghjl", 12, None):
        assert not is_code(bad)


def test_phones_become_e164_and_bad_ones_name_the_field():
    assert e164("+86 139 0013 9001") == "+8613900139001"
    assert e164("+44 7911 123456") == "+447911123456"
    for bad in ("13900139001", "+86123", "", None, 13900139001, "+" + "1" * 40):
        with pytest.raises(ValidationFailed) as refused:
            e164(bad)
        assert "phone" in refused.value.fields


def test_a_members_file_row():
    row = MemberRow.model_validate(
        {"phone": "+86 139 0013 9001", "tags": "vip; nail_fan|x", "marketing_consent": "否", "locale": "en"}
    )
    assert (row.phone, row.tags, row.marketing_consent, row.locale) == (
        "+8613900139001",
        ["vip", "nail_fan", "x"],
        False,
        "en",
    )
    with pytest.raises(ValidationError) as refused:
        MemberRow.model_validate({"phone": "+8613900139001", "locale": "fr", "birthday": "05-01"})
    assert {e["loc"][0] for e in refused.value.errors()} == {"locale", "birthday"}


def test_the_public_base_url_setting():
    assert _public_base_url("") == ""
    assert _public_base_url(" https://book.example.com/ ") == "https://book.example.com"
    assert _public_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    for bad in ("book.example.com", "ftp://x", "https://x/?a=1", "https://x/#f"):
        with pytest.raises(RuntimeError):
            _public_base_url(bad)


def test_the_booking_texts_carry_the_manage_link_and_the_others_do_not():
    carrying = {kind for kind in texts._messages() if texts.uses(kind, "manage_link")}
    assert carrying == {"confirmation", "reschedule_confirmation", "reminder_day_before", "reminder_2h"}


def test_a_text_without_a_link_reads_as_before_and_with_one_ends_with_it():
    from datetime import datetime

    ctx = texts.MessageContext(
        locale="en",
        timezone="Europe/London",
        store={"name": "Soho"},
        member={"name": "Emma"},
        booking={"start": datetime.fromisoformat("2026-11-25T15:00:00+00:00"), "service_name": "Cut"},
    )
    plain = texts.render("reminder_2h", ctx)
    linked = texts.render(
        "reminder_2h",
        texts.MessageContext(**{**ctx.__dict__, "extra": {"manage_link": "https://b.example/m/abcdefghjk"}}),
    )

    assert "Manage" not in plain and "/m/" not in plain
    assert linked == plain + " Manage your booking: https://b.example/m/abcdefghjk"
    zh = texts.render(
        "confirmation",
        texts.MessageContext(
            **{**ctx.__dict__, "locale": "zh-CN", "extra": {"manage_link": "https://b/m/x"}}
        ),
    )
    assert zh.endswith("管理预约：https://b/m/x") and len(zh) < 160


def test_the_sign_in_text_in_both_locales():
    zh = texts.session_text("sign_in_code", "zh-CN").format(store="静安店", code="123456", minutes=10)
    en = texts.session_text("sign_in_code", "en").format(store="Soho", code="123456", minutes=10)
    assert zh.startswith("【静安店】") and "123456" in zh and "10分钟" in zh and len(zh) <= 70
    assert en.startswith("Soho: ") and "123456" in en and len(en) <= 160
