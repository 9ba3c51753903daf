"""WeChat's JS-SDK signature (channels/wechat/jssdk.py) against the example in WeChat's documentation
(JS-SDK 说明文档, 附录1)."""

from chalicelib.channels.wechat.jssdk import page_url, signature

TICKET = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"


def test_the_documented_example() -> None:
    assert (
        signature(TICKET, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value")
        == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    )


def test_the_fragment_is_not_signed() -> None:
    url = "http://mp.weixin.qq.com?params=value"
    assert page_url(url + "#token=abc#more") == url
    assert signature(TICKET, "Wm3WZYTPz0wzccnW", 1414587457, url + "#token=abc") == signature(
        TICKET, "Wm3WZYTPz0wzccnW", 1414587457, url
    )
