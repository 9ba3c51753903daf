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
    "apigw_rest_request": (
        3.50 / 1e6,
        "request",
        "https://aws.amazon.com/api-gateway/pricing/ (REST, first 333M)",
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
