"""WeChat's encrypted mode: chalicelib's reading of the format against the fake WeChat server's own."""

from __future__ import annotations

import base64

import pytest

from chalicelib.channels.wechat import crypto
from chalicelib.errors import Unauthorized, ValidationFailed
from devstack.fakes.wechat_api import FakeWeChatAPI, wechat_encrypt

KEY = base64.b64encode(bytes(range(32))).decode()[:43]
XML = "<xml><FromUserName><![CDATA[o-1]]></FromUserName><Content><![CDATA[头发有点干😀]]></Content></xml>"


def test_a_callback_the_fake_encrypts_is_verified_and_decrypted():
    params, body = FakeWeChatAPI(app_id="wx-app").callback("tok", XML, encoding_aes_key=KEY)
    encrypted = crypto.encrypted_part(body)

    assert params["encrypt_type"] == "aes"
    assert crypto.verify_msg_signature(
        "tok", params["msg_signature"], params["timestamp"], params["nonce"], encrypted
    )
    assert not crypto.verify_msg_signature(
        "other", params["msg_signature"], params["timestamp"], params["nonce"], encrypted
    )
    assert crypto.decrypt(KEY, encrypted, "wx-app") == XML.encode()


def test_another_apps_message_is_unauthorized():
    with pytest.raises(Unauthorized):
        crypto.decrypt(KEY, wechat_encrypt(KEY, b"<xml/>", "wx-other"), "wx-app")


@pytest.mark.parametrize(
    "encrypted",
    [
        "",
        "not base64!",
        "AAAA",
        base64.b64encode(b"x" * 32).decode(),
        base64.b64encode(b"\x00" * 48).decode(),
    ],
)
def test_junk_ciphertext_is_a_validation_failure(encrypted):
    with pytest.raises(ValidationFailed):
        crypto.decrypt(KEY, encrypted, "wx-app")


@pytest.mark.parametrize(
    "body", [b"", b"<xml></xml>", b"<xml><Encrypt></Encrypt></xml>", b"<xml><Encrypt>a<b</Encrypt>"]
)
def test_a_body_without_an_encrypt_element_is_a_validation_failure(body):
    with pytest.raises(ValidationFailed):
        crypto.encrypted_part(body)


@pytest.mark.parametrize("key", ["", "short", KEY + "A", KEY[:-1] + "!", None, 42])
def test_encoding_aes_keys_are_43_base64_characters(key):
    assert not crypto.valid_encoding_aes_key(key)
    assert crypto.valid_encoding_aes_key(KEY)
