"""The demo chain of the local stack: two stores in different time zones, stylists and services."""

from __future__ import annotations

import json
import secrets
from typing import Any

from chalicelib import resources
from chalicelib.dal.models import ChainItem, StoreItem
from chalicelib.services.auth import issue_token

CHAIN_ID = "demo-chain"
CHAIN_NAME = "花漾 Huayang Hair & Nails"

STORES: list[dict[str, Any]] = [
    {
        "id": "sh-jingan",
        "name": "花漾·静安店",
        "timezone": "Asia/Shanghai",
        "locale": "zh-CN",
        "address": "上海市静安区南京西路1266号恒隆广场三楼",
        "directions": "地铁2号线南京西路站3号口出，步行约3分钟；商场B2有停车场",
        "phone": "+862162880000",
        "catalog": {
            "stylists": [{"id": "sh-xiaowang", "name": "小王"}, {"id": "sh-amy", "name": "Amy"},
                         {"id": "sh-lina", "name": "丽娜"}],
            "services": [
                {"code": "cut-wash", "name": "洗剪吹", "category": "hair_cut", "minutes": 60},
                {"code": "colour-full", "name": "染发", "category": "hair_colour", "minutes": 120},
                {"code": "perm-digital", "name": "数码烫", "category": "perm", "minutes": 150},
                {"code": "care-repair", "name": "深层修护护理", "category": "hair_care", "minutes": 45},
                {"code": "gel-solid", "name": "纯色光疗甲", "category": "nail_gel", "minutes": 60},
                {"code": "gel-french", "name": "法式美甲", "category": "nail_art", "minutes": 90},
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
        "catalog": {
            "stylists": [{"id": "ldn-sophie", "name": "Sophie"}, {"id": "ldn-mei", "name": "Mei"}],
            "services": [
                {"code": "cut-finish", "name": "Cut & finish", "category": "hair_cut", "minutes": 60},
                {"code": "colour-roots", "name": "Root colour", "category": "hair_colour", "minutes": 90},
                {"code": "gel-refill", "name": "Gel refill", "category": "nail_gel", "minutes": 60},
                {"code": "manicure", "name": "Classic manicure", "category": "nail_care", "minutes": 45},
            ],
        },
    },
]


def seed(session: Any, stage: str, jwt_secret: str, issued_at: Any, webhook_secret: str | None = None) -> dict[str, Any]:
    """Write the demo chain; return what local.json publishes about it. Models must be bound."""
    webhook_secret = webhook_secret or secrets.token_urlsafe(32)
    ChainItem(*ChainItem.key(CHAIN_ID), chain_id=CHAIN_ID, name=CHAIN_NAME).save()
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
            catalog=store["catalog"],
        ).save()
    put_secret(session.client("secretsmanager"), resources.webhook_secret_name(stage, CHAIN_ID),
               json.dumps({"current": webhook_secret}))
    staff_token = issue_token(jwt_secret, subject="demo-admin", chain_id=CHAIN_ID, role="chain_admin",
                              store_ids=[s["id"] for s in STORES], now=issued_at)
    return {
        "chain_id": CHAIN_ID,
        "webhook_secret": webhook_secret,
        "staff_token": staff_token,
        "stores": [
            {"id": s["id"], "name": s["name"], "timezone": s["timezone"], "locale": s["locale"],
             "stylists": s["catalog"]["stylists"], "services": s["catalog"]["services"]}
            for s in STORES
        ],
    }


def put_secret(client: Any, name: str, value: str) -> None:
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)
