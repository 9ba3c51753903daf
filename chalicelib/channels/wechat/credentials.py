"""A store's WeChat Official Account credentials, from Secrets Manager through Powertools Parameters.

The secret `chairside/<stage>/stores/<store_id>/wechat` is a JSON object:

    {"app_id": "wx...", "app_secret": "...", "token": "<server token for signatures>",
     "template_ids": {"staff_reply": "<WeChat template id>", ...},
     "templates": {"confirmation": {"template_id": "<registered template id>",
                                    "fields": {"thing1": "store_name", "time2": "start_local",
                                               "phone_number3": "store_phone", "phrase4": {"const": "已预约"}},
                                    "url": "manage_link"}, ...},
     "subscriptions": {"feedback_request": {"template_id": "<subscription template id>",
                                            "fields": {"thing1": "store_name", "thing2": "service_name"}}, ...},
     "encoding_aes_key": "<43 characters>"}

`template_ids` and `templates` are optional. `templates` maps each message kind the store sends by WeChat template
message to its registered template and, per keyword, the message value that fills it (validated here; the rules
and the fitting of values are in templates.py). A `template_ids.staff_reply` without a `templates.staff_reply` is
the old setting: the reply's text in the template's `keyword1`. `subscriptions` (optional, the same shape) maps the
kinds the store sends by subscription message (订阅通知, subscriptions.py) to its subscription templates. `encoding_aes_key` puts the store in WeChat's encrypted mode ("安全模式",
chalicelib/channels/wechat/crypto.py): its callbacks must then be encrypted and carry `msg_signature`;
plaintext callbacks are refused (no downgrade). docs/SECURITY.md recommends it. The provider caches each secret for five minutes, so a rotated
secret is picked up without a deploy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import ClientError

from chalicelib.channels.wechat.crypto import valid_encoding_aes_key
from chalicelib.channels.wechat.templates import InvalidTemplateSettings, TemplateMapping, parse_templates

SECRET_MAX_AGE_SECONDS = 300
_NOT_FOUND = "ResourceNotFoundException"


class InvalidWeChatSecret(ValueError):
    """The secret exists but is not the JSON object described above."""


@dataclass(frozen=True)
class WeChatCredentials:
    app_id: str
    app_secret: str = field(repr=False)
    token: str = field(repr=False)
    template_ids: dict[str, str] = field(default_factory=dict)
    encoding_aes_key: str | None = field(default=None, repr=False)
    templates: dict[str, TemplateMapping] = field(default_factory=dict)  # message kind -> its template
    subscriptions: dict[str, TemplateMapping] = field(default_factory=dict)  # kind -> subscription template


def wechat_secret_name(stage: str, store_id: str) -> str:
    return f"chairside/{stage}/stores/{store_id}/wechat"


def load_wechat_credentials(store_id: str, stage: str, provider: Any) -> WeChatCredentials | None:
    """`provider`: an `aws_lambda_powertools.utilities.parameters.SecretsProvider` (or anything with
    the same `get`). None when the store has no WeChat secret."""
    name = wechat_secret_name(stage, store_id)
    try:
        value = provider.get(name, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    except TransformParameterError as exc:
        raise InvalidWeChatSecret(f"{name}: not valid JSON") from exc
    except GetParameterError as exc:
        if _is_not_found(exc):
            return None
        raise
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidWeChatSecret(f"{name}: not a JSON object")
    missing = [
        key
        for key in ("app_id", "app_secret", "token")
        if not isinstance(value.get(key), str) or not value[key]
    ]
    if missing:
        raise InvalidWeChatSecret(f"{name}: missing {', '.join(missing)}")
    templates = value.get("template_ids") or {}
    if not isinstance(templates, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in templates.items()
    ):
        raise InvalidWeChatSecret(f"{name}: template_ids must map names to template ids")
    try:
        mappings = parse_templates(value.get("templates"))
        subscriptions = parse_templates(value.get("subscriptions"), "subscriptions")
    except InvalidTemplateSettings as exc:
        raise InvalidWeChatSecret(f"{name}: {exc}") from None
    aes_key = value.get("encoding_aes_key") or None
    if aes_key is not None and not valid_encoding_aes_key(aes_key):
        raise InvalidWeChatSecret(f"{name}: encoding_aes_key must be WeChat's 43-character EncodingAESKey")
    return WeChatCredentials(
        app_id=value["app_id"],
        app_secret=value["app_secret"],
        token=value["token"],
        template_ids=dict(templates),
        encoding_aes_key=aes_key,
        templates=mappings,
        subscriptions=subscriptions,
    )


def _is_not_found(exc: BaseException) -> bool:
    """Powertools wraps the boto error in GetParameterError(str(error)), chained as its context."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ClientError):
        return cause.response.get("Error", {}).get("Code") == _NOT_FOUND
    return _NOT_FOUND in str(exc)
