"""WeChat's encrypted message mode ("安全模式"): AES-256-CBC under the account's EncodingAESKey.

As WeChat documents it (Official Account "Message encryption and decryption"):

- EncodingAESKey is 43 characters; AESKey = base64decode(EncodingAESKey + "="), 32 bytes; IV = AESKey[:16].
- plaintext = random(16 bytes) + msg_len (4 bytes, big-endian) + msg + appid, PKCS#7-padded to a multiple
  of 32 bytes (WeChat's block size for the padding, not AES's 16), encrypted with AES-256-CBC, base64.
- the POST body is `<xml><ToUserName/><Encrypt>base64</Encrypt></xml>`; the query carries `encrypt_type=aes`,
  `msg_signature`, `timestamp` and `nonce`, where
  msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt]))).
- the service answers "success" (no passive reply) and replies through the customer-service API.

Unlike the plaintext `signature` (token, timestamp, nonce only), msg_signature covers the message: a body
cannot be swapped under a captured query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from chalicelib.errors import Unauthorized, ValidationFailed

BLOCK = 32  # WeChat pads to 32 bytes
_KEY_ALPHABET = re.compile(r"[A-Za-z0-9+/]{43}")
_ENCRYPT = re.compile(
    rb"<Encrypt>\s*(?:<!\[CDATA\[([A-Za-z0-9+/=\s]*)\]\]>|([A-Za-z0-9+/=\s]*))\s*</Encrypt>"
)
MAX_ENCRYPT_CHARS = 128 * 1024


def valid_encoding_aes_key(value: object) -> bool:
    return isinstance(value, str) and bool(_KEY_ALPHABET.fullmatch(value))


def aes_key(encoding_aes_key: str) -> bytes:
    if not valid_encoding_aes_key(encoding_aes_key):
        raise ValueError("an EncodingAESKey is 43 characters of base64")
    return base64.b64decode(encoding_aes_key + "=")


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    joined = "".join(sorted([token, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()  # noqa: S324 - WeChat's signature scheme


def verify_msg_signature(token: str, signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
    if (
        not all(isinstance(v, str) for v in (token, signature, timestamp, nonce, encrypt))
        or not token
        or not signature
    ):
        return False
    expected = msg_signature(token, timestamp, nonce, encrypt)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("utf-8"))


def encrypted_part(body: bytes) -> str:
    """The <Encrypt> text of an encrypted-mode POST body. Raises ValidationFailed.

    A regular expression, not an XML parser: the element is base64 (CDATA or not) and the rest of the
    envelope is not trusted or used before the signature over it is checked."""
    if not isinstance(body, bytes | bytearray) or len(body) > MAX_ENCRYPT_CHARS + 1024:
        raise ValidationFailed("the encrypted WeChat body is not valid", {"Encrypt": "invalid"})
    found = _ENCRYPT.search(bytes(body))
    if found is None:
        raise ValidationFailed("the encrypted WeChat body has no Encrypt element", {"Encrypt": "missing"})
    value = (found.group(1) if found.group(1) is not None else found.group(2)).decode("ascii")
    value = "".join(value.split())
    if not value:
        raise ValidationFailed(
            "the encrypted WeChat body has an empty Encrypt element", {"Encrypt": "missing"}
        )
    return value


def decrypt(encoding_aes_key: str, encrypt: str, app_id: str) -> bytes:
    """The message XML inside `encrypt`. ValidationFailed when it does not decrypt to WeChat's layout;
    Unauthorized when it names another app id."""
    key = aes_key(encoding_aes_key)
    try:
        data = base64.b64decode(encrypt, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("Encrypt is not base64", {"Encrypt": "invalid"}) from None
    if not data or len(data) % 16:
        raise ValidationFailed("Encrypt is not AES-CBC ciphertext", {"Encrypt": "invalid"})
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= BLOCK or padded[-pad:] != bytes([pad]) * pad:
        raise ValidationFailed("Encrypt does not decrypt (bad padding)", {"Encrypt": "invalid"})
    plain = padded[:-pad]
    if len(plain) < 20:
        raise ValidationFailed("Encrypt does not decrypt (too short)", {"Encrypt": "invalid"})
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise ValidationFailed("Encrypt does not decrypt (bad length)", {"Encrypt": "invalid"})
    message, sender_app = plain[20 : 20 + length], plain[20 + length :]
    if not hmac.compare_digest(sender_app, app_id.encode("utf-8")):
        raise Unauthorized("the encrypted message is for another WeChat app")
    return message
