"""A member signs in without a password: a 6-digit code by SMS, or WeChat's OAuth (snsapi_base).

SMS code (`start`, `verify`), per phone number and chain:

* `start` answers the same whether or not the number belongs to a member (no enumeration): it never looks her up.
  It sends a new code and forgets the previous one -- unless a code went out less than `RESEND_AFTER` ago and is
  still good, when the request is taken as a retry and nothing is sent (the same 202).
* At most `MAX_CODES_PER_HOUR` codes an hour (the next: 429 `too_many_codes`, with `retry_after_seconds`).
* A code works for `CODE_LIFE` and once. `MAX_TRIES` wrong codes and it is dead (429 `too_many_tries`): only a new
  code helps. A code already used, expired or never sent: 401 `code_expired`; a wrong one: 401 `invalid_code` with
  `tries_left`. A verify retried after it succeeded therefore answers 401 `code_expired` (the code was used): the
  client keeps the first answer's token, or asks for a new code.
* Stored as a keyed hash (HMAC with a key derived from the stage's lookup key, over chain, phone digest, issue time
  and code), never in plain; the phone as its lookup digest. Every change is conditional on the version read, so
  concurrent requests cannot both spend the last try or both use the code.

WeChat: `oauth_url` hands the page WeChat's authorize URL with a `state` we sign (HMAC; alphanumeric, as WeChat
allows): `<expiry, 10 digits><nonce, 16 hex><signature, 32 hex>` over the store id, expiry and nonce. `wechat`
accepts only a state signed by us, for this store, not expired (`STATE_LIFE`) and not used before (its nonce is
put-if-absent), then exchanges the code for her openid (channels/wechat/oauth.py).

Either way she is found by phone or openid in the store's chain, or created with this store as her primary store
(services/member_directory.py), and gets a member token (services/member_tokens.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.channels.base import Contact
from chalicelib.channels.wechat.oauth import OAuthCodeRejected, authorize_url
from chalicelib.clock import Clock
from chalicelib.dal.member_directory import MemberDirectoryRepository, SignInCode
from chalicelib.dal.models import StoreItem
from chalicelib.errors import (
    CodedUnauthorized,
    ConcurrentUpdate,
    Conflict,
    NotFound,
    TooManyRequests,
    ValidationFailed,
)
from chalicelib.ids import is_id
from chalicelib.journeys import texts
from chalicelib.observability import logger
from chalicelib.services.member_directory import MemberDirectory, e164

CODE_DIGITS = 6
CODE_LIFE = timedelta(minutes=10)
RESEND_AFTER = timedelta(seconds=60)
RATE_WINDOW = timedelta(hours=1)
MAX_CODES_PER_HOUR = 5
MAX_TRIES = 5
STATE_LIFE = timedelta(minutes=10)
_CODE = re.compile(r"[0-9]{6}")
_OAUTH_CODE = re.compile(r"[A-Za-z0-9_\-]{1,256}")
_STATE = re.compile(r"([0-9]{10})([0-9a-f]{16})([0-9a-f]{32})")


class WeChatNotConfigured(Conflict):
    code = "wechat_not_configured"


def _random_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def sign_state(key: bytes, store_id: str, expires: int, nonce: str) -> str:
    """WeChat's `state` (at most 128 characters of [A-Za-z0-9]): expiry, nonce and an HMAC binding them to the store."""
    signature = hmac.new(key, f"{store_id}|{expires}|{nonce}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{expires:010d}{nonce}{signature}"


def read_state(key: bytes, state: object, store_id: str, now: int) -> tuple[str, int]:
    """(nonce, expiry) of a state we signed for this store and that has not expired; 401 `invalid_state` else."""
    match = _STATE.fullmatch(state) if isinstance(state, str) else None
    if match is None or not isinstance(state, str):
        raise CodedUnauthorized("the sign-in state is missing or malformed; start again", "invalid_state")
    expires, nonce, _ = int(match.group(1)), match.group(2), match.group(3)
    if not hmac.compare_digest(sign_state(key, store_id, expires, nonce), state):
        raise CodedUnauthorized(
            "the sign-in state was not issued for this store; start again", "invalid_state"
        )
    if expires <= now:
        raise CodedUnauthorized("the sign-in state has expired; start again", "invalid_state")
    return nonce, expires


class MemberSessions:
    def __init__(
        self,
        stores: Any,
        directory: MemberDirectory,
        repo: MemberDirectoryRepository,
        tokens: Any,  # services/member_tokens.py MemberTokens
        lookup_hash: Callable[[str], str],
        key: Callable[[bytes | str], bytes],  # pii.LookupHasher.derived_key
        clock: Clock,
        *,
        sms: Any,  # a channel with `send(Contact, text, subject)`: channels/sms.py SnsSms
        wechat_credentials: Callable[[str], Any],
        oauth: Any,  # channels/wechat/oauth.py WeChatOAuth
        oauth_base: str,
        public_base: str,
        new_code: Callable[[], str] = _random_code,
    ) -> None:
        self._stores = stores
        self._directory = directory
        self._repo = repo
        self._tokens = tokens
        self._hash = lookup_hash
        self._key = key
        self._clock = clock
        self._sms = sms
        self._wechat_credentials = wechat_credentials
        self._oauth = oauth
        self._oauth_base = oauth_base
        self._public_base = public_base.rstrip("/")
        self._new_code = new_code

    # --- SMS code ---------------------------------------------------------------------------------------
    def start(self, store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        store = self._store(store_id)
        phone = e164(body.get("phone"))
        digest = self._hash(phone)
        answer = {
            "sent": True,
            "expires_in_seconds": int(CODE_LIFE.total_seconds()),
            "resend_after_seconds": int(RESEND_AFTER.total_seconds()),
        }
        for _ in range(3):
            now = self._clock.now().timestamp()
            current = self._repo.sign_in_code(store.chain_id, digest)
            if (
                current is not None
                and not current.used
                and current.tries < MAX_TRIES
                and now - current.issued_at < RESEND_AFTER.total_seconds()
            ):
                return answer  # a retry of the request that sent it: nothing new is sent
            recent = [t for t in (current.sent if current else ()) if now - t < RATE_WINDOW.total_seconds()]
            if len(recent) >= MAX_CODES_PER_HOUR:
                wait = int(RATE_WINDOW.total_seconds() - (now - min(recent))) + 1
                raise TooManyRequests(
                    f"{MAX_CODES_PER_HOUR} codes were sent to this number in the last hour; try again later",
                    "too_many_codes",
                    retry_after=wait,
                )
            code = self._new_code()
            state = SignInCode(
                code_hash=self._code_hash(store.chain_id, digest, now, code),
                issued_at=now,
                sent=(*recent, now),
                tries=0,
                used=False,
                version=None,
            )
            if self._repo.save_sign_in_code(
                store.chain_id,
                digest,
                state,
                expected=current.version if current else None,
                keep_until=int(now + RATE_WINDOW.total_seconds()),
            ):
                self._sms.send(Contact(phone=phone), self._code_text(store, code), subject=store.name)
                return answer
        raise ConcurrentUpdate()

    def verify(self, store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        store = self._store(store_id)
        phone = e164(body.get("phone"))
        code = body.get("code")
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise ValidationFailed("bad code", {"code": f"the {CODE_DIGITS}-digit code from the SMS"})
        digest = self._hash(phone)
        for _ in range(3):
            now = self._clock.now().timestamp()
            current = self._repo.sign_in_code(store.chain_id, digest)
            if current is None or current.used or now >= current.issued_at + CODE_LIFE.total_seconds():
                raise CodedUnauthorized(
                    "no valid code for this number: it expired, was already used, or none was sent; "
                    "ask for a new one",
                    "code_expired",
                )
            if current.tries >= MAX_TRIES:
                raise self._dead()
            keep = int(max(current.sent, default=now) + RATE_WINDOW.total_seconds())
            expected = self._code_hash(store.chain_id, digest, current.issued_at, code)
            if not hmac.compare_digest(expected, current.code_hash):
                tries = current.tries + 1
                wrong = dataclasses.replace(current, tries=tries)
                if not self._repo.save_sign_in_code(
                    store.chain_id, digest, wrong, expected=current.version, keep_until=keep
                ):
                    continue
                if tries >= MAX_TRIES:
                    raise self._dead()
                raise CodedUnauthorized("wrong code", "invalid_code", tries_left=MAX_TRIES - tries)
            # Find or create her before the code is spent: a failure here leaves the code for the retry.
            found = self._directory.find_or_create(store.chain_id, store.store_id, phone=phone)
            used = dataclasses.replace(current, used=True)
            if not self._repo.save_sign_in_code(
                store.chain_id, digest, used, expected=current.version, keep_until=keep
            ):
                continue  # another verify changed it first: re-read (used: 401)
            logger.info(
                "member signed in", extra={"chain_id": store.chain_id, "by": "sms", "new": found.created}
            )
            return self._session(store.chain_id, found.member_id)
        raise ConcurrentUpdate()

    # --- WeChat ----------------------------------------------------------------------------------------
    def oauth_url(self, store_id: str) -> dict[str, Any]:
        store = self._store(store_id)
        credentials = self._credentials(store)
        if not self._public_base:  # WeChat must be told where to send her back: an absolute URL
            raise WeChatNotConfigured("WeChat sign-in needs the public base URL (CHAIRSIDE_PUBLIC_BASE_URL)")
        now = int(self._clock.now().timestamp())
        expires = now + int(STATE_LIFE.total_seconds())
        state = sign_state(self._state_key(), store.store_id, expires, secrets.token_hex(8))
        redirect = f"{self._public_base}/v1/stores/{store.store_id}/wechat/oauth"
        return {
            "url": authorize_url(self._oauth_base, credentials.app_id, redirect, state),
            "state": state,
            "expires_at": _iso(expires),
        }

    def wechat(self, store_id: str, code: object, state: object) -> dict[str, Any]:
        store = self._store(store_id)
        if not isinstance(code, str) or not _OAUTH_CODE.fullmatch(code):
            raise ValidationFailed("bad code", {"code": "the code WeChat added to the redirect"})
        now = int(self._clock.now().timestamp())
        nonce, expires = read_state(self._state_key(), state, store.store_id, now)
        credentials = self._credentials(store)
        if not self._repo.use_oauth_state(nonce, expires):
            raise CodedUnauthorized("this sign-in was already used; start again", "invalid_state")
        try:
            openid = self._oauth.openid_for(credentials.app_id, credentials.app_secret, code)
        except OAuthCodeRejected as rejected:
            raise CodedUnauthorized(
                "WeChat did not accept the sign-in code (expired or already used); start again",
                "invalid_oauth_code",
                errcode=rejected.errcode,
            ) from None
        found = self._directory.find_or_create(store.chain_id, store.store_id, openid=openid)
        logger.info(
            "member signed in", extra={"chain_id": store.chain_id, "by": "wechat", "new": found.created}
        )
        return self._session(store.chain_id, found.member_id)

    def book_url(self, store_id: str, member_token: str) -> str:
        """The booking page with her token in the fragment (never sent to a server)."""
        return f"{self._public_base}/book/{store_id}#token={member_token}"

    # --- helpers -----------------------------------------------------------------------------------------
    def _store(self, store_id: str) -> StoreItem:
        store = self._stores.get(store_id) if is_id(store_id) else None
        if store is None:
            raise NotFound("no such store")
        return store

    def _credentials(self, store: StoreItem) -> Any:
        credentials = self._wechat_credentials(store.store_id)
        if credentials is None:
            raise WeChatNotConfigured("this store has no WeChat Official Account")
        return credentials

    def _session(self, chain_id: str, member_id: str) -> dict[str, Any]:
        token, expires = self._tokens.issue(chain_id, member_id)
        return {"member_token": token, "member_id": member_id, "expires_at": expires.isoformat()}

    def _code_hash(self, chain_id: str, digest: str, issued_at: float, code: str) -> str:
        text = f"{chain_id}|{digest}|{issued_at!r}|{code}"
        return hmac.new(self._key("sign-in-codes"), text.encode(), hashlib.sha256).hexdigest()

    def _state_key(self) -> bytes:
        return self._key("wechat-oauth-state")

    def _code_text(self, store: StoreItem, code: str) -> str:
        locale = texts.supported_locale(store.locale)
        template = texts.session_text("sign_in_code", locale)
        minutes = int(CODE_LIFE.total_seconds() // 60)
        return template.format(store=store.name, code=code, minutes=minutes)

    @staticmethod
    def _dead() -> TooManyRequests:
        return TooManyRequests(
            f"{MAX_TRIES} wrong codes were entered: this code no longer works; ask for a new one",
            "too_many_tries",
        )


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
