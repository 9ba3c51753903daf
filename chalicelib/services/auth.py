"""Staff bearer tokens (JWT). HS256 with a stage secret; claims: chain, stores, role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.errors import NotFound, Unauthorized

ROLES = ("stylist", "front_desk", "store_manager", "chain_admin")


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


def issue_token(secret: str, *, subject: str, chain_id: str, role: str, store_ids: list[str],
                now: datetime, ttl: timedelta = timedelta(days=30)) -> str:
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
        "iss": "chairside",
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def authenticate(authorization: str | None, secret: str) -> Staff:
    import jwt

    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("a staff bearer token is required")
    token = authorization.removeprefix("Bearer ").strip()
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer="chairside",
                            options={"require": ["exp", "sub", "iss"]})
    except jwt.PyJWTError:
        raise Unauthorized("the staff token is not valid") from None
    role, chain_id, stores = claims.get("role"), claims.get("chain_id"), claims.get("stores", [])
    if role not in ROLES or not isinstance(chain_id, str) or not isinstance(stores, list):
        raise Unauthorized("the staff token is not valid")
    return Staff(str(claims["sub"]), chain_id, role, tuple(str(s) for s in stores))


def require_store(staff: Staff, store_chain_id: str | None, store_id: str) -> None:
    """Foreign (or unknown) stores answer 404, so their existence does not leak."""
    if store_chain_id is None or not staff.can_see_store(store_chain_id, store_id):
        raise NotFound("no such store")
