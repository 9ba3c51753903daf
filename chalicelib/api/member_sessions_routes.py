"""A member signing in (SMS code, WeChat OAuth) and the short links of her messages. Public routes: no token.

POST /v1/stores/{store_id}/member-sessions          {"phone"}          -> 202 (a code went out, or not)
POST /v1/stores/{store_id}/member-sessions/verify   {"phone", "code"}  -> 200 {member_token, member_id, expires_at}
GET  /v1/stores/{store_id}/wechat/oauth-url                            -> 200 {url, state, expires_at}
GET  /v1/stores/{store_id}/wechat/oauth?code=&state=                   -> 302 /book/{store}#token=... (or JSON)
GET  /v1/stores/{store_id}/wechat/js-config?url=                       -> 200 the booking page's wx.config values
GET  /m/{code}                                                         -> 302 /book/{store}#token=...&booking=...
"""

from __future__ import annotations

import html

from chalice import Blueprint, Response

from chalicelib.api.request import body_bytes, decode
from chalicelib.api.responses import handled, json_response
from chalicelib.bootstrap import container
from chalicelib.journeys.texts import session_text

sessions = Blueprint(__name__)
JSON_TYPES = ["application/json"]
BASE = "/v1/stores/{store_id}"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@sessions.route(BASE + "/member-sessions", methods=["POST"], content_types=JSON_TYPES)
@handled
def start_session(store_id: str):
    body = decode(body_bytes(sessions.current_request))
    return json_response(202, container().member_sessions.start(store_id, body))


@sessions.route(BASE + "/member-sessions/verify", methods=["POST"], content_types=JSON_TYPES)
@handled
def verify_session(store_id: str):
    body = decode(body_bytes(sessions.current_request))
    answer = container().member_sessions.verify(store_id, body)
    return Response(body=answer, status_code=200, headers={"Content-Type": "application/json", **NO_STORE})


@sessions.route(BASE + "/wechat/oauth-url", methods=["GET"])
@handled
def wechat_oauth_url(store_id: str):
    answer = container().member_sessions.oauth_url(store_id)
    return Response(body=answer, status_code=200, headers={"Content-Type": "application/json", **NO_STORE})


@sessions.route(BASE + "/wechat/oauth", methods=["GET"])
@handled
def wechat_oauth(store_id: str):
    request = sessions.current_request
    query: dict[str, str] = dict(request.query_params or {})
    service = container().member_sessions
    answer = service.wechat(store_id, query.get("code"), query.get("state"))
    if _wants_json(request.headers.get("accept"), query.get("format")):
        return Response(
            body=answer, status_code=200, headers={"Content-Type": "application/json", **NO_STORE}
        )
    location = service.book_url(store_id, answer["member_token"])
    return Response(body="", status_code=302, headers={"Location": location, **NO_STORE})


@sessions.route(BASE + "/wechat/js-config", methods=["GET"])
@handled
def wechat_js_config(store_id: str):
    """WeChat's subscribe button on the booking page (services/wechat_page.py): signed for one page address."""
    query: dict[str, str] = dict(sessions.current_request.query_params or {})
    answer = container().wechat_page.js_config(store_id, query.get("url"))
    return Response(body=answer, status_code=200, headers={"Content-Type": "application/json", **NO_STORE})


@sessions.route("/m/{code}", methods=["GET"])
@handled
def open_link(code: str):
    location = container().member_links.open(code)
    if location is None:
        return Response(
            body=_gone_page(),
            status_code=404,
            headers={"Content-Type": "text/html; charset=utf-8", **NO_STORE},
        )
    return Response(body="", status_code=302, headers={"Location": location, **NO_STORE})


def _wants_json(accept: str | None, format_: str | None) -> bool:
    return format_ == "json" or "application/json" in (accept or "").lower()


def _gone_page() -> str:
    title = html.escape(session_text("link_gone", "title"))
    zh, en = (html.escape(session_text("link_gone", locale)) for locale in ("zh-CN", "en"))
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">'
        f'<p>{zh}</p><p lang="en">{en}</p></body></html>'
    )
