"""AWS list prices the cost figure uses -- data, with where and when they were read.

US East (N. Virginia) public on-demand prices, first pricing tier, no free tier; provider fees (SMS,
WeChat, Agora) are excluded. Change a figure here and `make bench` recomputes every cost.
"""

from __future__ import annotations

from chalicelib.resources import LAMBDA_ARCHITECTURE

PRICES_AS_OF = "2026-11-22"  # when they were transcribed from the pages below (not fetched by the bench)
PRICES_REGION = "us-east-1"

# Lambda duration by architecture; the functions' is chalicelib/resources.py LAMBDA_ARCHITECTURE.
LAMBDA_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}

# (price in USD, unit, source)
PRICES: dict[str, tuple[float, str, str]] = {
    # The API is an HTTP API (infra/http_api.py); a REST API would be 3.50 per million (first 333M).
    "apigw_http_request": (
        1.00 / 1e6,
        "request (512 KB increments)",
        "https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs, first 300M)",
    ),
    "lambda_request": (0.20 / 1e6, "request", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_second": (
        LAMBDA_GB_SECOND[LAMBDA_ARCHITECTURE],
        f"GB-second ({LAMBDA_ARCHITECTURE})",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    "dynamodb_wru": (0.625 / 1e6, "write request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "dynamodb_rru": (0.125 / 1e6, "read request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "sqs_request": (0.40 / 1e6, "request (64 KB chunk)", "https://aws.amazon.com/sqs/pricing/ (standard)"),
    "scheduler_invocation": (
        1.00 / 1e6,
        "invocation",
        "https://aws.amazon.com/eventbridge/pricing/ (Scheduler)",
    ),
    "secrets_manager_call": (0.05 / 1e4, "API call", "https://aws.amazon.com/secrets-manager/pricing/"),
    # The hosted second opinion (issue 16): Bedrock on-demand, the default model of the README's example
    # (anthropic.claude-3-haiku-20240307-v1:0). Not part of a journey's cost: bench/second_opinion.py prices it.
    "bedrock_input_1k_tokens": (
        0.00025,
        "1,000 input tokens (Claude 3 Haiku)",
        "https://aws.amazon.com/bedrock/pricing/ (Anthropic, on-demand)",
    ),
    "bedrock_output_1k_tokens": (
        0.00125,
        "1,000 output tokens (Claude 3 Haiku)",
        "https://aws.amazon.com/bedrock/pricing/ (Anthropic, on-demand)",
    ),
}


def price(name: str) -> float:
    return PRICES[name][0]


# --- provider fees per message (issue 15 §8) --------------------------------------------------------------------
# Read 2026-12-06 from the pages named. CNY prices are converted at CNY_PER_USD, an estimate of the rate on that
# day (not fetched). A figure marked "estimate" is not a list price read from the provider's own page.
PROVIDER_PRICES_AS_OF = "2026-12-06"
CNY_PER_USD = 7.1  # estimate

# (USD per billed unit, unit, source and notes)
PROVIDER_PRICES: dict[str, tuple[float, str, str]] = {
    # Mainland China, Alibaba Cloud SMS (dysmsapi), domestic notification SMS, pay-as-you-go: 0.045 CNY per billed
    # message of up to 70 characters (sign name included; longer ones bill per 67). The length rules are
    # Alibaba's own page; the 0.045 CNY rate is from a secondary summary of Alibaba's price page (estimate: the
    # rate falls to ~0.035 CNY in volume tiers and resource plans).
    "sms_cn_alibaba": (
        0.045 / CNY_PER_USD,
        "SMS part (70 chars, then 67 per part)",
        "https://help.aliyun.com/en/sms/product-overview/billing-overview (length rules); 0.045 CNY: "
        "https://www.seridoat.com/article/a-li-yun-duan-xin-fu-wu-ding-jia-jie-xi-yu-cheng-ben-you-hua-zhi-nan-"
        "ru-he-zai-bao-zheng-ye-wu-wen-d.html (estimate)",
    ),
    # Mainland China, Tencent Cloud SMS: the 10,000-message package is 450 CNY (0.045 CNY each), 0.036 CNY at 3M.
    "sms_cn_tencent": (
        0.045 / CNY_PER_USD,
        "SMS part (70 chars, then 67 per part)",
        "https://www.tencentcloud.com/document/product/382/45479; package table: "
        "https://github.com/hainingzhang/qcloud-documents/blob/master/%E4%BB%B7%E6%A0%BC%E6%80%BB%E8%A7%88.md",
    ),
    # Other countries, Amazon SNS (AWS End User Messaging SMS prices). Estimate: US base price per part plus
    # the 10DLC carrier pass-through fee; the exact figure depends on the origination identity and carrier.
    "sms_us_sns": (
        0.00581 + 0.003,
        "SMS part (160 GSM-7 or 70 UCS-2 chars)",
        "https://aws.amazon.com/end-user-messaging/pricing/ (estimate: base + 10DLC carrier fee)",
    ),
    # WeChat Official Account template and customer-service messages: no per-message fee (the account's yearly
    # verification is a fixed cost, not per message). The template message rules (user-triggered service
    # notices only, no marketing): https://m.w3cschool.cn/weixinkaifawendang/p62c1qcu.html (mirror of WeChat's
    # 模板消息运营规范).
    "wechat_template": (
        0.0,
        "message",
        "https://developers.weixin.qq.com/doc/offiaccount/Message_Management/",
    ),
    "wechat": (0.0, "message", "https://developers.weixin.qq.com/doc/offiaccount/Message_Management/"),
    # Subscription messages (订阅通知) are free to send, one per grant the member gave.
    "wechat_subscribe": (
        0.0,
        "message",
        "https://developers.weixin.qq.com/doc/offiaccount/Subscription_Messages/intro.html",
    ),
    # Agora Chat bills monthly active users (a user who logs in and holds a connection): Free 500 MAU, Starter
    # US$349 for 5,000, Pro US$699 for 10,000. A member of the salon's app is an MAU whether or not journeys use
    # Agora, and a REST send to her does not make her one: the marginal fee per message is 0. (Pro spread over
    # its MAUs is US$0.0699 per member per month -- the app's cost, not the journey's.)
    "agora": (0.0, "message (MAU-priced)", "https://docs-beta.agora.io/en/agora-chat/reference/pricing"),
    # Amazon SES outbound email: US$0.10 per 1,000.
    "email": (0.10 / 1000, "email", "https://aws.amazon.com/ses/pricing/"),
}


def provider_price(name: str) -> float:
    return PROVIDER_PRICES[name][0]
