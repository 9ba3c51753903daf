"""Unit tests for webhook signatures (chalicelib.services.signatures) and staff tokens (...services.auth)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from chalicelib.api.request import authenticate
from chalicelib.errors import NotFound, Unauthorized
from chalicelib.services.auth import ROLES, Staff, issue_token, require_store
from chalicelib.services.signatures import REPLAY_WINDOW_SECONDS, sign, verify

WALL = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
TS = int(WALL.timestamp())
BODY = json.dumps({"event_id": "evt-1", "name": "李女士 😀"}, ensure_ascii=False).encode()
SECRETS = {"chain-a": ["whsec-current"], "chain-b": ["whsec-new", "whsec-old"], "chain-empty": []}


def secrets_for(chain_id: str) -> list[str]:
    return SECRETS.get(chain_id, [])


def signed_headers(
    *, secret: str = "whsec-current", chain: str = "chain-a", ts: int | str = TS, body: bytes = BODY
) -> dict[str, str]:
    return {
        "X-Chairside-Chain": chain,
        "X-Chairside-Timestamp": str(ts),
        "X-Chairside-Signature": sign(secret, ts, body),
    }


# --- signatures ----------------------------------------------------------------------------------


def test_given_a_signed_body_when_verified_then_the_chain_id_comes_back():
    assert verify(signed_headers(), BODY, secrets_for, WALL) == "chain-a"


def test_given_a_secret_when_signed_then_it_is_v1_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"whsec-current", f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert sign("whsec-current", TS, BODY) == f"v1={expected}"
    assert sign("whsec-current", str(TS), BODY) == sign("whsec-current", TS, BODY)


@pytest.mark.parametrize("case", [str.lower, str.upper, lambda name: name])
def test_given_header_names_in_any_case_when_verified_then_they_are_found(case):
    headers = {case(name): value for name, value in signed_headers().items()}

    assert verify(headers, BODY, secrets_for, WALL) == "chain-a"


def test_given_header_values_with_surrounding_spaces_when_verified_then_they_are_trimmed():
    headers = {name: f"  {value} " for name, value in signed_headers().items()}

    assert verify(headers, BODY, secrets_for, WALL) == "chain-a"


@pytest.mark.parametrize("skew", [-299, -1, 0, 1, 299])
def test_given_a_timestamp_inside_the_window_when_verified_then_it_is_accepted(skew):
    assert REPLAY_WINDOW_SECONDS == 300
    assert verify(signed_headers(ts=TS + skew), BODY, secrets_for, WALL) == "chain-a"


@pytest.mark.parametrize("skew", [-301, 301, -86_400, 86_400])
def test_given_a_timestamp_outside_the_window_when_verified_then_it_is_unauthorized(skew):
    with pytest.raises(Unauthorized, match="expired"):
        verify(signed_headers(ts=TS + skew), BODY, secrets_for, WALL)


def test_given_the_window_when_the_wall_clock_moves_then_the_same_request_expires():
    headers = signed_headers()

    assert verify(headers, BODY, secrets_for, WALL + timedelta(seconds=299)) == "chain-a"
    with pytest.raises(Unauthorized):
        verify(headers, BODY, secrets_for, WALL + timedelta(seconds=301))


@pytest.mark.parametrize("secret", ["whsec-new", "whsec-old"])
def test_given_a_chain_rotating_secrets_when_either_signs_then_it_is_accepted(secret):
    assert verify(signed_headers(secret=secret, chain="chain-b"), BODY, secrets_for, WALL) == "chain-b"


def test_given_a_secret_of_another_chain_when_verified_then_it_is_unauthorized():
    with pytest.raises(Unauthorized, match="bad signature"):
        verify(signed_headers(secret="whsec-current", chain="chain-b"), BODY, secrets_for, WALL)


@pytest.mark.parametrize("chain", ["chain-empty", "no-such-chain"])
def test_given_a_chain_without_secrets_when_verified_then_it_is_unauthorized(chain):
    with pytest.raises(Unauthorized):
        verify(signed_headers(chain=chain), BODY, secrets_for, WALL)


@pytest.mark.parametrize("chain", ["x" * 129, "chain a", "chain/../other", "链", "chain-a\x00", "c" * 20_000])
def test_given_a_malformed_chain_id_when_verified_then_it_is_refused_before_any_secret_lookup(chain):
    def no_lookup(chain_id: str) -> list[str]:
        raise AssertionError(f"looked up secrets for {chain_id!r}")

    with pytest.raises(Unauthorized):
        verify(signed_headers(chain=chain), BODY, no_lookup, WALL)


def test_given_a_chain_id_spelled_like_a_booking_id_when_verified_then_its_secrets_are_used():
    chain = "Chain_1.a:b@c-" + "x" * 114  # 128 characters of the id alphabet

    assert verify(signed_headers(secret="s", chain=chain), BODY, lambda _: ["s"], WALL) == chain


def test_given_only_empty_secrets_when_verified_then_a_signature_with_the_empty_key_is_refused():
    with pytest.raises(Unauthorized):
        verify(signed_headers(secret="", chain="x"), BODY, lambda _: ["", ""], WALL)


@pytest.mark.parametrize(
    "timestamp",
    [
        "yesterday",
        "17e8",
        "-1",
        "+1763776800",
        "1763776800.0",
        "0x69",
        "1 763 776 800",
        "９９",
        "²",
        "١٧٦",
        "9" * 13,
        "9" * 5000,
        str(10**12),
    ],
)
def test_given_a_timestamp_that_is_not_unix_seconds_when_verified_then_it_is_unauthorized(timestamp):
    headers = signed_headers(ts=timestamp)

    with pytest.raises(Unauthorized):
        verify(headers, BODY, secrets_for, WALL)


def test_given_a_huge_but_short_timestamp_when_verified_then_it_is_expired_not_an_error():
    with pytest.raises(Unauthorized, match="expired"):
        verify(signed_headers(ts="999999999999"), BODY, secrets_for, WALL)


@pytest.mark.parametrize("missing", ["X-Chairside-Chain", "X-Chairside-Timestamp", "X-Chairside-Signature"])
def test_given_a_missing_or_blank_header_when_verified_then_it_is_unauthorized(missing):
    headers = signed_headers()
    headers.pop(missing)
    with pytest.raises(Unauthorized, match="missing"):
        verify(headers, BODY, secrets_for, WALL)
    headers[missing] = "   "
    with pytest.raises(Unauthorized, match="missing"):
        verify(headers, BODY, secrets_for, WALL)


@pytest.mark.parametrize(
    "signature",
    [
        "v2=" + "0" * 64,
        "V1=" + "0" * 64,
        "sha256=abc",
        "v1=",
        "v1=" + "0" * 64,
        "v1=zz",
        "v1=" + "a" * 10_000,
    ],
)
def test_given_a_wrong_or_unsupported_signature_when_verified_then_it_is_unauthorized(signature):
    headers = signed_headers()
    headers["X-Chairside-Signature"] = signature

    with pytest.raises(Unauthorized):
        verify(headers, BODY, secrets_for, WALL)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body + b" ",
        lambda body: body[:-1],
        lambda body: body.replace(b"evt-1", b"evt-2"),
        lambda body: b"",
        lambda body: body.upper(),
    ],
)
def test_given_a_tampered_body_when_verified_then_it_is_unauthorized(tamper):
    headers = signed_headers()

    with pytest.raises(Unauthorized, match="bad signature"):
        verify(headers, tamper(BODY), secrets_for, WALL)


def test_given_a_signature_for_another_timestamp_when_replayed_with_a_fresh_one_then_it_is_unauthorized():
    headers = signed_headers(ts=TS - 600)
    headers["X-Chairside-Timestamp"] = str(TS)

    with pytest.raises(Unauthorized, match="bad signature"):
        verify(headers, BODY, secrets_for, WALL)


# --- staff tokens --------------------------------------------------------------------------------

JWT_SECRET = "test-jwt-secret-of-at-least-32-bytes!"
NOW = datetime.now(UTC)


def token(
    role: str = "store_manager",
    *,
    stores: list[str] | None = None,
    chain: str = "chain-a",
    now: datetime = NOW,
    ttl: timedelta = timedelta(days=30),
    secret: str = JWT_SECRET,
) -> str:
    return issue_token(
        secret,
        subject="staff-1",
        chain_id=chain,
        role=role,
        store_ids=["store-1"] if stores is None else stores,
        now=now,
        ttl=ttl,
    )


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize("role", ROLES)
def test_given_an_issued_token_when_authenticated_then_the_staff_claims_come_back(role):
    staff = authenticate(f"Bearer {token(role, stores=['store-1', 'store-2'])}", JWT_SECRET)

    assert staff == Staff(subject="staff-1", chain_id="chain-a", role=role, store_ids=("store-1", "store-2"))


def test_given_an_expired_token_when_authenticated_then_it_is_unauthorized():
    expired = token(now=NOW - timedelta(days=2), ttl=timedelta(days=1))

    with pytest.raises(Unauthorized):
        authenticate(f"Bearer {expired}", JWT_SECRET)


def test_given_a_token_signed_with_another_secret_when_authenticated_then_it_is_unauthorized():
    forged = token(secret="another-secret-of-at-least-32-bytes!!")

    with pytest.raises(Unauthorized):
        authenticate(f"Bearer {forged}", JWT_SECRET)


def test_given_an_unsigned_alg_none_token_when_authenticated_then_it_is_unauthorized():
    claims = jwt.decode(token("chain_admin"), JWT_SECRET, algorithms=["HS256"], issuer="chairside")
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."

    with pytest.raises(Unauthorized):
        authenticate(f"Bearer {unsigned}", JWT_SECRET)


def test_given_a_token_with_an_unknown_role_when_authenticated_then_it_is_unauthorized():
    claims = {
        "sub": "staff-1",
        "chain_id": "chain-a",
        "role": "superuser",
        "stores": [],
        "iss": "chairside",
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
    }

    with pytest.raises(Unauthorized):
        authenticate(f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}", JWT_SECRET)


def test_given_an_unknown_role_when_a_token_is_issued_then_it_raises():
    with pytest.raises(ValueError):
        token("superuser")


@pytest.mark.parametrize(
    "change",
    [
        {"iss": "someone-else"},
        {"chain_id": 42},
        {"stores": "store-1"},
        {"exp": None},
        {"sub": None},
    ],
)
def test_given_a_signed_token_with_bad_claims_when_authenticated_then_it_is_unauthorized(change):
    claims = {
        "sub": "staff-1",
        "chain_id": "chain-a",
        "role": "front_desk",
        "stores": ["store-1"],
        "iss": "chairside",
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
    }
    claims.update(change)
    claims = {k: v for k, v in claims.items() if v is not None}

    with pytest.raises(Unauthorized):
        authenticate(f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}", JWT_SECRET)


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic abc", "bearer x.y.z", "Bearer x.y.z"]
)
def test_given_a_missing_or_malformed_authorization_header_when_authenticated_then_it_is_unauthorized(header):
    with pytest.raises(Unauthorized):
        authenticate(header, JWT_SECRET)


def test_given_a_store_manager_when_requiring_stores_then_only_their_own_store_is_visible():
    staff = authenticate(f"Bearer {token('store_manager', stores=['store-1'])}", JWT_SECRET)

    require_store(staff, "chain-a", "store-1")
    with pytest.raises(NotFound):
        require_store(staff, "chain-a", "store-2")
    with pytest.raises(NotFound):
        require_store(staff, "chain-b", "store-1")
    with pytest.raises(NotFound):
        require_store(staff, None, "store-1")


def test_given_a_chain_admin_when_requiring_stores_then_every_store_of_the_chain_and_no_other_is_visible():
    staff = authenticate(f"Bearer {token('chain_admin', stores=[])}", JWT_SECRET)

    require_store(staff, "chain-a", "store-1")
    require_store(staff, "chain-a", "store-99")
    with pytest.raises(NotFound):
        require_store(staff, "chain-b", "store-1")
    with pytest.raises(NotFound):
        require_store(staff, None, "store-1")
