"""Issue 12: no log line keeps a signed query string (`signature`, `msg_signature`, `nonce`, `timestamp`)."""

from __future__ import annotations

import logging

import pytest

from chalicelib.pii import mask_text

LINE = (
    '127.0.0.1 - - [22/Nov/2026 10:00:00] "POST /v1/channels/wechat/sh-jingan?signature=4f1e0c9a77&'
    'timestamp=1795000000&nonce=1234567&encrypt_type=aes&msg_signature=9ab8c7d6e5 HTTP/1.1" 200 -'
)


def test_the_request_line_keeps_its_path_and_loses_every_signed_parameter():
    masked = mask_text(LINE)

    assert masked == (
        '127.0.0.1 - - [22/Nov/2026 10:00:00] "POST /v1/channels/wechat/sh-jingan?signature=***&'
        'timestamp=***&nonce=***&encrypt_type=aes&msg_signature=*** HTTP/1.1" 200 -'
    )


@pytest.mark.parametrize(
    "url",
    [
        "/v1/channels/wechat/x?nonce=abc",
        "/v1/channels/wechat/x?echostr=e&Signature=ABC",
        "https://api.example/v1/channels/wechat/x?timestamp=1795000000#frag",
        "GET /v1/channels/wechat/x?a=1&signature=abc&b=2",
    ],
)
def test_any_signed_parameter_anywhere_in_a_query_is_redacted(url):
    masked = mask_text(url)

    assert "abc" not in masked.lower().replace("***", "") and "1795000000" not in masked
    assert "=***" in masked


def test_words_that_are_not_query_parameters_are_left_alone():
    text = "the timestamp=later wording and a signature check failed"
    assert mask_text(text) == text


def test_a_chalicelib_log_record_with_a_signed_url_is_redacted(caplog):
    import chalicelib.observability  # noqa: F401 - installs the masking of every log record of the process

    with caplog.at_level(logging.INFO):
        logging.getLogger("chairside.test").info(
            "request %s", "/v1/channels/wechat/x?signature=deadbeef&nonce=42"
        )

    assert "deadbeef" not in caplog.text and "nonce=***" in caplog.text
