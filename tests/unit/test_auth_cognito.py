"""RS256 staff tokens of a Cognito user pool, verified against the pool's JWKS -- served here by a tiny local
HTTP server, with a locally generated RSA key, so no network and no AWS are needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chalicelib import bootstrap
from chalicelib import settings as settings_module
from chalicelib.api.request import authenticate
from chalicelib.errors import Unauthorized
from chalicelib.services.auth import CognitoVerifier, HS256Verifier, Staff, verifier_for

POOL = "ap-southeast-1_TeStPoOl1"
CLIENT_ID = "3n4b5urk1ft4fl3mg5e4u0lc6q"
KID = "test-key-1"


def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = private_key()
OTHER_KEY = private_key()


class JWKS:
    """A user pool's /.well-known/jwks.json on 127.0.0.1:<free port>; counts the fetches."""

    def __init__(self, keys: dict[str, rsa.RSAPrivateKey]) -> None:
        self.keys = keys
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the stdlib's name
                if self.path != f"/{POOL}/.well-known/jwks.json":
                    self.send_error(404)
                    return
                jwks.fetches += 1
                body = json.dumps(
                    {
                        "keys": [
                            {
                                **RSAAlgorithm.to_jwk(k.public_key(), as_dict=True),
                                "kid": kid,
                                "alg": "RS256",
                                "use": "sig",
                            }
                            for kid, k in jwks.keys.items()
                        ]
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}/{POOL}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> JWKS:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pool() -> Iterator[JWKS]:
    with JWKS({KID: KEY}) as server:
        yield server


@pytest.fixture
def verifier(pool: JWKS) -> CognitoVerifier:
    return CognitoVerifier(pool.issuer, CLIENT_ID)


def claims(pool: JWKS, token_use: str = "id", **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "5f7c2a1e-0000-4000-8000-000000000001",
        "iss": pool.issuer,
        "token_use": token_use,
        "auth_time": int(now.timestamp()),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        "custom:chain_id": "chain-a",
        "custom:stores": "store-1, store-2",
        "custom:role": "front_desk",
        "cognito:groups": ["staff"],
    }
    if token_use == "id":
        base |= {"aud": CLIENT_ID, "cognito:username": "amy", "email": "amy@example.com"}
    else:
        base |= {"client_id": CLIENT_ID, "scope": "aws.cognito.signin.user.admin", "username": "amy"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(
    payload: dict[str, Any], key: rsa.RSAPrivateKey = KEY, kid: str | None = KID, alg: str = "RS256"
) -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid} if kid else None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def bearer(token: str) -> str:
    return f"Bearer {token}"


# --- accepted ------------------------------------------------------------------------------------


def test_a_valid_id_token_is_accepted_and_its_claims_become_the_staff_member(pool, verifier):
    staff = authenticate(bearer(sign(claims(pool))), verifier)

    assert staff == Staff(
        "5f7c2a1e-0000-4000-8000-000000000001", "chain-a", "front_desk", ("store-1", "store-2")
    )


def test_a_valid_access_token_names_the_app_client_in_client_id(pool, verifier):
    staff = authenticate(bearer(sign(claims(pool, "access"))), verifier)

    assert staff.role == "front_desk" and staff.store_ids == ("store-1", "store-2")


def test_without_custom_role_the_first_group_that_is_a_role_is_the_role(pool, verifier):
    token = sign(
        claims(pool, **{"custom:role": None, "cognito:groups": ["staff", "store_manager", "stylist"]})
    )

    assert authenticate(bearer(token), verifier).role == "store_manager"


def test_a_chain_admin_needs_no_stores(pool, verifier):
    token = sign(claims(pool, **{"custom:role": "chain_admin", "custom:stores": None}))

    staff = authenticate(bearer(token), verifier)

    assert staff.role == "chain_admin" and staff.store_ids == () and staff.can_see_store("chain-a", "store-9")


def test_the_jwks_is_fetched_once_and_reused(pool, verifier):
    for _ in range(5):
        authenticate(bearer(sign(claims(pool))), verifier)

    assert pool.fetches == 1


def test_a_rotated_key_is_picked_up_by_its_new_kid(pool):
    verifier = CognitoVerifier(
        pool.issuer,
        CLIENT_ID,
        jwt.PyJWKClient(
            pool.issuer + "/.well-known/jwks.json", cache_keys=True, lifespan=3600, cooldown_duration=0
        ),
    )
    authenticate(bearer(sign(claims(pool))), verifier)
    pool.keys["test-key-2"] = OTHER_KEY

    staff = authenticate(bearer(sign(claims(pool), OTHER_KEY, kid="test-key-2")), verifier)

    assert staff.chain_id == "chain-a" and pool.fetches == 2


# --- refused ---------------------------------------------------------------------------------------


def refused(token: str, verifier: CognitoVerifier) -> None:
    with pytest.raises(Unauthorized):
        authenticate(bearer(token), verifier)


def test_another_pools_issuer_is_refused(pool, verifier):
    refused(sign(claims(pool, iss=pool.issuer.replace(POOL, "ap-southeast-1_Other"))), verifier)
    refused(sign(claims(pool, iss=None)), verifier)


@pytest.mark.parametrize("token_use, field", [("id", "aud"), ("access", "client_id")])
def test_another_app_clients_token_is_refused(pool, verifier, token_use, field):
    refused(sign(claims(pool, token_use, **{field: "another-app-client"})), verifier)
    refused(sign(claims(pool, token_use, **{field: None})), verifier)


def test_an_access_token_does_not_pass_on_an_aud_claim_alone(pool, verifier):
    refused(sign(claims(pool, "access", client_id=None, aud=CLIENT_ID)), verifier)


def test_an_expired_token_is_refused(pool, verifier):
    past = datetime.now(UTC) - timedelta(hours=2)
    refused(
        sign(claims(pool, iat=int(past.timestamp()), exp=int((past + timedelta(hours=1)).timestamp()))),
        verifier,
    )
    refused(sign(claims(pool, exp=None)), verifier)


@pytest.mark.parametrize("token_use", [None, "refresh", "ID", "", ["id"], {"id": 1}])
def test_only_id_and_access_tokens_are_accepted(pool, verifier, token_use):
    payload = claims(pool)
    payload["token_use"] = token_use
    refused(sign({k: v for k, v in payload.items() if v is not None}), verifier)


def test_hs256_signed_with_the_public_key_is_refused(pool, verifier):
    """The classic alg confusion: HMAC keyed with the (public) RSA key the verifier trusts."""
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
        + "."
        + b64(json.dumps(claims(pool)).encode())
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    refused(signing_input + "." + b64(mac), verifier)


def test_an_unsigned_alg_none_token_is_refused(pool, verifier):
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": KID}).encode())
    refused(f"{header}.{b64(json.dumps(claims(pool)).encode())}.", verifier)


def test_an_unknown_kid_is_refused(pool, verifier):
    refused(sign(claims(pool), OTHER_KEY, kid="not-in-the-pool"), verifier)
    refused(sign(claims(pool), kid=None), verifier)


def test_a_token_signed_by_another_key_under_the_pools_kid_is_refused(pool, verifier):
    refused(sign(claims(pool), OTHER_KEY), verifier)


def test_a_tampered_payload_is_refused(pool, verifier):
    header, _, signature = sign(claims(pool)).split(".")
    forged = b64(json.dumps(claims(pool, **{"custom:role": "chain_admin"})).encode())
    refused(f"{header}.{forged}.{signature}", verifier)


@pytest.mark.parametrize(
    "change",
    [
        {"custom:chain_id": None},
        {"custom:chain_id": ""},
        {"custom:role": "owner"},
        {"custom:role": None, "cognito:groups": ["staff"]},
        {"custom:role": None, "cognito:groups": None},
        {"custom:role": None, "cognito:groups": "chain_admin"},
        {"custom:stores": 7},
        {"sub": None},
    ],
)
def test_a_signed_token_without_the_staff_claims_is_refused(pool, verifier, change):
    refused(sign(claims(pool, **change)), verifier)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer a.b.c", "Bearer junk", "Bearer " + "a" * 9000],
)
def test_missing_or_malformed_headers_are_refused_before_the_jwks_is_asked(pool, verifier, header):
    with pytest.raises(Unauthorized):
        authenticate(header, verifier)

    assert pool.fetches == 0


def test_an_unreachable_jwks_is_our_failure_not_the_callers(pool):
    verifier = CognitoVerifier("http://127.0.0.1:9/" + POOL, CLIENT_ID)  # the discard port: nothing listens

    with pytest.raises(jwt.PyJWKClientConnectionError):  # the API answers 503: retry, not "log in again"
        authenticate(bearer(sign(claims(pool))), verifier)


def test_an_hs256_token_is_not_accepted_by_the_cognito_verifier_nor_the_reverse(pool, verifier):
    from chalicelib.services.auth import issue_token

    hs = issue_token(
        "a-secret-of-at-least-32-bytes-long!!",
        subject="s",
        chain_id="chain-a",
        role="chain_admin",
        store_ids=[],
        now=datetime.now(UTC),
    )
    refused(hs, verifier)
    with pytest.raises(Unauthorized):
        authenticate(bearer(sign(claims(pool))), HS256Verifier("a-secret-of-at-least-32-bytes-long!!"))


# --- settings and the composition root ---------------------------------------------------------------


def env(**extra: str) -> dict[str, str]:
    from chalicelib import resources as r

    base = {
        r.ENV_STEPS_QUEUE_URL: "q",
        r.ENV_STEPS_QUEUE_ARN: "arn:q",
        r.ENV_STEPS_DLQ_URL: "dlq",
        r.ENV_INBOUND_QUEUE_URL: "in",
        r.ENV_SCHEDULER_ROLE_ARN: "arn:role",
        r.ENV_SCHEDULER_DLQ_ARN: "arn:dlq",
    }
    return base | extra


ISSUER = f"https://cognito-idp.ap-southeast-1.amazonaws.com/{POOL}"


def test_hs256_is_the_default_and_needs_the_secret():
    with pytest.raises(RuntimeError, match="CHAIRSIDE_JWT_SECRET"):
        settings_module.from_env(env())
    settings = settings_module.from_env(env(CHAIRSIDE_JWT_SECRET="s" * 32))

    assert settings.auth_mode == "hs256"
    assert isinstance(bootstrap.build(settings).staff_verifier, HS256Verifier)


def test_cognito_mode_needs_the_pools_issuer_and_app_client_but_no_secret():
    settings = settings_module.from_env(
        env(
            CHAIRSIDE_AUTH_MODE="cognito",
            CHAIRSIDE_COGNITO_ISSUER=ISSUER + "/",
            CHAIRSIDE_COGNITO_AUDIENCE=CLIENT_ID,
        )
    )
    container = bootstrap.build(settings)

    verifier = container.staff_verifier
    assert isinstance(verifier, CognitoVerifier) and container.staff_verifier is verifier  # one per container
    assert (verifier.issuer, verifier.audience) == (ISSUER, CLIENT_ID)
    assert verifier.jwks.uri == ISSUER + "/.well-known/jwks.json"


@pytest.mark.parametrize(
    "extra, problem",
    [
        ({"CHAIRSIDE_AUTH_MODE": "rs256"}, "CHAIRSIDE_AUTH_MODE"),
        (
            {"CHAIRSIDE_AUTH_MODE": "cognito", "CHAIRSIDE_COGNITO_AUDIENCE": CLIENT_ID},
            "CHAIRSIDE_COGNITO_ISSUER",
        ),
        (
            {"CHAIRSIDE_AUTH_MODE": "cognito", "CHAIRSIDE_COGNITO_ISSUER": ISSUER},
            "CHAIRSIDE_COGNITO_AUDIENCE",
        ),
        (
            {
                "CHAIRSIDE_AUTH_MODE": "cognito",
                "CHAIRSIDE_COGNITO_ISSUER": "http://evil.example/" + POOL,
                "CHAIRSIDE_COGNITO_AUDIENCE": CLIENT_ID,
            },
            "CHAIRSIDE_COGNITO_ISSUER",
        ),
    ],
)
def test_a_misconfigured_auth_mode_fails_at_start_up(extra, problem):
    with pytest.raises(RuntimeError, match=problem):
        settings_module.from_env(env(**extra))


def test_the_china_partitions_issuer_is_accepted():
    issuer = "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_AbC123"
    settings = settings_module.from_env(
        env(
            CHAIRSIDE_AUTH_MODE="cognito",
            CHAIRSIDE_COGNITO_ISSUER=issuer,
            CHAIRSIDE_COGNITO_AUDIENCE=CLIENT_ID,
        )
    )
    assert settings.cognito_issuer == issuer


def test_an_unknown_mode_has_no_verifier():
    with pytest.raises(ValueError):
        verifier_for("rs256")
