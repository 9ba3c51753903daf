"""The one Logger and Metrics of every function. Never log a phone number, email or name."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

SERVICE = "chairside"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Chairside", service=SERVICE)
