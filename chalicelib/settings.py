"""Typed settings, read from the environment once at start-up (never os.environ inside logic)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chalicelib import resources as r


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    main_table: str
    steps_queue_url: str
    steps_queue_arn: str
    steps_dlq_url: str
    inbound_queue_url: str
    schedule_group: str
    scheduler_role_arn: str
    scheduler_dlq_arn: str
    email_sender: str
    ses_region: str
    # Staff tokens in hs256 mode: the signing secret's Secrets Manager name (read on first use, cached five
    # minutes), or the secret itself where there is no Secrets Manager to read (tests, benches).
    jwt_secret_name: str = ""
    jwt_secret: str = ""
    # Always-on care: the group of the stores' recurring schedules and the queue they put ticks on.
    care_schedule_group: str = ""
    care_ticks_queue_arn: str = ""
    care_ticks_queue_url: str = ""
    # Member care (chalicelib/care): optional so an older environment still starts; the care worker needs them.
    care_queue_url: str = ""
    care_dlq_url: str = ""
    care_defer_max_seconds: int = 900  # longest SQS delay of a message deferred by quiet hours (tests: less)
    # The waitlist's queue (freed time, expired offers); optional so an older environment still starts.
    waitlist_queue_url: str = ""
    waitlist_queue_arn: str = ""
    # Seconds before the first retry of a transiently failed send; doubles per attempt.
    wechat_api_base: str = "https://api.weixin.qq.com"
    retry_base_seconds: int = 30
    retry_max_seconds: int = 900
    # Set only by the local stack: holds the movable domain clock and injected channel faults.
    local_dir: Path | None = None
    # Staff tokens: "hs256" (signed with the jwt secret; local stack, tests) or "cognito" (RS256 of a user pool).
    auth_mode: str = "hs256"
    cognito_issuer: str = ""  # https://cognito-idp.<region>.amazonaws.com/<pool id>
    cognito_audience: str = ""  # the app client id
    # Members (issue 14): where members' links point (`<base>/m/<code>`, `<base>/book/<store>`); no "manage my
    # booking" links in messages while it is empty. The local stack sets it to its API URL.
    public_base_url: str = ""
    # WeChat's OAuth authorize page (open.weixin.qq.com); the local stack points it at the fake WeChat server.
    wechat_oauth_base: str = "https://open.weixin.qq.com"
    # Email (issue 15 §5): the SES configuration set every email is sent with (resources.EMAIL_CONFIGURATION_SET;
    # empty: none), and the mailbox named in marketing mail's List-Unsubscribe beside the one-click URL (empty: the
    # URL only; set it only to a mailbox whose mail is processed).
    email_configuration_set: str = ""
    email_unsubscribe_mailbox: str = ""
    # SNS SMS receipts (issue 15): "1" once the account's SMS delivery-status logs are on (README, "SMS
    # providers"); until then SNS never reports, and a send is not indexed by its MessageId (one write saved).
    sns_sms_receipts: bool = False


def _required(env: dict[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


ENV_SNS_SMS_RECEIPTS = "CHAIRSIDE_SNS_SMS_RECEIPTS"
AUTH_MODES = ("hs256", "cognito")
_COGNITO_ISSUER = re.compile(
    r"^https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9-]+_[A-Za-z0-9]+$"
)


def _auth(env: dict[str, str]) -> dict[str, str]:
    """Staff-token settings; a cognito stage needs no HS256 secret, an hs256 stage needs its name (or, in tests,
    the secret itself)."""
    mode = env.get("CHAIRSIDE_AUTH_MODE", "hs256") or "hs256"
    if mode not in AUTH_MODES:
        raise RuntimeError(f"CHAIRSIDE_AUTH_MODE must be one of {', '.join(AUTH_MODES)}, not {mode!r}")
    if mode == "hs256":
        secret, name = env.get(r.ENV_JWT_SECRET, ""), env.get(r.ENV_JWT_SECRET_NAME, "")
        if not secret and not name:
            raise RuntimeError(
                f"environment variable {r.ENV_JWT_SECRET_NAME} (or {r.ENV_JWT_SECRET}) is not set"
            )
        return {"auth_mode": mode, "jwt_secret_name": name, "jwt_secret": secret}
    issuer = _required(env, "CHAIRSIDE_COGNITO_ISSUER").rstrip("/")
    if not _COGNITO_ISSUER.match(issuer):
        raise RuntimeError(
            "CHAIRSIDE_COGNITO_ISSUER must be https://cognito-idp.<region>.amazonaws.com/<pool id>"
        )
    return {
        "auth_mode": mode,
        "cognito_issuer": issuer,
        "cognito_audience": _required(env, "CHAIRSIDE_COGNITO_AUDIENCE"),
    }


def from_env(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    stage = env.get(r.ENV_STAGE, "local")
    local_dir = env.get("CHAIRSIDE_LOCAL_DIR")  # see local_dir_from_env
    return Settings(
        stage=stage,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        main_table=env.get(r.ENV_MAIN_TABLE) or r.MAIN_TABLE.name(stage),
        steps_queue_url=_required(env, r.ENV_STEPS_QUEUE_URL),
        steps_queue_arn=_required(env, r.ENV_STEPS_QUEUE_ARN),
        steps_dlq_url=_required(env, r.ENV_STEPS_DLQ_URL),
        inbound_queue_url=_required(env, r.ENV_INBOUND_QUEUE_URL),
        care_schedule_group=env.get(r.ENV_CARE_SCHEDULE_GROUP) or r.care_schedule_group_name(stage),
        care_ticks_queue_arn=env.get(r.ENV_CARE_TICKS_QUEUE_ARN, ""),
        care_ticks_queue_url=env.get(r.ENV_CARE_TICKS_QUEUE_URL, ""),
        care_queue_url=env.get(r.ENV_CARE_QUEUE_URL, ""),
        care_dlq_url=env.get(r.ENV_CARE_DLQ_URL, ""),
        care_defer_max_seconds=int(env.get("CHAIRSIDE_CARE_DEFER_MAX_SECONDS", "900")),
        waitlist_queue_url=env.get(r.ENV_WAITLIST_QUEUE_URL, ""),
        waitlist_queue_arn=env.get(r.ENV_WAITLIST_QUEUE_ARN, ""),
        wechat_api_base=env.get("CHAIRSIDE_WECHAT_API_BASE", "https://api.weixin.qq.com"),
        schedule_group=env.get(r.ENV_SCHEDULE_GROUP) or r.schedule_group_name(stage),
        scheduler_role_arn=_required(env, r.ENV_SCHEDULER_ROLE_ARN),
        scheduler_dlq_arn=_required(env, r.ENV_SCHEDULER_DLQ_ARN),
        **_auth(env),
        email_sender=env.get(r.ENV_EMAIL_SENDER, "care@chairside.example"),
        ses_region=env.get(r.ENV_SES_REGION)
        or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or "us-east-1",
        retry_base_seconds=int(env.get("CHAIRSIDE_RETRY_BASE_SECONDS", "30")),
        retry_max_seconds=int(env.get("CHAIRSIDE_RETRY_MAX_SECONDS", "900")),
        local_dir=Path(local_dir) if local_dir else None,
        public_base_url=_public_base_url(env.get(r.ENV_PUBLIC_BASE_URL, "")),
        wechat_oauth_base=env.get("CHAIRSIDE_WECHAT_OAUTH_BASE") or "https://open.weixin.qq.com",
        email_configuration_set=env.get(r.ENV_EMAIL_CONFIGURATION_SET, ""),
        sns_sms_receipts=env.get(ENV_SNS_SMS_RECEIPTS) == "1",
        email_unsubscribe_mailbox=env.get("CHAIRSIDE_EMAIL_UNSUBSCRIBE_MAILBOX", ""),
    )


def _public_base_url(value: str) -> str:
    """`CHAIRSIDE_PUBLIC_BASE_URL`: empty, or an absolute http(s) URL without a query (trailing / dropped)."""
    value = value.strip().rstrip("/")
    if value and (not re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", value)):
        raise RuntimeError("CHAIRSIDE_PUBLIC_BASE_URL must be an http(s) URL like https://book.example.com")
    return value


def local_dir_from_env() -> Path | None:
    """The local stack's state directory, or None on AWS. Cheap: safe at import time."""
    value = os.environ.get("CHAIRSIDE_LOCAL_DIR")
    return Path(value) if value else None


@lru_cache(maxsize=1)
def current() -> Settings:
    return from_env()
