"""The marketing-consent rule lives in the care service (care/member_care.py), not in the repository: a booking
system's "yes" never undoes a "TD" opt-out; a "no" always applies."""

from chalicelib.care.member_care import contact_to_write
from chalicelib.dal.models import MemberItem


def _member(consent):
    return MemberItem(*MemberItem.key("c", "m"), chain_id="c", member_id="m", marketing_consent=consent)


def test_a_yes_for_a_member_with_no_answer_is_written_only_where_none_is_held():
    fields, if_unanswered = contact_to_write(_member(None), {"name": "Li", "marketing_consent": True})
    assert fields == {"name": "Li"} and if_unanswered is True


def test_a_yes_never_undoes_her_opt_out():
    fields, if_unanswered = contact_to_write(_member(False), {"name": "Li", "marketing_consent": True})
    assert "marketing_consent" not in fields and if_unanswered is False


def test_a_yes_for_a_member_who_said_yes_writes_nothing_more():
    fields, if_unanswered = contact_to_write(_member(True), {"marketing_consent": True})
    assert fields == {} and if_unanswered is False


def test_a_no_always_applies():
    fields, if_unanswered = contact_to_write(_member(True), {"marketing_consent": False})
    assert fields == {"marketing_consent": False} and if_unanswered is False


def test_no_answer_in_the_booking_keeps_hers():
    fields, if_unanswered = contact_to_write(_member(False), {"marketing_consent": None, "name": "Li"})
    assert fields == {"marketing_consent": None, "name": "Li"} and if_unanswered is False
