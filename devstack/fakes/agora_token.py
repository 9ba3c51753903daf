"""The rest of Agora's AccessToken2 (chalicelib/channels/agora/access_token.py builds the tokens Chairside
issues): reading a token back, as the fake Agora Chat server (agora_chat.py) and the tests do, Agora's other
service types and the Chat user token builder.

`parse_token` decodes a "007" token the way Agora's AccessToken2.parse does; `ParsedToken.verify` checks its
signature. The other services (RTM, FPA, Streaming, FCDN, APaaS/Education, RTM2) and `build_chat_user_token`
are here so tokens made by any of Agora's builders parse, and so the format is checked against every published
vector (tests/unit/test_agora_token.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import zlib
from dataclasses import dataclass

from chalicelib.channels.agora.access_token import (
    SERVICE_CHAT,
    SERVICE_RTC,
    VERSION,
    AccessToken2,
    ChannelAccountService,
    Service,
    ServiceChat,
    ServiceRtc,
    UserService,
    is_hex32,
    pack_string,
    pack_u16,
    signing_key,
)

VERSION_LENGTH = 3

# Service types and privileges (AccessToken2.py) beyond those Chairside issues.
SERVICE_RTM = 2
SERVICE_STREAMING = 3
SERVICE_FPA = 4
SERVICE_FCDN = 6
SERVICE_APAAS = 7
SERVICE_EDUCATION = SERVICE_APAAS
SERVICE_RTM2 = 8

PRIVILEGE_RTM_LOGIN = 1
PRIVILEGE_FPA_LOGIN = 1
PRIVILEGE_CHAT_USER = 1
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


def _i16(value: int) -> bytes:
    try:
        return struct.pack("<h", value)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit in a signed 16-bit field") from exc


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


# --- Agora's other services -----------------------------------------------------------------------


class ServiceStreaming(ChannelAccountService):
    service_type = SERVICE_STREAMING


class ServiceFCdn(ChannelAccountService):
    service_type = SERVICE_FCDN


class ServiceRtm(UserService):
    service_type = SERVICE_RTM


class ServiceFpa(Service):
    service_type = SERVICE_FPA


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
        return pack_string(self.room_uuid) + pack_string(self.user_uuid) + _i16(self.role)


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
        out = [pack_string(self.user_id), pack_u16(len(self.permissions))]
        for resource_type in sorted(self.permissions):
            by_permission = self.permissions[resource_type]
            out.append(pack_u16(resource_type) + pack_u16(len(by_permission)))
            for permission_type in sorted(by_permission):
                resources = by_permission[permission_type]
                out.append(pack_u16(permission_type) + pack_u16(len(resources)))
                out.extend(pack_string(resource) for resource in resources)
        return b"".join(out)


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


def build_chat_user_token(
    app_id: str, app_certificate: str, user_id: str, expire: int, *, issue_ts: int, salt: int
) -> str:
    """ChatTokenBuilder2.build_user_token: what a Chat SDK client logs in with."""
    service = ServiceChat(user_id).add_privilege(PRIVILEGE_CHAT_USER, expire)
    token = AccessToken2(app_id, app_certificate, issue_ts=issue_ts, expire=expire, salt=salt)
    return token.add_service(service).build()


# --- parsing --------------------------------------------------------------------------------------


def _read_fields(service: Service, reader: _Reader) -> None:
    """A service's own fields, after its privileges (the inverse of its `_pack_fields`)."""
    if isinstance(service, ChannelAccountService):
        service.channel_name = reader.string()
        service.account = reader.string()
    elif isinstance(service, UserService):
        service.user_id = reader.string()
    elif isinstance(service, ServiceApaas):
        service.room_uuid = reader.string()
        service.user_uuid = reader.string()
        service.role = reader.i16()
    elif isinstance(service, ServiceRtm2):
        service.user_id = reader.string()
        service.permissions = {}
        for _ in range(reader.u16()):
            resource_type = reader.u16()
            by_permission = service.permissions.setdefault(resource_type, {})
            for _ in range(reader.u16()):
                permission_type = reader.u16()
                by_permission[permission_type] = [reader.string() for _ in range(reader.u16())]


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
            signing_key(app_certificate, self.issue_ts, self.salt), self.signing_info, hashlib.sha256
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
        _read_fields(service, reader)
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
