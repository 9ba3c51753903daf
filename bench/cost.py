"""What a journey uses, priced at list prices (bench/prices.py). Pure arithmetic: unit-tested."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from bench.prices import price

# Round-trip time assumed for one AWS API call from Lambda in the same region. In-process moto answers
# in its own time, so a Lambda's billed duration is its measured compute (wall time minus the time in
# moto), slowed to the function's share of a CPU, plus this per call.
AWS_CALL_LATENCY_MS = 10.0
# Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). Below that, single-threaded
# compute measured on one whole core of this machine takes 1,769 / memory times as long (taking a Graviton
# vCPU as fast as this machine's core, which is not measured: the aarch64 layer cannot run here).
ONE_VCPU_MB = 1769


def cpu_slowdown(memory_mb: int) -> float:
    """How much longer compute measured on a whole core takes on a function of `memory_mb`."""
    return max(1.0, ONE_VCPU_MB / memory_mb)


def billed_ms(
    wall_seconds: float,
    aws_seconds: float,
    aws_calls: int,
    memory_mb: int = ONE_VCPU_MB,
    latency_ms: float = AWS_CALL_LATENCY_MS,
) -> int:
    """Lambda bills duration per started millisecond."""
    compute_ms = max(0.0, (wall_seconds - aws_seconds) * 1000) * cpu_slowdown(memory_mb)
    return max(1, math.ceil(compute_ms + aws_calls * latency_ms))


@dataclass(frozen=True)
class Usage:
    """Billable units, per journey (or any unit of work)."""

    apigw_requests: float = 0
    lambda_requests: float = 0
    lambda_gb_seconds: float = 0
    dynamodb_rru: float = 0
    dynamodb_wru: float = 0
    sqs_requests: float = 0
    scheduler_invocations: float = 0
    secrets_manager_calls: float = 0

    def scaled(self, factor: float) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) * factor for f in fields(self)})


# Usage field -> price name
_PRICED = {
    "apigw_requests": "apigw_http_request",
    "lambda_requests": "lambda_request",
    "lambda_gb_seconds": "lambda_gb_second",
    "dynamodb_rru": "dynamodb_rru",
    "dynamodb_wru": "dynamodb_wru",
    "sqs_requests": "sqs_request",
    "scheduler_invocations": "scheduler_invocation",
    "secrets_manager_calls": "secrets_manager_call",
}


def cost_lines(usage: Usage) -> dict[str, float]:
    """USD per usage line."""
    return {name: getattr(usage, name) * price(priced) for name, priced in _PRICED.items()}


def total_cost(usage: Usage) -> float:
    return sum(cost_lines(usage).values())


def gb_seconds(durations_ms: list[int], memory_mb: int) -> float:
    return sum(durations_ms) / 1000 * memory_mb / 1024
