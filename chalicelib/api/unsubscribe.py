"""One-click unsubscribe from marketing email (RFC 8058; services/unsubscribe.py).

`GET /v1/unsubscribe/{token}` asks first: a small page in both locales with a button that POSTs to the same URL (mail
scanners and link previews follow GETs; they must not unsubscribe her). `POST` -- the button, or a mail client's
one-click `List-Unsubscribe=One-Click` POST -- opts the member out, idempotently. No auth beyond the signed token;
an unsigned or altered token is a 400 naming `token`.
"""

from __future__ import annotations

import html

from chalice import Blueprint, Response

from chalicelib.api.responses import JSON, handled
from chalicelib.bootstrap import container
from chalicelib.channels.email import email_text
from chalicelib.errors import ValidationFailed

unsubscribe = Blueprint(__name__)
# RFC 8058's one-click POST is a form (urlencoded or multipart); the page's button posts urlencoded.
FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain", "application/json"]
PAGE: dict[str, str | list[str]] = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _page(kind: str, button: bool = False) -> str:
    title = html.escape(email_text(kind, "title"))
    zh, en = (html.escape(email_text(kind, locale)) for locale in ("zh-CN", "en"))
    form = ""
    if button:
        labels = " · ".join(html.escape(email_text(kind, f"button_{locale}")) for locale in ("zh-CN", "en"))
        form = (
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit" style="font-size:1rem;padding:.6rem 1.2rem">{labels}</button></form>'
        )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">'
        f'<h1 style="font-size:1.25rem">{title}</h1><p>{zh}</p><p lang="en">{en}</p>{form}</body></html>'
    )


@unsubscribe.route("/v1/unsubscribe/{token}", methods=["GET"])
def confirm_unsubscribe(token: str):
    try:
        container().unsubscribe.check(token)
    except ValidationFailed:
        return Response(body=_page("bad_link"), status_code=400, headers=PAGE)
    return Response(body=_page("confirm", button=True), status_code=200, headers=PAGE)


@unsubscribe.route("/v1/unsubscribe/{token}", methods=["POST"], content_types=FORM_TYPES)
@handled
def one_click_unsubscribe(token: str):
    answer = container().unsubscribe.unsubscribe(token)
    accept = (unsubscribe.current_request.headers.get("accept") or "").lower()
    if "text/html" in accept:  # the page's button: a page back
        return Response(body=_page("done"), status_code=200, headers=PAGE)
    return Response(body=answer, status_code=200, headers={**JSON, "Cache-Control": "no-store"})
