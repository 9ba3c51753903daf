"""Which AWS an operator's command talks to: a deployed stage, or the local stack (`--local-state`)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import boto3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", default=os.environ.get("CHAIRSIDE_STAGE", "dev"))
    parser.add_argument("--region", default=None)
    parser.add_argument(
        "--local-state",
        type=Path,
        default=None,
        help="the local stack's state dir: use its moto endpoint, region and stage (local.json)",
    )


def resolve(args: argparse.Namespace) -> tuple[Any, str | None, str]:
    """(boto3 session, endpoint URL or None, stage)."""
    endpoint, region, stage = os.environ.get("AWS_ENDPOINT_URL"), args.region, args.stage
    if args.local_state is not None:
        info = json.loads((args.local_state / "local.json").read_text())
        endpoint, region, stage = info["aws_endpoint_url"], info["region"], info["stage"]
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, "testing")
    return boto3.session.Session(region_name=region or os.environ.get("AWS_REGION")), endpoint, stage
