"""Agora AccessToken2 (version "007").

The wire format, as Agora's own token builders write it (AgoraIO/Tools, DynamicKey/AgoraDynamicKey/python3/src/
AccessToken2.py, RtcTokenBuilder2.py, ChatTokenBuilder2.py):

    token        = "007" + base64( zlib( pack_string(signature) + signing_info ) )
    signing_info = pack_string(app_id) + u32(issue_ts) + u32(expire) + u32(salt) + u16(service count)
                   + every service, sorted by service type (stable, so services of one type keep the order they
                     were added in; Agora's older builders packed in insertion order, which is the same whenever
                     services are added in type order, as all the builders do):
                     u16(type) + u16(privilege count) + (u16(privilege) + u32(expire)) sorted by privilege
                     + the service's own fields (strings are u16 length + UTF-8 bytes)
    signing key  = HMAC-SHA256(key=u32(salt), msg=HMAC-SHA256(key=u32(issue_ts), msg=app_certificate))
    signature    = HMAC-SHA256(key=signing key, msg=signing_info)

All integers are little-endian. `expire` values are seconds counted from `issue_ts`. Nothing here reads the
clock or draws randomness on its own: `issue_ts` and `salt` are given (`new_salt()` draws one the way Agora does).

Only what Chairside issues is here: the RTC token of a video consult (`build_rtc_token`) and the Chat app token
the REST client authenticates with (`build_chat_app_token`). Reading tokens back, Agora's other services and the
Chat user token belong to the fake Agora server that checks these tokens and to the tests
(devstack/fakes/agora_token.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import zlib

VERSION = "007"

# Service types and privileges (AccessToken2.py) of the tokens Chairside issues.
SERVICE_RTC = 1
SERVICE_CHAT = 5

PRIVILEGE_RTC_JOIN_CHANNEL = 1
PRIVILEGE_RTC_PUBLISH_AUDIO_STREAM = 2
PRIVILEGE_RTC_PUBLISH_VIDEO_STREAM = 3
PRIVILEGE_RTC_PUBLISH_DATA_STREAM = 4
PRIVILEGE_CHAT_APP = 2


# --- packing ------------------------------------------------------------------------------------


def pack_u16(value: int) -> bytes:
    try:
        return struct.pack("<H", value)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit in an unsigned 16-bit field") from exc


def pack_u32(value: int) -> bytes:
    try:
        return struct.pack("<I", value)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit in an unsigned 32-bit field") from exc


def pack_string(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return pack_u16(len(raw)) + raw


# --- services -----------------------------------------------------------------------------------


class Service:
    """A service and its privileges (privilege -> expire, seconds from issue_ts)."""

    service_type = 0
    _fields: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.privileges: dict[int, int] = {}

    def add_privilege(self, privilege: int, expire: int) -> Service:
        self.privileges[privilege] = expire
        return self

    def pack(self) -> bytes:
        body = b"".join(pack_u16(key) + pack_u32(self.privileges[key]) for key in sorted(self.privileges))
        return pack_u16(self.service_type) + pack_u16(len(self.privileges)) + body + self._pack_fields()

    def _pack_fields(self) -> bytes:
        return b""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.privileges == other.privileges and all(
            getattr(self, name) == getattr(other, name) for name in self._fields
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = "".join(f", {name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}(privileges={self.privileges!r}{fields})"


def _account_field(uid: int | str) -> str:
    # Agora's rule: the uid 0 means "any user" and is packed as the empty string; any other int is packed
    # as its decimal form and a str account as itself (so the account "0" stays "0").
    if uid == 0:
        return ""
    return uid if isinstance(uid, str) else str(uid)


class ChannelAccountService(Service):
    """A service packed as channel name + account (RTC; also Streaming and FCDN)."""

    _fields = ("channel_name", "account")

    def __init__(self, channel_name: str = "", account: int | str = "") -> None:
        super().__init__()
        self.channel_name = channel_name
        self.account = _account_field(account)

    def _pack_fields(self) -> bytes:
        return pack_string(self.channel_name) + pack_string(self.account)


class ServiceRtc(ChannelAccountService):
    service_type = SERVICE_RTC

    def __init__(self, channel_name: str = "", uid: int | str = 0) -> None:
        super().__init__(channel_name, uid)

    @property
    def uid(self) -> str:
        """The packed uid/account ("" = any user)."""
        return self.account


class UserService(Service):
    """A service packed as one user id (Chat; also RTM)."""

    _fields = ("user_id",)

    def __init__(self, user_id: str = "") -> None:
        super().__init__()
        self.user_id = user_id

    def _pack_fields(self) -> bytes:
        return pack_string(self.user_id)


class ServiceChat(UserService):
    """Chat: an empty user_id with PRIVILEGE_CHAT_APP is an app token; a user_id with PRIVILEGE_CHAT_USER a user token."""

    service_type = SERVICE_CHAT


# --- the token ----------------------------------------------------------------------------------


def new_salt() -> int:
    """A salt drawn the way Agora's builders draw it (1..99999999, from the OS's CSPRNG)."""
    return secrets.SystemRandom().randint(1, 99999999)


def is_hex32(value: object) -> bool:
    """True for a 32-character hex string (the shape of an Agora app id and app certificate)."""
    if not isinstance(value, str) or len(value) != 32:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def signing_key(app_certificate: str, issue_ts: int, salt: int) -> bytes:
    key = hmac.new(pack_u32(issue_ts), app_certificate.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(pack_u32(salt), key, hashlib.sha256).digest()


class AccessToken2:
    """Builds an AccessToken2. `issue_ts` is Unix seconds, `expire` seconds from issue_ts, `salt` a u32."""

    def __init__(self, app_id: str, app_certificate: str, issue_ts: int, expire: int, salt: int) -> None:
        self.app_id = app_id
        self.app_certificate = app_certificate
        self.issue_ts = issue_ts
        self.expire = expire
        self.salt = salt
        self.services: list[Service] = []

    def add_service(self, service: Service) -> AccessToken2:
        # As Agora's current builder: services of the same type accumulate (nothing is replaced).
        self.services.append(service)
        return self

    def build(self) -> str:
        if not is_hex32(self.app_id):
            raise ValueError("app_id must be 32 hex characters")
        if not is_hex32(self.app_certificate):
            raise ValueError("app_certificate must be 32 hex characters")
        if not self.services:
            raise ValueError("a token needs at least one service")
        # Packed in service-type order; services of one type keep the order they were added in (stable sort).
        services = sorted(self.services, key=lambda service: service.service_type)
        signing_info = (
            pack_string(self.app_id)
            + pack_u32(self.issue_ts)
            + pack_u32(self.expire)
            + pack_u32(self.salt)
            + pack_u16(len(services))
            + b"".join(service.pack() for service in services)
        )
        key = signing_key(self.app_certificate, self.issue_ts, self.salt)
        signature = hmac.new(key, signing_info, hashlib.sha256).digest()
        return VERSION + base64.b64encode(zlib.compress(pack_string(signature) + signing_info)).decode(
            "ascii"
        )


# --- builders (RtcTokenBuilder2 / ChatTokenBuilder2) ------------------------------------------------


def build_rtc_token(
    app_id: str,
    app_certificate: str,
    channel_name: str,
    uid: int | str,
    role: str,
    token_expire: int,
    privilege_expire: int,
    *,
    issue_ts: int,
    salt: int,
) -> str:
    """RtcTokenBuilder2.build_token_with_uid (int uid) / build_token_with_user_account (str account).

    role "publisher" grants join + publish audio/video/data; "subscriber" grants join only.
    """
    if role not in ("publisher", "subscriber"):
        raise ValueError("role must be 'publisher' or 'subscriber'")
    if isinstance(uid, bool) or not isinstance(uid, int | str):
        raise ValueError("uid must be an int or a str account")
    service = ServiceRtc(channel_name, uid)
    service.add_privilege(PRIVILEGE_RTC_JOIN_CHANNEL, privilege_expire)
    if role == "publisher":
        service.add_privilege(PRIVILEGE_RTC_PUBLISH_AUDIO_STREAM, privilege_expire)
        service.add_privilege(PRIVILEGE_RTC_PUBLISH_VIDEO_STREAM, privilege_expire)
        service.add_privilege(PRIVILEGE_RTC_PUBLISH_DATA_STREAM, privilege_expire)
    token = AccessToken2(app_id, app_certificate, issue_ts=issue_ts, expire=token_expire, salt=salt)
    return token.add_service(service).build()


def build_chat_app_token(app_id: str, app_certificate: str, expire: int, *, issue_ts: int, salt: int) -> str:
    """ChatTokenBuilder2.build_app_token: the token the Chat REST API takes as `Authorization: Bearer`."""
    service = ServiceChat().add_privilege(PRIVILEGE_CHAT_APP, expire)
    token = AccessToken2(app_id, app_certificate, issue_ts=issue_ts, expire=expire, salt=salt)
    return token.add_service(service).build()
