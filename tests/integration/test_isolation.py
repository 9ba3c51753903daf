"""Isolation, proved: every staff-facing route × every role × every store a token cannot see answers 404.

The routes are read from the Chalice app itself (`app.routes`), so a new endpoint is in the matrix the day it is
registered; only the signed webhooks, the channel callbacks, /v1/health and the local stack's /v1/_local/* are
left out, and that list is asserted here, entry by entry.

Every path parameter is filled with an id that EXISTS in the store asked about (a member with a booking and a
conversation there), so a 404 comes from authorization, not absence -- and the same request by a chain_admin of
that store's chain is shown not to be a 404. Denied requests must change nothing (table and outbox unchanged)
and their answer must be indistinguishable from the answer about a store that does not exist.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.conversations.inbound import message_id as inbound_message_id
from chalicelib.dal.models import MemberItem, StoreItem
from chalicelib.services.auth import ROLES, issue_token, roles_for
from devstack.seed import STORES, put_secret
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

JWT_SECRET = "test-jwt-secret-of-at-least-32-bytes!"  # the harness's
CHAIN = "demo-chain"
OTHER_CHAIN, OTHER_STORE = "iso-other-chain", "iso-other-store"
UNKNOWN_STORE = "iso-no-such-store"

# Routes that are not for staff, and why; each must exist (a stale line fails) and nothing else is left out.
EXCLUDED = {
    ("POST", "/v1/webhooks/bookings"): "signed by the chain's booking system (HMAC, chain secret)",
    ("POST", "/v1/webhooks/messages"): "signed by the chain's messaging gateway (HMAC, chain secret)",
    (
        "GET",
        "/v1/channels/wechat/{store_id}",
    ): "WeChat's URL verification, signed with the store's WeChat token",
    ("POST", "/v1/channels/wechat/{store_id}"): "WeChat's callback, signed with the store's WeChat token",
    (
        "POST",
        "/v1/channels/agora/{chain_id}/callback",
    ): "Agora Chat's callback, signed with the chain's secret",
    ("GET", "/v1/health"): "public liveness probe, no data",
    # Issue 15: provider receipts and one-click unsubscribe, each with its own secret (tests beside them).
    (
        "POST",
        "/v1/receipts/alibaba-sms/{chain_id}",
    ): "Alibaba's SmsReport push, with the chain's receipt token (test_sms_receipts.py)",
    (
        "POST",
        "/v1/receipts/tencent-sms/{chain_id}",
    ): "Tencent's status callback, with the chain's receipt token (test_sms_receipts.py)",
    (
        "POST",
        "/v1/channels/alibaba-sms/{chain_id}/replies",
    ): "Alibaba's SmsUp push (members' replies), with the chain's receipt token (test_alibaba_replies.py)",
    ("GET", "/v1/unsubscribe/{token}"): "one-click unsubscribe page: the signed token names chain and member",
    ("POST", "/v1/unsubscribe/{token}"): "one-click unsubscribe (RFC 8058): the signed token is the secret",
    (
        "GET",
        "/console",
    ): "the staff console's page: static, no data (it then calls the API with the staff token)",
    ("GET", "/console/{name}"): "the staff console's scripts and styles: static, no data",
    # A member signing in, and her links (issue 14: sessions): public, rate-limited, no staff data.
    ("POST", "/v1/stores/{store_id}/member-sessions"): "a member asks for a sign-in code (public)",
    (
        "POST",
        "/v1/stores/{store_id}/member-sessions/verify",
    ): "a member's code becomes a member token (public)",
    ("GET", "/v1/stores/{store_id}/wechat/oauth-url"): "WeChat's authorize URL with a signed state (public)",
    ("GET", "/v1/stores/{store_id}/wechat/oauth"): "WeChat's OAuth redirect: code + signed state (public)",
    ("GET", "/v1/stores/{store_id}/wechat/js-config"): (
        "the booking page's WeChat JS-SDK configuration (public: app id and a signature of its own page)"
    ),
    ("GET", "/m/{code}"): "a member's short link from a message (public; the code is the secret)",
    (
        "GET",
        "/v1/stores/{store_id}/catalog",
    ): "public: the store's catalogue for members (issue 14), no token",
    # The member's booking page (issue 14): static files, no data (it then calls the store's public and member routes).
    ("GET", "/book/{store_id}"): "the member's booking page: static, the same for every store, no data",
    ("GET", "/book/assets/{name}"): "the booking page's scripts and styles: static, no data",
    # self-booking (issue 14): member routes take only a member token (a staff token is 401), her own bookings
    # only, another chain's store 404 -- tests/integration/test_self_booking.py
    ("GET", "/v1/stores/{store_id}/availability"): "public open times of a store's services, no member data",
    ("GET", "/v1/stores/{store_id}/me/bookings"): "a member's own bookings (member token)",
    (
        "POST",
        "/v1/stores/{store_id}/me/bookings/{booking_id}/reschedule",
    ): "a member's own move (member token)",
    ("POST", "/v1/stores/{store_id}/me/bookings/{booking_id}/cancel"): "a member's own cancel (member token)",
    ("GET", "/v1/stores/{store_id}/me/messages"): "a member's own conversation (member token; issue 15)",
    # her own choice of channel (member token; issue 15) -- tests/integration/test_member_channel.py
    ("GET", "/v1/stores/{store_id}/me/channel"): "a member's own choice of channel (member token)",
    ("PUT", "/v1/stores/{store_id}/me/channel"): "a member sets her own choice of channel (member token)",
}
# Staff routes that also take a member's token, for herself (issue 14): a staff token books for `member_id`.
MEMBER_OR_STAFF = {("POST", "/v1/stores/{store_id}/bookings")}
LOCAL_ONLY = "/v1/_local/"  # the local stack's clock and fault controls; never registered on AWS

# What each current route asks `auth.require` for; the roles come from permissions.toml. A route missing here
# still gets the whole isolation matrix, and the generic role checks (a chain_admin is never refused).
ACTIONS = {
    ("GET", "/v1/stores/{store_id}/members/{member_id}/messages"): "messages.read",
    ("GET", "/v1/stores/{store_id}/members/{member_id}"): "members.read",
    ("GET", "/v1/stores/{store_id}/conversations"): "conversations.read",
    ("GET", "/v1/stores/{store_id}/conversations/{conversation_id}/messages"): "conversations.read",
    ("POST", "/v1/stores/{store_id}/conversations/{conversation_id}/messages"): "conversations.reply",
    ("POST", "/v1/stores/{store_id}/conversations/{conversation_id}/read"): "conversations.mark_read",
    ("POST", "/v1/stores/{store_id}/conversations/{conversation_id}/status"): "conversations.status",
    ("POST", "/v1/stores/{store_id}/conversations/{conversation_id}/video"): "conversations.video",
    ("GET", "/v1/stores/{store_id}/bookings"): "bookings.read",
    ("GET", "/v1/stores/{store_id}/bookings/{booking_id}"): "bookings.read",
    ("POST", "/v1/stores/{store_id}/bookings/{booking_id}/status"): "bookings.status",
    ("POST", "/v1/stores/{store_id}/members/{member_id}/tags"): "members.tags",
    ("POST", "/v1/stores/{store_id}/members/{member_id}/notes"): "members.notes",
    # staff correct a message's understood intent (issue 16)
    ("PUT", "/v1/stores/{store_id}/members/{member_id}/messages/{message_id}/intent"): "messages.correct",
    ("POST", "/v1/chains/{chain_id}/campaigns/preview"): "campaigns.preview",
    ("POST", "/v1/chains/{chain_id}/campaigns"): "campaigns.create",
    ("GET", "/v1/chains/{chain_id}/campaigns/{campaign_id}"): "campaigns.read",
    ("GET", "/v1/chains/{chain_id}/campaigns/{campaign_id}/results"): "campaigns.read",
    ("POST", "/v1/chains/{chain_id}/campaigns/{campaign_id}/resend"): "campaigns.send",
    # an owner's reports (issue 17): a store manager and a chain admin, their own chain only
    ("GET", "/v1/chains/{chain_id}/reports"): "reports.read",
    # the catalogue (issue 14)
    ("PUT", "/v1/chains/{chain_id}/stores/{store_id}"): "catalog.write",
    ("PUT", "/v1/stores/{store_id}/services/{code}"): "catalog.write",
    ("PUT", "/v1/stores/{store_id}/stylists/{stylist_id}"): "catalog.write",
    ("GET", "/v1/stores/{store_id}/waitlist"): "waitlist.read",  # the day's waitlist (issue 14)
    # self-booking (issue 14): staff book, move and cancel for a member (POST …/bookings also takes a member token)
    ("POST", "/v1/stores/{store_id}/bookings"): "bookings.book",
    ("POST", "/v1/stores/{store_id}/bookings/{booking_id}/reschedule"): "bookings.book",
    ("POST", "/v1/stores/{store_id}/bookings/{booking_id}/cancel"): "bookings.book",
    # staff presence and who has a hand-off (issue 17 part 3)
    ("PUT", "/v1/stores/{store_id}/staff/presence"): "presence.write",
    ("DELETE", "/v1/stores/{store_id}/staff/presence"): "presence.write",
    ("GET", "/v1/stores/{store_id}/staff/presence"): "presence.read",
    ("POST", "/v1/stores/{store_id}/conversations/{conversation_id}/assignment"): "conversations.assign",
    # what owners and managers set for issue 17's features: a store's (its manager, chain admins), the chain's
    ("GET", "/v1/stores/{store_id}/settings"): "settings.read",
    ("PATCH", "/v1/stores/{store_id}/settings"): "settings.write",
    ("GET", "/v1/chains/{chain_id}/settings"): "chain_settings.read",
    ("PATCH", "/v1/chains/{chain_id}/settings"): "chain_settings.write",
}
# Routes that add a store when a chain_admin names a new id (PUT .../stores/{store_id}): for her, "a store that
# does not exist" is a store to create, so her baseline is a chain that does not exist.
CREATES_STORES = {("PUT", "/v1/chains/{chain_id}/stores/{store_id}")}
# PIPL / GDPR (chalicelib/api/member_privacy_routes.py): checked whenever they are registered.
ACTIONS_WHEN_ROUTED = {
    ("GET", "/v1/stores/{store_id}/members/{member_id}/export"): "members.export",
    ("DELETE", "/v1/stores/{store_id}/members/{member_id}"): "members.erase",
}
# A body that every current write route accepts, so the control requests get past validation.
BODY = {"text": "isolation check", "status": "resolved", "client_message_id": "iso-check"}
PARAMS = {
    "store_id",
    "chain_id",
    "member_id",
    "conversation_id",
    "booking_id",
    "campaign_id",
    "code",
    "stylist_id",
    "message_id",
}
MEMBER_PARAMS = {
    "member_id",
    "conversation_id",
    "booking_id",
}  # ids that name a member (or her booking) at a store
CAMPAIGN = "iso-campaign"  # exists in both chains (other_chain), targeting the store the cells are about
SIBLING_CAMPAIGN = "iso-campaign-ldn"  # our chain's, targeting another store than the own one


# --- the routes ------------------------------------------------------------------------------------


def registered_routes() -> set[tuple[str, str]]:
    from app import app

    return {(method, path) for path, methods in app.routes.items() for method in methods}


def member_routes() -> set[tuple[str, str]]:
    """Routes registered with `@member_route` (a member's bearer token): never a staff route."""
    from app import app  # noqa: F401 - registers every route
    from chalicelib.api.member import MEMBER_ROUTES

    return set(MEMBER_ROUTES)


def staff_routes() -> list[tuple[str, str]]:
    members = member_routes()
    return sorted(
        r
        for r in registered_routes()
        if r not in EXCLUDED and r not in members and not r[1].startswith(LOCAL_ONLY)
    )


def test_only_the_listed_routes_are_left_out_of_the_matrix(harness):
    routes = registered_routes()
    members = (
        member_routes()
    )  # @member_route routes: out of the staff matrix whether or not listed in EXCLUDED
    left_out = {r for r in routes if r not in staff_routes() and r not in members}

    assert {r for r in left_out if not r[1].startswith(LOCAL_ONLY)} == set(EXCLUDED) - members
    assert set(EXCLUDED) <= routes, "an exclusion names a route that no longer exists: remove it"
    assert set(ACTIONS) <= set(staff_routes()), "the matrix lost a route it used to cover"
    for method, path in staff_routes():
        params = set(re.findall(r"{(\w+)}", path))
        assert params <= PARAMS, f"{method} {path}: teach the isolation matrix to fill {params - PARAMS}"
        assert params & {"store_id", "chain_id"}, (
            f"{method} {path}: a staff route not scoped to a store or chain"
        )


# --- the world: our chain's two stores, a foreign chain's store, a store that does not exist -------------


@dataclass(frozen=True)
class Target:
    name: str
    chain_id: str
    store_id: str
    member_id: str  # exists at this store, with a booking and a conversation (also the conversation id)


_members = itertools.count(1)


def other_chain(harness) -> None:
    """A second chain with one store (same catalog, its own id), its webhook secret the harness signs with."""
    from chalicelib.dal.models import ChainItem

    ChainItem(*ChainItem.key(OTHER_CHAIN), chain_id=OTHER_CHAIN, name="Other Salons").save()
    sh = STORES[0]
    StoreItem(
        *StoreItem.key(OTHER_STORE),
        store_id=OTHER_STORE,
        chain_id=OTHER_CHAIN,
        name="Other · Xuhui",
        timezone=sh["timezone"],
        locale=sh["locale"],
        address=sh["address"],
        directions=sh["directions"],
        phone="+862164000000",
        catalog=copy.deepcopy(sh["catalog"]),
        gsi1pk=StoreItem.chain_key(OTHER_CHAIN),
        gsi1sk=OTHER_STORE,
    ).save()
    put_secret(
        harness.session.client("secretsmanager"),
        resources.webhook_secret_name(harness.env["CHAIRSIDE_STAGE"], OTHER_CHAIN),
        json.dumps({"current": "whsec-test"}),
    )
    # A campaign of each chain, for the campaign routes' cells: each targets the store its chain's cells are about
    # (a campaign belongs to the stores it targets); and one of our chain's for another store than the own one.
    for chain_id, campaign_id, store_id in (
        (CHAIN, CAMPAIGN, SH_STORE),
        (OTHER_CHAIN, CAMPAIGN, OTHER_STORE),
        (CHAIN, SIBLING_CAMPAIGN, LDN_STORE),
    ):
        admin = f"Bearer {token('chain_admin', chain_id, stores=())}"
        body = json.dumps(
            {
                "campaign_id": campaign_id,
                "segment": {"visits_at_least": 99, "store_ids": [store_id]},
                "template": {"en": "hi"},
            }
        )
        response = harness.client.http.post(
            f"/v1/chains/{chain_id}/campaigns",
            body=body.encode(),
            headers={"Authorization": admin, "Content-Type": "application/json"},
        )
        assert response.status_code in (200, 201), response.body


def member_at(harness, chain_id: str, store_id: str) -> str:
    """A new member with a booking and a conversation at this store; her id (= the conversation's)."""
    n = next(_members)
    member_id = f"iso-m-{n}"
    stylist = "ldn-sophie" if store_id == LDN_STORE else "sh-xiaowang"
    start = datetime.fromisoformat("2026-12-01T10:00:00+08:00") + timedelta(days=n)
    status, body = harness.post(
        booking_event(
            store_id=store_id,
            member_id=member_id,
            stylist=stylist,
            start=start,
            booking_id=f"iso-bk-{n}",
            phone=f"+86138001{n:05d}",
        ),
        chain_id=chain_id,
        secret="whsec-test",
    )
    assert status == 202, body
    event = {
        "event_id": f"iso-evt-{n}",
        "store_id": store_id,
        "member_id": member_id,
        "channel": "sms",
        "message": {"id": f"iso-msg-{n}", "type": "text", "text": "你好，想问一下"},
        "sent_at": "2026-11-22T10:05:00+08:00",
    }
    status, body = harness.post_message(event, headers={"X-Chairside-Chain": chain_id})
    assert status == 200 and body["conversation_id"] == member_id, body
    return member_id


def path_for(path: str, target: Target) -> str:
    values = {
        "store_id": target.store_id,
        "chain_id": target.chain_id,
        "member_id": target.member_id,
        "conversation_id": target.member_id,
        "booking_id": target.member_id.replace("iso-m-", "iso-bk-"),
        "campaign_id": CAMPAIGN,
        "code": "iso-service",
        "stylist_id": "iso-stylist",
        # her message of member_at (the ids of inbound messages: conversations/inbound.py message_id)
        "message_id": inbound_message_id("sms", target.member_id.replace("iso-m-", "iso-msg-")),
    }
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


def token(role: str, chain_id: str = CHAIN, stores: tuple[str, ...] = (SH_STORE,), **kwargs: Any) -> str:
    return issue_token(
        JWT_SECRET,
        subject=f"iso-{role}",
        chain_id=chain_id,
        role=role,
        store_ids=list(stores),
        now=kwargs.pop("now", datetime.now(UTC)),
        **kwargs,
    )


def call(harness, method: str, path: str, authorization: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = b"" if method == "GET" else json.dumps(BODY).encode()
    response = harness.client.http.request(method, path, headers=headers, body=body)
    try:
        return response.status_code, json.loads(response.body) if response.body else None
    except ValueError:
        return response.status_code, response.body


def snapshot(harness) -> tuple[list[dict], int]:
    """Everything in the main table, and how many texts went out."""
    ddb = harness.session.client("dynamodb")
    items, kwargs = [], {}
    while True:
        page = ddb.scan(TableName=harness.container.settings.main_table, **kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    key = lambda item: (item["pk"]["S"], item["sk"]["S"])  # noqa: E731
    return sorted(items, key=key), len(harness.sms())


def still_there(harness, target: Target) -> bool:
    """Whether the member and her conversation at this store still exist (a route may erase them)."""
    conversation = harness.container.conversations.get(target.store_id, target.member_id)
    try:
        MemberItem.get(*MemberItem.key(target.chain_id, target.member_id))
    except MemberItem.DoesNotExist:
        return False
    return conversation is not None


# --- the matrix ------------------------------------------------------------------------------------


@pytest.mark.timeout(
    900
)  # the matrix grows with every staff route (about 340 s on 2 busy shared cores, issue 14)
def test_every_staff_route_denies_every_role_every_store_it_cannot_see(harness):
    other_chain(harness)
    routes = staff_routes()
    assert len(routes) >= len(ACTIONS)
    failures: list[str] = []
    denied_cells = member_cells = 0

    def expect(condition: bool, cell: str, status: int, body: Any) -> None:
        if not condition:
            failures.append(f"{cell}: {status} {json.dumps(body, ensure_ascii=False)[:200]}")

    for method, route in routes:
        # Fresh members per route, so a route that erases (or resolves, or reads) cannot disturb another's cells.
        own = Target("own store", CHAIN, SH_STORE, member_at(harness, CHAIN, SH_STORE))
        sibling = Target(
            "another store of the same chain", CHAIN, LDN_STORE, member_at(harness, CHAIN, LDN_STORE)
        )
        foreign = Target(
            "a foreign chain's store", OTHER_CHAIN, OTHER_STORE, member_at(harness, OTHER_CHAIN, OTHER_STORE)
        )
        scoped_to_store = "{store_id}" in route
        # A chain-scoped route's "store that does not exist" is a chain that does not exist.
        unknown = Target(
            "a store that does not exist",
            CHAIN if scoped_to_store else "iso-no-such-chain",
            UNKNOWN_STORE,
            own.member_id,
        )

        # 1. Denied: our staff at stores they cannot see; a foreign chain's staff whose token names OUR stores.
        before = snapshot(harness)
        for role in ROLES:
            ours = f"Bearer {token(role)}"
            intruder = f"Bearer {token(role, OTHER_CHAIN, stores=(SH_STORE, LDN_STORE))}"
            creates = role == "chain_admin" and (method, route) in CREATES_STORES
            baseline = Target(
                "a chain that does not exist", "iso-no-such-chain", UNKNOWN_STORE, own.member_id
            )
            _, nobody = call(harness, method, path_for(route, baseline if creates else unknown), ours)
            cells = [(ours, baseline if creates else unknown), (ours, foreign), (intruder, own)]
            if role != "chain_admin" and scoped_to_store:  # a chain_admin sees every store of her chain
                cells.append((ours, sibling))
            for authorization, target in cells:
                who = "a foreign chain's " + role if authorization is intruder else role
                cell = f"{method} {route} as {who} at {target.name}"
                status, body = call(harness, method, path_for(route, target), authorization)
                denied_cells += 1
                expect(status == 404, cell, status, body)
                expect(
                    isinstance(body, dict)
                    and body.get("error") == "not_found"
                    and set(body) <= {"error", "message"},
                    cell + " (answer shape)",
                    status,
                    body,
                )
                expect(body == nobody, cell + " (differs from a store that does not exist)", status, body)
        expect(snapshot(harness) == before, f"{method} {route}: a denied request changed something", 0, None)

        # 2. Controls: the same ids, asked by a chain_admin of the store's own chain, are not a 404.
        for target in (sibling, foreign) if scoped_to_store else (foreign,):
            admin = f"Bearer {token('chain_admin', target.chain_id, stores=())}"
            status, body = call(harness, method, path_for(route, target), admin)
            expect(
                status not in (401, 403, 404) and status < 500,
                f"{method} {route} as {target.chain_id}'s chain_admin at {target.name} (control)",
                status,
                body,
            )

        # 3. Own store: never a 404 while the member and conversation exist; a role without the action gets 403.
        action = (ACTIONS | ACTIONS_WHEN_ROUTED).get((method, route))
        for role in ROLES:
            cell = f"{method} {route} as {role} at {own.name}"
            exists = still_there(harness, own)
            status, body = call(harness, method, path_for(route, own), f"Bearer {token(role)}")
            expect(status not in (401, 404) or (status == 404 and not exists), cell, status, body)
            expect(status < 500, cell, status, body)
            if status == 403:
                expect(
                    isinstance(body, dict) and body.get("error") == "forbidden" and role != "chain_admin",
                    cell + " (403)",
                    status,
                    body,
                )
            if action is not None:
                allowed = role in roles_for(action)
                expect(
                    (status == 403) == (not allowed),
                    f"{cell} ({action}: {'allowed' if allowed else 'not'})",
                    status,
                    body,
                )

        # 4. Own store's URL, another store's member: store staff reach a member only through a store she belongs
        # to (a booking, a conversation or her primary store there); to them she is an unknown member.
        if set(re.findall(r"{(\w+)}", route)) & MEMBER_PARAMS and scoped_to_store:
            elsewhere = Target(
                "own store's URL, another store's member",
                CHAIN,
                SH_STORE,
                member_at(harness, CHAIN, LDN_STORE),
            )
            nobody_here = Target("own store's URL, a member nobody knows", CHAIN, SH_STORE, "iso-m-nobody")
            before = snapshot(harness)
            for role in ROLES:
                if role == "chain_admin":
                    continue
                ours = f"Bearer {token(role)}"
                cell = f"{method} {route} as {role} at {elsewhere.name}"
                unknown_answer = call(harness, method, path_for(route, nobody_here), ours)
                status, body = call(harness, method, path_for(route, elsewhere), ours)
                member_cells += 1
                expect(
                    (status, body) == unknown_answer,
                    cell + " (differs from a member nobody knows)",
                    status,
                    body,
                )
                if "{member_id}" in route and (action is None or role in roles_for(action)):
                    expect(
                        status == 404 and isinstance(body, dict) and body.get("error") == "not_found",
                        cell,
                        status,
                        body,
                    )
            expect(
                snapshot(harness) == before,
                f"{method} {route}: a denied member request changed something",
                0,
                None,
            )
            if "{member_id}" in route:  # a chain_admin stays chain-wide (control)
                status, body = call(
                    harness, method, path_for(route, elsewhere), f"Bearer {token('chain_admin', stores=())}"
                )
                expect(
                    status not in (401, 403, 404) and status < 500,
                    f"{method} {route} as chain_admin at {elsewhere.name} (control)",
                    status,
                    body,
                )

        # 5. Own chain's URL, a campaign of another store: store staff see a campaign only when every store it
        # targets is theirs; to them it is a campaign that does not exist.
        if "{campaign_id}" in route:
            before = snapshot(harness)
            for role in ROLES:
                if role == "chain_admin":
                    continue
                ours = f"Bearer {token(role)}"
                cell = f"{method} {route} as {role} with another store's campaign"
                unknown_answer = call(
                    harness, method, path_for(route, own).replace(CAMPAIGN, "iso-no-campaign"), ours
                )
                status, body = call(
                    harness, method, path_for(route, own).replace(CAMPAIGN, SIBLING_CAMPAIGN), ours
                )
                member_cells += 1
                expect(
                    (status, body) == unknown_answer,
                    cell + " (differs from a campaign that does not exist)",
                    status,
                    body,
                )
                if action is None or role in roles_for(action):
                    expect(status == 404, cell, status, body)
            expect(
                snapshot(harness) == before,
                f"{method} {route}: a denied campaign request changed something",
                0,
                None,
            )

    assert not failures, f"{len(failures)} of the isolation matrix's cells failed:\n" + "\n".join(failures)
    assert denied_cells >= len(ACTIONS) * (3 * len(ROLES) + len(ROLES) - 1)
    member_routes = [r for r in routes if "{member_id}" in r[1]]
    assert len(member_routes) >= 4 and member_cells >= len(member_routes) * (len(ROLES) - 1)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer garbage",
        "Basic dXNlcjpwYXNz",
        "expired",
        "forged",
        "unsigned",
        "member",
    ],
)
def test_every_staff_route_refuses_a_missing_bad_or_expired_token_with_401(harness, authorization):
    import base64

    if authorization == "expired":
        authorization = "Bearer " + token("chain_admin", now=datetime.now(UTC) - timedelta(days=31))
    elif authorization == "forged":
        authorization = "Bearer " + issue_token(
            "another-secret-of-at-least-32-bytes!!",
            subject="x",
            chain_id=CHAIN,
            role="chain_admin",
            store_ids=[],
            now=datetime.now(UTC),
        )
    elif authorization == "unsigned":
        part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
        authorization = (
            "Bearer "
            + part({"alg": "none", "typ": "JWT"})
            + "."
            + part(
                {
                    "sub": "x",
                    "chain_id": CHAIN,
                    "role": "chain_admin",
                    "stores": [],
                    "iss": "chairside",
                    "exp": 9999999999,
                }
            )
            + "."
        )
    member_token = authorization == "member"
    if member_token:  # a member's token (issue 14) is never a staff token
        authorization = "Bearer " + harness.container.member_tokens.issue(CHAIN, "iso-member")[0]
    own = Target("own store", CHAIN, SH_STORE, member_at(harness, CHAIN, SH_STORE))
    before = snapshot(harness)

    for method, route in staff_routes():
        if member_token and (method, route) in MEMBER_OR_STAFF:
            continue  # it books for the member a member token names (tests/integration/test_self_booking.py)
        for target in (own, Target("a store that does not exist", CHAIN, UNKNOWN_STORE, own.member_id)):
            status, body = call(harness, method, path_for(route, target), authorization)
            assert status == 401, (method, route, target.name, status, body)
            assert body["error"] == "unauthorized"

    assert snapshot(harness) == before


@pytest.mark.parametrize("role", ["chain_admin", "front_desk"])
def test_every_member_route_refuses_a_staff_token_with_401(harness, role):
    """A staff token is never a member token (issue 14): every `@member_route` answers 401 before its view runs."""
    routes = sorted(member_routes())
    if not routes:
        pytest.skip("no member route is registered yet")
    own = Target("own store", CHAIN, SH_STORE, member_at(harness, CHAIN, SH_STORE))
    before = snapshot(harness)

    for method, route in routes:
        path = re.sub(r"{(\w+)}", lambda m: SH_STORE if m.group(1) == "store_id" else "iso-x", route)
        status, body = call(harness, method, path, f"Bearer {token(role)}")
        assert status == 401, (method, route, status, body)

    assert snapshot(harness) == before
    assert own.member_id


def test_a_member_belongs_to_every_store_she_booked_at_not_only_her_primary_one(harness):
    """Booked once in London, then her visits in Shanghai (primary and last store): London's staff still reach her
    (her bookings, a Query on gsi3), New York's never did (404, as a member nobody knows)."""
    from tests.support.care import visit

    status, body = harness.post(
        booking_event(
            store_id=LDN_STORE,
            stylist="ldn-sophie",
            member_id="iso-roamer",
            booking_id="iso-bk-roamer-ldn",
            start="2026-12-20T11:00:00+00:00",
        )
    )
    assert status == 202, body
    for day in ("2026-10-01", "2026-11-01"):
        visit(harness, "iso-roamer", start=f"{day}T15:00:00+08:00")
    profile = MemberItem.get(*MemberItem.key(CHAIN, "iso-roamer"))
    assert (profile.primary_store_id, profile.last_store_id) == (SH_STORE, SH_STORE)
    assert harness.container.conversations.get(LDN_STORE, "iso-roamer") is None

    for role in ("stylist", "front_desk", "store_manager"):
        london, new_york = (
            f"Bearer {token(role, stores=(LDN_STORE,))}",
            f"Bearer {token(role, stores=('nyc-soho',))}",
        )
        assert call(harness, "GET", f"/v1/stores/{LDN_STORE}/members/iso-roamer", london)[0] == 200, role
        assert (
            call(harness, "GET", f"/v1/stores/{LDN_STORE}/members/iso-roamer/messages", london)[0] == 200
        ), role
        assert (
            call(harness, "GET", "/v1/stores/nyc-soho/members/iso-roamer", new_york)
            == call(harness, "GET", "/v1/stores/nyc-soho/members/iso-nobody", new_york)
            == (404, {"error": "not_found", "message": "no such member"})
        ), role
