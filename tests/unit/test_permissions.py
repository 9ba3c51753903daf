"""Roles authorize actions, as data (chalicelib/services/permissions.toml): the table, and `auth.require`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.errors import Forbidden, NotFound
from chalicelib.services.auth import ROLES, Staff, load_permissions, permissions, require, roles_for

ROOT = Path(__file__).resolve().parents[2]
EVERYONE = set(ROLES)
DESK_UP = {"front_desk", "store_manager", "chain_admin"}
MANAGERS = {"store_manager", "chain_admin"}

EXPECTED = {
    "messages.read": EVERYONE,
    "conversations.read": EVERYONE,
    "conversations.mark_read": EVERYONE,
    "conversations.reply": EVERYONE,  # issue 17: a hand-off goes to her own stylist first
    "conversations.status": DESK_UP,
    "conversations.video": EVERYONE,
    "members.read": EVERYONE,
    "members.tags": DESK_UP,
    "members.notes": EVERYONE,
    "members.export": MANAGERS,
    "members.erase": MANAGERS,
    "bookings.read": EVERYONE,
    "bookings.status": DESK_UP,
    "bookings.book": DESK_UP,  # issue 14: staff book, move and cancel for a member
    "campaigns.*": MANAGERS,
    # issue 14: the catalogue (a store_manager only in its own store; only a chain_admin adds stores)
    "catalog.write": MANAGERS,
    "catalog.create_store": {"chain_admin"},
    "waitlist.read": DESK_UP,  # issue 14: the day's waitlist, front desk and up
    "messages.correct": DESK_UP,  # issue 16: correcting a message's understood intent, front desk and up
    "members.preferences": EVERYONE,  # issue 17: remembered preferences, every role that serves her
    # issue 17 part 3: presence, and who has a hand-off (take / release one's own; reassign: the desk and up)
    "presence.write": EVERYONE,
    "presence.read": EVERYONE,
    "conversations.assign": EVERYONE,
    "conversations.reassign": DESK_UP,
    "reports.read": MANAGERS,  # issue 17: an owner's reports, store managers and chain admins
    # issue 17's settings: a store's (review links, manager phone, hand-off limit), the chain's (feedback)
    "settings.read": MANAGERS,
    "settings.write": MANAGERS,
    "chain_settings.read": {"chain_admin"},
    "chain_settings.write": {"chain_admin"},
}


def staff(role: str, stores: tuple[str, ...] = ("store-1",), chain: str = "chain-a") -> Staff:
    return Staff("s-1", chain, role, stores)


def test_the_table_says_what_the_issue_agreed():
    assert {action: set(roles) for action, roles in permissions().items()} == EXPECTED


def test_a_chain_admin_may_do_everything():
    assert all("chain_admin" in roles for roles in permissions().values())


def test_every_action_the_code_asks_for_has_a_line_in_the_table():
    """A service asking for an action the table lacks would fail closed (503) on every request."""
    asked = set()
    for source in (ROOT / "chalicelib").rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        asked |= set(re.findall(r"""auth\.require\(\s*\w+,\s*["']([\w.]+)["']""", text))
        asked |= set(re.findall(r"""_authorize\([^)]*["']([a-z_]+\.[a-z_]+)["']\)""", text))
        asked |= set(re.findall(r"""authorize_store\([^)]*["']([a-z_]+\.[a-z_]+)["']\)""", text))
    assert asked >= {
        "messages.read",
        "members.read",
        "conversations.read",
        "conversations.reply",
        "bookings.read",
        "bookings.status",
    }
    for action in asked:
        roles_for(action)  # raises for a missing line


@pytest.mark.parametrize("action", ["campaigns.read", "campaigns.send", "campaigns.delete"])
def test_a_resource_wildcard_covers_its_verbs(action):
    assert roles_for(action) == frozenset(MANAGERS)


@pytest.mark.parametrize("action", ["members.sell", "campaigns", "billing.read", ""])
def test_an_action_without_a_line_fails_closed(action):
    with pytest.raises(ValueError):
        roles_for(action)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[actions]\n",
        '[actions]\n"members.read" = ["owner"]\n',
        '[actions]\n"members.read" = []\n',
        '[actions]\n"members.read" = "chain_admin"\n',
        '[actions]\n"members" = ["chain_admin"]\n',
    ],
)
def test_a_malformed_table_is_refused(text):
    with pytest.raises(ValueError):
        load_permissions(text)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_on_a_visible_store_the_role_decides(role, action):
    action = action.replace("*", "send")
    who = staff(role)
    if role in EXPECTED[action if action in EXPECTED else "campaigns.*"]:
        require(who, action, "chain-a", "store-1")
    else:
        with pytest.raises(Forbidden) as denied:
            require(who, action, "chain-a", "store-1")
        assert denied.value.status == 403
        assert denied.value.body() == {
            "error": "forbidden",
            "message": f"a {role} may not do {action}",
            "action": action,
        }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["members.read", "members.erase", "conversations.reply"])
@pytest.mark.parametrize("chain, store", [("chain-b", "store-1"), ("chain-a", "store-2"), (None, "store-1")])
def test_a_store_the_token_cannot_see_is_404_whatever_the_role_may_do(role, action, chain, store):
    """404 comes first: a 403 would tell a stylist that a store she cannot see exists."""
    if role == "chain_admin" and (chain, store) == ("chain-a", "store-2"):
        require(staff(role), action, chain, store)  # the whole chain is hers
        return
    with pytest.raises(NotFound):
        require(staff(role), action, chain, store)
