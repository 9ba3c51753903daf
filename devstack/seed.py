"""The demo chain of the local stack: three stores in three time zones, stylists and services."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib import resources
from chalicelib.dal.callbacks import SmsNumbers
from chalicelib.dal.models import ChainItem, StoreItem
from chalicelib.services.auth import ROLES, issue_token

CHAIN_ID = "demo-chain"
CHAIN_NAME = "花漾 Huayang Hair & Nails"
# The chain's two-way SMS number; a text to it from a number the chain does not know is kept at the first store.
CHAIN_SMS_NUMBER = "+8610690000"
# Stores whose WeChat account runs in encrypted mode ("安全模式", docs/SECURITY.md): the others stay in plaintext
# mode so the README's curl examples keep working.
ENCRYPTED_WECHAT_STORES = ("nyc-soho",)


def _service(
    code: str,
    zh: str,
    en: str,
    category: str,
    minutes: int,
    buffer: int,
    amount: str,
    currency: str,
    local: str,
) -> dict[str, Any]:
    """A catalogue entry as chalicelib/catalog/store_catalog.py documents it (`name`: the store's locale)."""
    return {
        "code": code,
        "name": zh if local == "zh-CN" else en,
        "names": {"zh-CN": zh, "en": en},
        "category": category,
        "minutes": minutes,
        "buffer_minutes": buffer,
        "price": {"amount": amount, "currency": currency},
        "active": True,
    }


def _days(days: str, *hours: tuple[str, str]) -> dict[str, list[list[str]]]:
    """`_days("mon tue", ("10:00", "19:00"))` -> {"mon": [["10:00", "19:00"]], "tue": [...]}."""
    return {day: [list(pair) for pair in hours] for day in days.split()}


WEEK = "mon tue wed thu fri sat sun"

# The demo chain's three stores. The first is in `chairside` mode (members book here, issue 14); the others take
# bookings from the chain's booking system (`external`). Service codes and stylist ids are used by the tests and
# the README: keep them.
STORES: list[dict[str, Any]] = [
    {
        "id": "sh-jingan",
        "name": "花漾·静安店",
        "timezone": "Asia/Shanghai",
        "locale": "zh-CN",
        "address": "上海市静安区南京西路1266号恒隆广场三楼",
        "directions": "地铁2号线南京西路站3号口出，步行约3分钟；商场B2有停车场",
        "phone": "+862162880000",
        "sms_number": "+8610690001",
        "booking_mode": "chairside",
        # In a mall: open every day with the mall, later on Friday and Saturday; closed over the Spring Festival.
        "opening_hours": {**_days(WEEK, ("10:00", "21:00")), **_days("fri sat", ("10:00", "22:00"))},
        "closed_dates": ["2027-02-06", "2027-02-07", "2027-02-08"],
        "lead_minutes": 60,
        "cancel_until_minutes": 120,
        "catalog": {
            "stylists": [
                {
                    "id": "sh-xiaowang",
                    "name": "小王",
                    "services": ["cut-wash", "colour-full", "perm-digital", "care-repair"],
                    "working_hours": _days("mon tue thu fri sat sun", ("10:00", "19:00")),
                    "days_off": [],
                    "active": True,
                },
                {
                    "id": "sh-amy",
                    "name": "Amy",
                    "services": ["cut-wash", "colour-full", "care-repair"],
                    "working_hours": _days("tue wed thu fri sat sun", ("12:00", "21:00")),
                    "days_off": [],
                    "active": True,
                },
                {
                    "id": "sh-lina",
                    "name": "丽娜",
                    "services": ["gel-solid", "gel-french"],
                    "working_hours": {
                        **_days("mon wed thu fri", ("11:00", "20:00")),
                        **_days("sat sun", ("10:00", "14:00"), ("15:00", "21:00")),
                    },
                    "days_off": [],
                    "active": True,
                },
            ],
            "services": [
                _service(
                    "cut-wash", "洗剪吹", "Wash, cut & blow-dry", "hair_cut", 60, 15, "168.00", "CNY", "zh-CN"
                ),
                _service(
                    "colour-full", "染发", "Full colour", "hair_colour", 120, 15, "588.00", "CNY", "zh-CN"
                ),
                _service("perm-digital", "数码烫", "Digital perm", "perm", 150, 15, "880.00", "CNY", "zh-CN"),
                _service(
                    "care-repair",
                    "深层修护护理",
                    "Deep repair treatment",
                    "hair_care",
                    45,
                    10,
                    "298.00",
                    "CNY",
                    "zh-CN",
                ),
                _service(
                    "gel-solid",
                    "纯色光疗甲",
                    "Solid-colour gel nails",
                    "nail_gel",
                    60,
                    10,
                    "198.00",
                    "CNY",
                    "zh-CN",
                ),
                _service(
                    "gel-french", "法式美甲", "French manicure", "nail_art", 90, 10, "268.00", "CNY", "zh-CN"
                ),
            ],
        },
    },
    {
        "id": "ldn-soho",
        "name": "Huayang Soho",
        "timezone": "Europe/London",
        "locale": "en",
        "address": "21 Greek Street, London W1D 4DN",
        "directions": "Two minutes from Tottenham Court Road station (exit 1), next to the bakery",
        "phone": "+442079460000",
        "sms_number": "+447700900100",
        "booking_mode": "external",
        # Closed on Mondays, late on Thursdays, short Sundays; closed on the bank holidays around Christmas.
        "opening_hours": {
            **_days("tue wed fri sat", ("10:00", "19:00")),
            **_days("thu", ("10:00", "20:00")),
            **_days("sun", ("11:00", "17:00")),
        },
        "closed_dates": ["2026-12-25", "2026-12-26", "2027-01-01"],
        "lead_minutes": 120,
        "cancel_until_minutes": 1440,
        "catalog": {
            "stylists": [
                {
                    "id": "ldn-sophie",
                    "name": "Sophie",
                    "services": ["cut-finish", "colour-roots"],
                    "working_hours": _days("tue wed thu fri sat", ("10:00", "19:00")),
                    "days_off": [],
                    "active": True,
                },
                {
                    "id": "ldn-mei",
                    "name": "Mei",
                    "services": ["cut-finish", "gel-refill", "manicure"],
                    "working_hours": {
                        **_days("wed fri sat", ("10:00", "19:00")),
                        **_days("thu", ("12:00", "20:00")),
                        **_days("sun", ("11:00", "17:00")),
                    },
                    "days_off": [],
                    "active": True,
                },
            ],
            "services": [
                _service("cut-finish", "剪发造型", "Cut & finish", "hair_cut", 60, 15, "65.00", "GBP", "en"),
                _service(
                    "colour-roots", "补染发根", "Root colour", "hair_colour", 90, 15, "85.00", "GBP", "en"
                ),
                _service("gel-refill", "光疗甲补甲", "Gel refill", "nail_gel", 60, 10, "40.00", "GBP", "en"),
                _service(
                    "manicure", "经典修甲", "Classic manicure", "nail_care", 45, 10, "30.00", "GBP", "en"
                ),
            ],
        },
    },
    {
        "id": "nyc-soho",
        "name": "Huayang SoHo NYC",
        "timezone": "America/New_York",
        "locale": "en",
        "address": "120 Prince Street, New York, NY 10012",
        "directions": "Prince St station (R/W), one block east; street-level entrance next to the gallery",
        "phone": "+12125550100",
        "sms_number": "+12125550199",
        "booking_mode": "external",
        "opening_hours": {
            **_days("tue wed thu fri sat", ("10:00", "20:00")),
            **_days("sun", ("10:00", "18:00")),
        },
        "closed_dates": ["2026-12-25", "2027-01-01"],
        "lead_minutes": 120,
        "cancel_until_minutes": 1440,
        "catalog": {
            "stylists": [
                {
                    "id": "nyc-jess",
                    "name": "Jess",
                    "services": ["cut-style", "balayage", "perm-wave"],
                    "working_hours": _days("tue wed thu fri sat", ("10:00", "19:00")),
                    "days_off": [],
                    "active": True,
                },
                {
                    "id": "nyc-ana",
                    "name": "Ana",
                    "services": ["cut-style", "gel-mani"],
                    "working_hours": {
                        **_days("wed thu fri sat", ("11:00", "20:00")),
                        **_days("sun", ("10:00", "18:00")),
                    },
                    "days_off": [],
                    "active": True,
                },
            ],
            "services": [
                _service("cut-style", "剪发造型", "Cut & style", "hair_cut", 60, 15, "95.00", "USD", "en"),
                _service("balayage", "挑染", "Balayage", "hair_colour", 150, 15, "320.00", "USD", "en"),
                _service("perm-wave", "纹理烫", "Body wave perm", "perm", 120, 15, "210.00", "USD", "en"),
                _service("gel-mani", "光疗美甲", "Gel manicure", "nail_gel", 60, 10, "55.00", "USD", "en"),
            ],
        },
    },
]

# Issue 17: where each demo store's day-7 review request sends a happy member (StoreItem.review_links; the first
# whose `locales` match her locale, or that names none). Demo pages, not real listings.
REVIEW_LINKS: dict[str, list[dict[str, Any]]] = {
    "sh-jingan": [
        {
            "label": "大众点评",
            "url": "https://www.dianping.com/shop/demo-sh-jingan/review",
            "locales": ["zh-CN"],
        },
        {"label": "Google", "url": "https://g.page/r/demo-sh-jingan/review"},
    ],
    "ldn-soho": [{"label": "Google", "url": "https://g.page/r/demo-ldn-soho/review"}],
    "nyc-soho": [{"label": "Google", "url": "https://g.page/r/demo-nyc-soho/review"}],
}


# The demo account's registered template messages (issue 15, §2): each transactional kind -> its template and,
# per keyword (named by type, as WeChat names them), the message value that fills it. No `first`/`remark`.
_BOOKED = {
    "thing1": "store_name",
    "thing2": "service_name",
    "time3": "start_local",
    "phone_number4": "store_phone",
}
DEMO_WECHAT_TEMPLATES: dict[str, dict[str, Any]] = {
    "confirmation": {"template_id": "demo-tmpl-booked", "fields": _BOOKED, "url": "manage_link"},
    "reschedule_confirmation": {"template_id": "demo-tmpl-booked", "fields": _BOOKED, "url": "manage_link"},
    "reminder_day_before": {
        "template_id": "demo-tmpl-reminder",
        "fields": {
            "thing1": "store_name",
            "thing2": "service_name",
            "time3": "start_local",
            "thing4": "address",
        },
        "url": "manage_link",
    },
    "reminder_2h": {
        "template_id": "demo-tmpl-reminder",
        "fields": {
            "thing1": "store_name",
            "thing2": "service_name",
            "time3": "start_local",
            "thing4": "address",
        },
        "url": "manage_link",
    },
    "no_show_followup": {"template_id": "demo-tmpl-missed", "fields": _BOOKED, "url": "manage_link"},
    "aftercare": {
        "template_id": "demo-tmpl-visit-done",
        "fields": {"thing1": "store_name", "thing2": "service_name", "thing3": "stylist_name"},
    },
}
DEMO_WECHAT_STAFF_REPLY = "demo-staff-reply-template"  # an old-style template: the reply in keyword1
# The demo account's subscription templates (订阅通知, channels/wechat/subscriptions.py): the service follow-ups
# of routing.toml `subscribable`, which a follower allows in the booking page's subscribe pop-up.
_FOLLOW_UP = {"thing1": "store_name", "thing2": "service_name"}
DEMO_WECHAT_SUBSCRIPTIONS: dict[str, dict[str, Any]] = {
    "feedback_request": {
        "template_id": "demo-sub-feedback",
        "fields": {**_FOLLOW_UP, "phrase3": {"const": "待评价"}},
    },
    "first_visit_followup": {
        "template_id": "demo-sub-follow-up",
        "fields": {**_FOLLOW_UP, "phrase3": {"const": "首次回访"}},
    },
    "checkin_1_month": {
        "template_id": "demo-sub-follow-up",
        "fields": {**_FOLLOW_UP, "phrase3": {"const": "月度回访"}},
    },
}


def demo_wechat_registrations() -> dict[str, list[str]]:
    """The demo templates (template and subscription messages) as the fake WeChat holds them: template id -> its
    keywords."""
    registered = {DEMO_WECHAT_STAFF_REPLY: ["keyword1"]}
    for entry in [*DEMO_WECHAT_TEMPLATES.values(), *DEMO_WECHAT_SUBSCRIPTIONS.values()]:
        registered[entry["template_id"]] = list(entry["fields"])
    return registered


@dataclass(frozen=True)
class ChannelSetup:
    """Where the local stack's provider fakes listen, and the credentials they accept."""

    wechat_app_id: str = "wx-demo-chain"
    wechat_app_secret: str = "demo-wechat-app-secret"
    agora_base_url: str = "https://a41.chat.agora.io"
    agora_app_id: str = "0123456789abcdef0123456789abcdef"
    agora_app_certificate: str = "fedcba9876543210fedcba9876543210"
    agora_org: str = "chairside"
    agora_app: str = "demo"
    booking_system_url: str | None = None
    # Mainland SMS (issue 15): the chain's Alibaba Cloud SMS account, played by devstack/fakes/alibaba_sms.py.
    alibaba_sms_base_url: str = "https://dysmsapi.aliyuncs.com"
    # Whether the demo chain routes +86 numbers to Alibaba (ChainItem.sms_settings). Off until delivery sends
    # templated messages (channels.base.send_outgoing with the message's values) and falls back on a permanent
    # failure: Alibaba refuses free text, and today's journeys, replies and care send free text by SMS.
    mainland_sms: bool = False
    alibaba_access_key_id: str = "LTAI-demo-access-key"
    alibaba_access_key_secret: str = "demo-alibaba-access-key-secret"


def seed(
    session: Any,
    stage: str,
    jwt_secret: str,
    issued_at: Any,
    webhook_secret: str | None = None,
    channels: ChannelSetup | None = None,
    care_schedules: Any = None,
    api_url: str | None = None,
) -> dict[str, Any]:
    """Write the demo chain; return what local.json publishes about it. Models must be bound.

    Each store gets its always-on care schedule (`care_schedules`, default the composition root's): the same
    `CareSchedules.ensure` a deployed stage runs when a store is provisioned. `api_url`, when known, gives each
    store's `public_url` (its booking page); `with_public_urls` fills them in once the API is up."""
    webhook_secret = webhook_secret or secrets.token_urlsafe(32)
    channels = channels or ChannelSetup()
    client = session.client("secretsmanager")
    ChainItem(
        *ChainItem.key(CHAIN_ID),
        chain_id=CHAIN_ID,
        name=CHAIN_NAME,
        booking_webhook_url=channels.booking_system_url,
        sms_number=CHAIN_SMS_NUMBER,
        sms_settings=DEMO_SMS_SETTINGS if channels.mainland_sms else None,
    ).save()
    wechat_tokens, wechat_aes_keys = {}, {}
    for store in STORES:
        wechat_tokens[store["id"]] = secrets.token_hex(8)
        wechat = {
            "app_id": channels.wechat_app_id,
            "app_secret": channels.wechat_app_secret,
            "token": wechat_tokens[store["id"]],
            "template_ids": {"staff_reply": DEMO_WECHAT_STAFF_REPLY},
            "templates": DEMO_WECHAT_TEMPLATES,
            "subscriptions": DEMO_WECHAT_SUBSCRIPTIONS,
        }
        if store["id"] in ENCRYPTED_WECHAT_STORES:
            # WeChat's EncodingAESKey: 43 base64 characters (32 random bytes, base64 without its "=").
            wechat["encoding_aes_key"] = base64.b64encode(secrets.token_bytes(32)).decode()[:43]
        wechat_aes_keys[store["id"]] = wechat.get("encoding_aes_key")
        put_secret(
            client,
            resources.channel_secret_name(stage, f"stores/{store['id']}", "wechat"),
            json.dumps(wechat),
        )
    agora_callback_secret = secrets.token_hex(16)
    put_secret(
        client,
        resources.channel_secret_name(stage, f"chains/{CHAIN_ID}", "agora"),
        json.dumps(
            {
                "base_url": channels.agora_base_url,
                "org_name": channels.agora_org,
                "app_name": channels.agora_app,
                "app_id": channels.agora_app_id,
                "app_certificate": channels.agora_app_certificate,
                "callback_secret": agora_callback_secret,
            }
        ),
    )
    for store in STORES:
        StoreItem(
            *StoreItem.key(store["id"]),
            store_id=store["id"],
            chain_id=CHAIN_ID,
            name=store["name"],
            timezone=store["timezone"],
            locale=store["locale"],
            address=store["address"],
            directions=store["directions"],
            phone=store["phone"],
            sms_number=store["sms_number"],
            catalog=store["catalog"],
            catalog_version=1,
            booking_mode=store["booking_mode"],
            opening_hours=store["opening_hours"],
            closed_dates=store["closed_dates"],
            lead_minutes=store["lead_minutes"],
            cancel_until_minutes=store["cancel_until_minutes"],
            gsi1pk=StoreItem.chain_key(CHAIN_ID),
            gsi1sk=store["id"],
            review_links=REVIEW_LINKS.get(store["id"]),
        ).save()
    sms_numbers = SmsNumbers()
    sms_numbers.register(CHAIN_SMS_NUMBER, CHAIN_ID, home_store_id=STORES[0]["id"])
    for store in STORES:
        sms_numbers.register(store["sms_number"], CHAIN_ID, store_id=store["id"])
    if care_schedules is None:
        from chalicelib.bootstrap import container

        care_schedules = container().care_schedules
    for store in STORES:
        care_schedules.ensure(CHAIN_ID, store["id"], store["timezone"])
    put_secret(
        client, resources.webhook_secret_name(stage, CHAIN_ID), json.dumps({"current": webhook_secret})
    )
    create_secret_once(client, resources.lookup_key_secret_name(stage), secrets.token_hex(32))
    put_secret(
        client, resources.jwt_secret_name(stage), jwt_secret
    )  # what the API verifies staff tokens with
    staff_token = issue_token(
        jwt_secret,
        subject="demo-admin",
        chain_id=CHAIN_ID,
        role="chain_admin",
        store_ids=[s["id"] for s in STORES],
        now=issued_at,
    )
    return {
        "chain_id": CHAIN_ID,
        "sms_number": CHAIN_SMS_NUMBER,
        "webhook_secret": webhook_secret,
        "staff_token": staff_token,
        **staff_tokens(jwt_secret, issued_at),
        "stores": [
            {
                "id": s["id"],
                "name": s["name"],
                "timezone": s["timezone"],
                "locale": s["locale"],
                "wechat_token": wechat_tokens[s["id"]],
                "stylists": s["catalog"]["stylists"],
                "services": s["catalog"]["services"],
                "sms_number": s["sms_number"],
                "wechat_encoding_aes_key": wechat_aes_keys[s["id"]],
                "booking_mode": s["booking_mode"],
                "opening_hours": s["opening_hours"],
                "public_url": booking_page(api_url, s["id"]),
            }
            for s in STORES
        ],
        "agora": {
            "app_id": channels.agora_app_id,
            "org_name": channels.agora_org,
            "app_name": channels.agora_app,
            "callback_secret": agora_callback_secret,
            "chat_base_url": channels.agora_base_url,
            "callback_url_path": f"/v1/channels/agora/{CHAIN_ID}/callback",
        },
        "booking_system_url": channels.booking_system_url,
        "alibaba_sms": {
            **seed_alibaba_sms(client, stage, CHAIN_ID, channels),
            "routes_mainland_numbers": channels.mainland_sms,
        },
    }


# --- mainland SMS (issue 15) ----------------------------------------------------------------------------
DEMO_SIGN_NAME = "花漾美业"
# The demo chain's templates as registered with Alibaba (TemplateCode -> its ${variables} <- Outgoing.values).
DEMO_SMS_SETTINGS: dict[str, Any] = {
    "routes": {"+86": "alibaba_sms", "*": "sns"},
    "alibaba_sms": {
        "sign_name": DEMO_SIGN_NAME,
        "templates": {
            "confirmation": {
                "code": "SMS_460100001",
                "params": {
                    "name": "member_name",
                    "store": "store_name",
                    "service": "service_name",
                    "time": "start_local",
                },
            },
            "reschedule_confirmation": {
                "code": "SMS_460100002",
                "params": {"name": "member_name", "store": "store_name", "time": "start_local"},
            },
            "reminder_day_before": {
                "code": "SMS_460100003",
                "params": {
                    "name": "member_name",
                    "store": "store_name",
                    "time": "time_local",
                    "address": "address",
                },
            },
            "reminder_2h": {
                "code": "SMS_460100004",
                "params": {"store": "store_name", "time": "time_local"},
            },
            "no_show_followup": {
                "code": "SMS_460100005",
                "params": {"name": "member_name", "store": "store_name", "phone": "store_phone"},
            },
            "aftercare": {"code": "SMS_460100006", "params": {"name": "member_name", "store": "store_name"}},
            # Service follow-ups of her own visit, registered as 短信通知 (notification) templates; her answer comes
            # back by SmsUp (the chain's reply route). The review request is not registered: an invitation to post
            # a review is promotional content (推广短信) under the operators' rules, so it goes by another channel.
            "feedback_request": {
                "code": "SMS_460100007",
                "params": {"name": "member_name", "store": "store_name"},
            },
            "first_visit_followup": {
                "code": "SMS_460100008",
                "params": {"name": "member_name", "store": "store_name"},
            },
            "checkin_1_month": {
                "code": "SMS_460100009",
                "params": {"name": "member_name", "store": "store_name"},
            },
        },
    },
}


def demo_alibaba_templates() -> dict[str, list[str]]:
    """What the fake Alibaba account has registered: TemplateCode -> its variables."""
    templates = DEMO_SMS_SETTINGS["alibaba_sms"]["templates"]
    return {t["code"]: list(t["params"]) for t in templates.values()}


def seed_alibaba_sms(client: Any, stage: str, chain_id: str, channels: ChannelSetup) -> dict[str, Any]:
    """The chain's Alibaba Cloud SMS credentials and receipt token in Secrets Manager; what local.json says of them."""
    receipt_token = secrets.token_urlsafe(24)
    put_secret(
        client,
        resources.channel_secret_name(stage, f"chains/{chain_id}", "alibaba_sms"),
        json.dumps(
            {
                "access_key_id": channels.alibaba_access_key_id,
                "access_key_secret": channels.alibaba_access_key_secret,
                "endpoint": channels.alibaba_sms_base_url,
                "receipt_token": receipt_token,
            }
        ),
    )
    return {
        "base_url": channels.alibaba_sms_base_url,
        "sign_name": DEMO_SIGN_NAME,
        "receipt_token": receipt_token,
        "receipt_url_path": f"/v1/receipts/alibaba-sms/{chain_id}?receipt_token={receipt_token}",
        # where members' replies (SmsUp) are pushed: the same token, the chain's reply route
        "reply_url_path": f"/v1/channels/alibaba-sms/{chain_id}/replies?receipt_token={receipt_token}",
    }


def booking_page(api_url: str | None, store_id: str) -> str | None:
    """The store's booking page for members (issue 14: `/book/{store}` on the API)."""
    return f"{api_url.rstrip('/')}/book/{store_id}" if api_url else None


def with_public_urls(demo: dict[str, Any], api_url: str) -> dict[str, Any]:
    """local.json's `stores[].public_url`, once the local API's address is known (devstack/stack.py)."""
    for store in demo["stores"]:
        store["public_url"] = booking_page(api_url, store["id"])
    return demo


def staff_tokens(jwt_secret: str, issued_at: Any) -> dict[str, dict[str, str]]:
    """`store_tokens`: a store_manager of each store, that store only (operators' scripts rely on the name);
    `role_tokens`: one member of staff per role at the first store (the chain_admin sees the whole chain)."""
    first = STORES[0]["id"]
    return {
        "store_tokens": {
            s["id"]: issue_token(
                jwt_secret,
                subject=f"demo-manager-{s['id']}",
                chain_id=CHAIN_ID,
                role="store_manager",
                store_ids=[s["id"]],
                now=issued_at,
            )
            for s in STORES
        },
        "role_tokens": {
            role: issue_token(
                jwt_secret,
                subject=f"demo-{role.replace('_', '-')}-{first}",
                chain_id=CHAIN_ID,
                role=role,
                store_ids=[first],
                now=issued_at,
            )
            for role in ROLES
        },
    }


def create_secret_once(client: Any, name: str, value: str) -> None:
    """A secret that must never change once made (the contact lookup key: a new key orphans every lookup)."""
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        pass


def put_secret(client: Any, name: str, value: str) -> None:
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)
