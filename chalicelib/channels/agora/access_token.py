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
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import zlib
from dataclasses import dataclass

VERSION = "007"
VERSION_LENGTH = 3

# Service types and privileges (AccessToken2.py).
SERVICE_RTC = 1
SERVICE_RTM = 2
SERVICE_STREAMING = 3
SERVICE_FPA = 4
SERVICE_CHAT = 5
SERVICE_FCDN = 6
SERVICE_APAAS = 7
SERVICE_EDUCATION = SERVICE_APAAS
SERVICE_RTM2 = 8

PRIVILEGE_RTC_JOIN_CHANNEL = 1
PRIVILEGE_RTC_PUBLISH_AUDIO_STREAM = 2
PRIVILEGE_RTC_PUBLISH_VIDEO_STREAM = 3
PRIVILEGE_RTC_PUBLISH_DATA_STREAM = 4
PRIVILEGE_RTM_LOGIN = 1
PRIVILEGE_FPA_LOGIN = 1
PRIVILEGE_CHAT_USER = 1
PRIVILEGE_CHAT_APP = 2
PRIVILEGE_STREAMING_PUBLISH_MIX_STREAM = 1
PRIVILEGE_STREAMING_PUBLISH_RAW_STREAM = 2
PRIVILEGE_FCDN_PUBLISH = 1
PRIVILEGE_FCDN_PLAY = 2
PRIVILEGE_APAAS_ROOM_USER = PRIVILEGE_EDUCATION_ROOM_USER = 1
PRIVILEGE_APAAS_USER = PRIVILEGE_EDUCATION_USER = 2
PRIVILEGE_APAAS_APP = PRIVILEGE_EDUCATION_APP = 3
PRIVILEGE_RTM2_LOGIN = 1

# A token is a few hundred bytes; refuse to inflate anything much larger (a parsed token may be hostile).
_MAX_DECOMPRESSED = 64 * 1024


# --- packing ------------------------------------------------------------------------------------


def _u16(value: int) -> bytes:
    try:
        return struct.pack("<H", value)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit in an unsigned 16-bit field") from exc


def _i16(value: int) -> bytes:
    try:
        return struct.pack("<h", value)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit in a signed 16-bit field") from exc


def _u32(value: int) -> bytes:
    try:
        return struct.pack("<I", value)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit in an unsigned 32-bit field") from exc


def _string(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return _u16(len(raw)) + raw


class _Reader:
    """Reads the packed fields back, refusing to run past the end."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, count: int) -> bytes:
        end = self._pos + count
        if end > len(self._data):
            raise ValueError("token is truncated")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def u16(self) -> int:
        return struct.unpack("<H", self._take(2))[0]

    def i16(self) -> int:
        return struct.unpack("<h", self._take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self._take(4))[0]

    def raw_string(self) -> bytes:
        return self._take(self.u16())

    def string(self) -> str:
        try:
            return self.raw_string().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("token holds a string that is not UTF-8") from exc

    def rest(self) -> bytes:
        return self._data[self._pos :]

    @property
    def exhausted(self) -> bool:
        return self._pos == len(self._data)


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
        body = b"".join(_u16(key) + _u32(self.privileges[key]) for key in sorted(self.privileges))
        return _u16(self.service_type) + _u16(len(self.privileges)) + body + self._pack_fields()

    def _pack_fields(self) -> bytes:
        return b""

    def _unpack_fields(self, reader: _Reader) -> None:
        return None

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.privileges == other.privileges and all(  # type: ignore[attr-defined]
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


class _ChannelAccountService(Service):
    _fields = ("channel_name", "account")

    def __init__(self, channel_name: str = "", account: int | str = "") -> None:
        super().__init__()
        self.channel_name = channel_name
        self.account = _account_field(account)

    def _pack_fields(self) -> bytes:
        return _string(self.channel_name) + _string(self.account)

    def _unpack_fields(self, reader: _Reader) -> None:
        self.channel_name = reader.string()
        self.account = reader.string()


class ServiceRtc(_ChannelAccountService):
    service_type = SERVICE_RTC

    def __init__(self, channel_name: str = "", uid: int | str = 0) -> None:
        super().__init__(channel_name, uid)

    @property
    def uid(self) -> str:
        """The packed uid/account ("" = any user)."""
        return self.account


class ServiceStreaming(_ChannelAccountService):
    service_type = SERVICE_STREAMING


class ServiceFCdn(_ChannelAccountService):
    service_type = SERVICE_FCDN


class _UserService(Service):
    _fields = ("user_id",)

    def __init__(self, user_id: str = "") -> None:
        super().__init__()
        self.user_id = user_id

    def _pack_fields(self) -> bytes:
        return _string(self.user_id)

    def _unpack_fields(self, reader: _Reader) -> None:
        self.user_id = reader.string()


class ServiceRtm(_UserService):
    service_type = SERVICE_RTM


class ServiceFpa(Service):
    service_type = SERVICE_FPA


class ServiceChat(_UserService):
    """Chat: an empty user_id with PRIVILEGE_CHAT_APP is an app token; a user_id with PRIVILEGE_CHAT_USER a user token."""

    service_type = SERVICE_CHAT


class ServiceApaas(Service):
    """Type 7 (called ServiceEducation in older builders)."""

    service_type = SERVICE_APAAS
    _fields = ("room_uuid", "user_uuid", "role")

    def __init__(self, room_uuid: str = "", user_uuid: str = "", role: int = -1) -> None:
        super().__init__()
        self.room_uuid = room_uuid
        self.user_uuid = user_uuid
        self.role = role

    def _pack_fields(self) -> bytes:
        return _string(self.room_uuid) + _string(self.user_uuid) + _i16(self.role)

    def _unpack_fields(self, reader: _Reader) -> None:
        self.room_uuid = reader.string()
        self.user_uuid = reader.string()
        self.role = reader.i16()


ServiceEducation = ServiceApaas


class ServiceRtm2(Service):
    """RTM 2 login with resource permissions: {resource type: {permission type: [resource, ...]}}."""

    service_type = SERVICE_RTM2
    _fields = ("user_id", "permissions")

    def __init__(self, user_id: str = "", permissions: dict[int, dict[int, list[str]]] | None = None) -> None:
        super().__init__()
        self.user_id = user_id
        self.permissions: dict[int, dict[int, list[str]]] = permissions if permissions is not None else {}

    def _pack_fields(self) -> bytes:
        out = [_string(self.user_id), _u16(len(self.permissions))]
        for resource_type in sorted(self.permissions):
            by_permission = self.permissions[resource_type]
            out.append(_u16(resource_type) + _u16(len(by_permission)))
            for permission_type in sorted(by_permission):
                resources = by_permission[permission_type]
                out.append(_u16(permission_type) + _u16(len(resources)))
                out.extend(_string(resource) for resource in resources)
        return b"".join(out)

    def _unpack_fields(self, reader: _Reader) -> None:
        self.user_id = reader.string()
        self.permissions = {}
        for _ in range(reader.u16()):
            resource_type = reader.u16()
            by_permission = self.permissions.setdefault(resource_type, {})
            for _ in range(reader.u16()):
                permission_type = reader.u16()
                by_permission[permission_type] = [reader.string() for _ in range(reader.u16())]


SERVICE_CLASSES: dict[int, type[Service]] = {
    SERVICE_RTC: ServiceRtc,
    SERVICE_RTM: ServiceRtm,
    SERVICE_STREAMING: ServiceStreaming,
    SERVICE_FPA: ServiceFpa,
    SERVICE_CHAT: ServiceChat,
    SERVICE_FCDN: ServiceFCdn,
    SERVICE_APAAS: ServiceApaas,
    SERVICE_RTM2: ServiceRtm2,
}


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


def _signing_key(app_certificate: str, issue_ts: int, salt: int) -> bytes:
    key = hmac.new(_u32(issue_ts), app_certificate.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(_u32(salt), key, hashlib.sha256).digest()


@dataclass(frozen=True)
class ParsedToken:
    """A decoded AccessToken2.

    `services` are the known services in token order; like Agora's parser, parsing stops at the first service
    type it does not know (its length cannot be known), so `complete` is False then. `signing_info` is the exact
    signed bytes, so `verify` works either way.
    """

    app_id: str
    issue_ts: int
    expire: int
    salt: int
    services: tuple[Service, ...]
    signature: bytes
    signing_info: bytes
    complete: bool = True

    def get_services(self, service_type: int) -> list[Service]:
        return [service for service in self.services if service.service_type == service_type]

    def verify(self, app_certificate: str) -> bool:
        """True when the signature was made with this certificate (constant-time compare)."""
        if not is_hex32(app_certificate) or not self.signature:
            return False
        expected = hmac.new(
            _signing_key(app_certificate, self.issue_ts, self.salt), self.signing_info, hashlib.sha256
        ).digest()
        return hmac.compare_digest(expected, self.signature)

    @property
    def expires_at(self) -> int:
        """Unix seconds after which the token itself is no longer valid."""
        return self.issue_ts + self.expire

    def privilege_expires_at(self, service_type: int, privilege: int) -> int | None:
        """Unix seconds when the first service of that type loses the privilege; None if it never had it."""
        for service in self.get_services(service_type):
            if privilege in service.privileges:
                return self.issue_ts + service.privileges[privilege]
            return None
        return None


def parse_token(token: str) -> ParsedToken:
    """Decode a "007" token. Raises ValueError on anything malformed. Does not check the signature."""
    if not isinstance(token, str) or not token.startswith(VERSION):
        raise ValueError("not an AccessToken2 (version 007) token")
    try:
        compressed = base64.b64decode(token[VERSION_LENGTH:], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("token is not valid base64") from exc
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, _MAX_DECOMPRESSED)
    except zlib.error as exc:
        raise ValueError("token is not zlib data") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError("token is truncated or too large")

    reader = _Reader(data)
    signature = reader.raw_string()
    signing_info = reader.rest()
    app_id = reader.string()
    issue_ts = reader.u32()
    expire = reader.u32()
    salt = reader.u32()
    services: list[Service] = []
    complete = True
    for _ in range(reader.u16()):
        service_type = reader.u16()
        cls = SERVICE_CLASSES.get(service_type)
        if cls is None:
            complete = False
            break
        service = cls()
        for _ in range(reader.u16()):
            privilege = reader.u16()
            service.privileges[privilege] = reader.u32()
        service._unpack_fields(reader)
        services.append(service)
    if complete and not reader.exhausted:
        raise ValueError("token has trailing bytes")
    return ParsedToken(
        app_id=app_id,
        issue_ts=issue_ts,
        expire=expire,
        salt=salt,
        services=tuple(services),
        signature=signature,
        signing_info=signing_info,
        complete=complete,
    )


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
            _string(self.app_id)
            + _u32(self.issue_ts)
            + _u32(self.expire)
            + _u32(self.salt)
            + _u16(len(services))
            + b"".join(service.pack() for service in services)
        )
        key = _signing_key(self.app_certificate, self.issue_ts, self.salt)
        signature = hmac.new(key, signing_info, hashlib.sha256).digest()
        return VERSION + base64.b64encode(zlib.compress(_string(signature) + signing_info)).decode("ascii")

    @classmethod
    def parse(cls, token: str) -> ParsedToken:
        """Decode a token (see `parse_token`)."""
        return parse_token(token)


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


def build_chat_user_token(
    app_id: str, app_certificate: str, user_id: str, expire: int, *, issue_ts: int, salt: int
) -> str:
    """ChatTokenBuilder2.build_user_token: what a Chat SDK client logs in with."""
    service = ServiceChat(user_id).add_privilege(PRIVILEGE_CHAT_USER, expire)
    token = AccessToken2(app_id, app_certificate, issue_ts=issue_ts, expire=expire, salt=salt)
    return token.add_service(service).build()
