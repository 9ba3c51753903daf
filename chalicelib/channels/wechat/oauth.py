"""WeChat Official Account web authorization ("网页授权"), scope `snsapi_base`: the member's openid, silently.

1. The page sends her browser to `<open.weixin.qq.com>/connect/oauth2/authorize?appid=APPID&redirect_uri=URI
   &response_type=code&scope=snsapi_base&state=STATE#wechat_redirect` (`authorize_url`).
2. WeChat redirects to `URI?code=CODE&state=STATE`; the code works once, for five minutes.
3. `GET <api.weixin.qq.com>/sns/oauth2/access_token?appid=APPID&secret=SECRET&code=CODE
   &grant_type=authorization_code` answers `{access_token, expires_in, refresh_token, openid, scope}`, or
   `{errcode, errmsg}` (40029 invalid code, 40163 code been used, always with HTTP 200) (`openid_for`).

Only the openid is kept: the user access token of snsapi_base reads nothing more, so it is dropped.
"""

from __future__ import annotations

import json
import urllib.parse

from chalicelib.channels.http import ProviderHttp, shared_http

TOKEN_PATH = "/sns/oauth2/access_token"  # noqa: S105 - a path, not a password
AUTHORIZE_PATH = "/connect/oauth2/authorize"
# The code is bad: invalid (wrong, expired, or another app's), already used, or expired.
REJECTED_CODES = frozenset({40029, 40163, 42003})


class OAuthCodeRejected(Exception):
    """WeChat refused the code (the member's sign-in cannot go on with it); `errcode` says why."""

    def __init__(self, errcode: int) -> None:
        super().__init__(f"WeChat refused the OAuth code ({errcode})")
        self.errcode = errcode


class OAuthUnavailable(Exception):
    """WeChat did not answer usefully (network, HTTP error, system busy, our credentials): try again later."""


def authorize_url(base_url: str, app_id: str, redirect_uri: str, state: str) -> str:
    query = urllib.parse.urlencode(
        {
            "appid": app_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    return f"{base_url.rstrip('/')}{AUTHORIZE_PATH}?{query}#wechat_redirect"


class WeChatOAuth:
    def __init__(self, base_url: str, http: ProviderHttp | None = None, timeout: float = 5) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("https", "http"):
            raise ValueError("the WeChat API base must be an http(s) URL")
        self._base = base_url.rstrip("/")
        self._http = http or shared_http()
        self._timeout = timeout

    def openid_for(self, app_id: str, app_secret: str, code: str) -> str:
        query = urllib.parse.urlencode(
            {"appid": app_id, "secret": app_secret, "code": code, "grant_type": "authorization_code"}
        )
        try:
            answer = self._http.request("GET", f"{self._base}{TOKEN_PATH}?{query}", {}, None, self._timeout)
        except OSError:
            raise OAuthUnavailable("WeChat could not be reached") from None
        if answer.status != 200:
            raise OAuthUnavailable(f"WeChat answered HTTP {answer.status}")
        try:
            body = json.loads(answer.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise OAuthUnavailable("WeChat's answer is not JSON") from None
        if not isinstance(body, dict):
            raise OAuthUnavailable("WeChat's answer is not a JSON object")
        errcode = body.get("errcode") or 0
        if errcode in REJECTED_CODES:
            raise OAuthCodeRejected(int(errcode))
        openid = body.get("openid")
        if errcode or not isinstance(openid, str) or not openid or len(openid) > 128:
            raise OAuthUnavailable(f"WeChat answered errcode {errcode}")
        return openid
