"""Staff bearer tokens (JWT) and what a token lets its holder do.

Two verifiers (the edge reads the `Authorization` header and calls one: chalicelib/api/request.py `authenticate`):

* `HS256Verifier` -- tokens signed with the stage secret (`issue_token`); the local stack and the tests.
* `CognitoVerifier` -- RS256 tokens of a Cognito user pool, checked against the pool's JWKS (fetched once,
  cached an hour, one client per container). Claims map to `Staff` as `custom:chain_id`, `custom:stores`
  (comma-separated), and `custom:role` -- or, without it, the first of `cognito:groups` that is a role.

Then `require(staff, action, store_chain_id, store_id)`: a store the token cannot see (another chain's, another
store's, or none at all) answers 404 so its existence does not leak; a visible store with a role that may not do
the action (permissions.toml) answers 403.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from chalicelib.errors import Forbidden, Misdirected, NotFound, Unauthorized
from chalicelib.ids import is_id

ROLES = ("stylist", "front_desk", "store_manager", "chain_admin")
PERMISSIONS_FILE = Path(__file__).with_name("permissions.toml")
HS256_ISSUER = "chairside"
# Cognito's two token kinds, and the claim in which each names the app client.
COGNITO_CLIENT_CLAIM = {"id": "aud", "access": "client_id"}
MAX_TOKEN_LENGTH = 8192


@dataclass(frozen=True)
class Staff:
    subject: str
    chain_id: str
    role: str
    store_ids: tuple[str, ...]

    def can_see_store(self, chain_id: str, store_id: str) -> bool:
        if chain_id != self.chain_id:
            return False
        return self.role == "chain_admin" or store_id in self.store_ids

    def may(self, action: str) -> bool:
        return self.role in roles_for(action)


class Verifier(Protocol):
    def verify(self, token: str) -> Staff:
        """The staff member a token names; raises Unauthorized for any token that is not good."""


# --- HS256 (local stack, tests) --------------------------------------------------------------------


def issue_token(
    secret: str,
    *,
    subject: str,
    chain_id: str,
    role: str,
    store_ids: list[str],
    now: datetime,
    ttl: timedelta = timedelta(days=30),
) -> str:
    import jwt

    if role not in ROLES:
        raise ValueError(f"unknown role {role}")
    claims = {
        "sub": subject,
        "chain_id": chain_id,
        "role": role,
        "stores": list(store_ids),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "iss": HS256_ISSUER,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class HS256Verifier:
    """`secret` is the signing secret, or a function that returns it (read from Secrets Manager and cached by the
    composition root, so a rotated secret is picked up without a deploy)."""

    def __init__(self, secret: str | Callable[[], str]) -> None:
        if not secret:
            raise ValueError("an HS256 verifier needs a secret")
        self._secret = secret

    @property
    def secret(self) -> str:
        secret = self._secret() if callable(self._secret) else self._secret
        if not secret:
            raise ValueError("the HS256 secret is empty")
        return secret

    def verify(self, token: str) -> Staff:
        import jwt

        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                issuer=HS256_ISSUER,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.PyJWTError:
            raise Unauthorized("the staff token is not valid") from None
        role, chain_id, stores = claims.get("role"), claims.get("chain_id"), claims.get("stores", [])
        if not isinstance(stores, list):
            raise Unauthorized("the staff token is not valid")
        return _staff(claims.get("sub"), chain_id, role, stores)


# --- RS256 from a Cognito user pool (AWS) ----------------------------------------------------------


class CognitoVerifier:
    """ID or access tokens of one user pool and app client.

    An ID token names the app client in `aud`; an access token in `client_id` (and has no `aud`). The chain,
    stores and role come from custom attributes, which Cognito puts in ID tokens -- and in access tokens only
    when a pre-token-generation trigger adds them; an access token without them is refused.
    """

    def __init__(self, issuer: str, audience: str, jwks_client: Any = None, *, leeway: int = 0) -> None:
        if not issuer or not audience:
            raise ValueError("a Cognito verifier needs the pool's issuer and the app client id")
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self._jwks = jwks_client
        self._leeway = leeway

    @property
    def jwks(self) -> Any:
        if self._jwks is None:
            import jwt

            self._jwks = jwt.PyJWKClient(
                self.issuer + "/.well-known/jwks.json", cache_keys=True, lifespan=3600, timeout=5
            )
        return self._jwks

    def verify(self, token: str) -> Staff:
        import jwt

        try:
            if jwt.get_unverified_header(token).get("alg") != "RS256":
                raise Unauthorized("the staff token is not valid")
            key = self.jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWKClientConnectionError:
            raise  # the pool's JWKS is unreachable: our failure, answered 503 (retry), not the caller's
        except jwt.PyJWTError:
            raise Unauthorized("the staff token is not valid") from None
        token_use = claims.get("token_use")
        client_claim = COGNITO_CLIENT_CLAIM.get(token_use) if isinstance(token_use, str) else None
        if client_claim is None or claims.get(client_claim) != self.audience:
            raise Unauthorized("the staff token is not valid")
        return staff_from_cognito(claims)


def staff_from_cognito(claims: dict[str, Any]) -> Staff:
    stores = claims.get("custom:stores", "")
    if isinstance(stores, str):
        stores = [s.strip() for s in stores.split(",") if s.strip()]
    elif not isinstance(stores, list):
        raise Unauthorized("the staff token is not valid")
    role = claims.get("custom:role")
    if role is None:
        groups = claims.get("cognito:groups") or []
        role = next((g for g in groups if g in ROLES), None) if isinstance(groups, list) else None
    return _staff(claims.get("sub"), claims.get("custom:chain_id"), role, stores)


# --- one entry point ------------------------------------------------------------------------------


def verifier_for(
    mode: str, *, secret: str | Callable[[], str] = "", issuer: str = "", audience: str = ""
) -> Verifier:
    if mode == "hs256":
        return HS256Verifier(secret)
    if mode == "cognito":
        return CognitoVerifier(issuer, audience)
    raise ValueError(f"unknown auth mode {mode!r}: hs256 or cognito")


def _staff(subject: Any, chain_id: Any, role: Any, stores: list[Any]) -> Staff:
    if (
        role not in ROLES
        or not isinstance(chain_id, str)
        or not chain_id
        or not isinstance(subject, str)
        or not subject
        or not all(isinstance(s, str) for s in stores)
    ):
        raise Unauthorized("the staff token is not valid")
    return Staff(subject, chain_id, role, tuple(stores))


# --- what a token lets its holder do ---------------------------------------------------------------


def require(staff: Staff, action: str, store_chain_id: str | None, store_id: str) -> None:
    """404 for a store the token cannot see (so its existence does not leak); 403 for a role not allowed."""
    require_store(staff, store_chain_id, store_id)
    if not staff.may(action):
        raise Forbidden(f"a {staff.role} may not do {action}", action)


def authorize_store(staff: Staff, stores: Any, store_id: str, action: str) -> Any:
    """The store, when `staff` may do `action` there (404, 421 or 403 otherwise)."""
    store = lookup_store(staff, stores, store_id) if is_id(store_id) else None
    require(staff, action, store.chain_id if store else None, store_id)
    return store


def lookup_store(staff: Staff, stores: Any, store_id: str) -> Any:
    """The store, looked up for this staff member. A store served in another region answers 421 only to
    staff whose token may see it; to anyone else it is unknown (404), so its existence does not leak."""
    try:
        return stores.get(store_id)
    except Misdirected as exc:
        if exc.chain_id is None or not staff.can_see_store(exc.chain_id, store_id):
            raise NotFound("no such store") from None
        raise


def require_store(staff: Staff, store_chain_id: str | None, store_id: str) -> None:
    """Foreign (or unknown) stores answer 404, so their existence does not leak."""
    if store_chain_id is None or not staff.can_see_store(store_chain_id, store_id):
        raise NotFound("no such store")


def roles_for(action: str) -> frozenset[str]:
    table = permissions()
    if action in table:
        return table[action]
    wildcard = action.split(".", 1)[0] + ".*"
    if "." in action and wildcard in table:
        return table[wildcard]
    raise ValueError(f"no permission line for action {action!r} in {PERMISSIONS_FILE.name}")


@cache
def permissions() -> dict[str, frozenset[str]]:
    return load_permissions(PERMISSIONS_FILE.read_text(encoding="utf-8"))


def load_permissions(text: str) -> dict[str, frozenset[str]]:
    actions = tomllib.loads(text).get("actions")
    if not isinstance(actions, dict) or not actions:
        raise ValueError("permissions: an [actions] table is required")
    table: dict[str, frozenset[str]] = {}
    for action, roles in actions.items():
        if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
            raise ValueError(f"permissions: {action} must list roles from {', '.join(ROLES)}")
        resource, _, verb = action.partition(".")
        if not resource or not verb:
            raise ValueError(f"permissions: {action} must be resource.verb or resource.*")
        table[action] = frozenset(roles)
    return table
