"""The store directory, region by region: tell every other region where a store is served (docs/REGIONS.md).

    python -m infra.directory put    --stage prod --store hk-central --chain lux --region ap-east-1 \\
                                     --api-url https://api-hk.chairside.example/api/ [--into eu-west-1 ...]
    python -m infra.directory delete --stage prod --store hk-central [--into ...]
    python -m infra.directory show   --stage prod --store hk-central [--into ...]

`put` writes `STOREDIR#<store>` / `REGION` into the main table of every region in --into (default: every
region in infra/regions.py except --region), so a request for the store reaching one of them is answered
421 with --api-url. Only routing data is written: the store id, its chain, the region and its public API
address -- never a member's data. Uses the ordinary AWS credential chain (and AWS_ENDPOINT_URL locally).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib.dal.regions import RegionDirectoryRepository, ServedElsewhere
from chalicelib.resources import MAIN_TABLE
from infra.regions import REGIONS, region_settings

ClientFor = Callable[[str], Any]  # region -> a DynamoDB client in that region


def _default_client(region: str) -> Any:
    import boto3

    return boto3.session.Session(region_name=region).client("dynamodb")


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1")
    if not parts.hostname or parts.scheme not in (("http", "https") if local else ("https",)):
        raise ValueError(f"--api-url {url!r} must be an https:// URL (http:// only for localhost)")
    return url


def targets(home: str | None, into: Sequence[str] | None) -> list[str]:
    """The regions whose directories are written: --into, or every configured region but the store's own."""
    chosen = list(into) if into else [name for name in REGIONS if name != home]
    for name in chosen:
        region_settings(name)  # only regions Chairside is deployed to
        if name == home:
            raise ValueError(f"{name} serves the store itself: its directory needs no entry for it")
    return chosen


def put(
    stage: str,
    entry: ServedElsewhere,
    into: Sequence[str] | None = None,
    client_for: ClientFor = _default_client,
) -> list[str]:
    region_settings(entry.region)
    _check_url(entry.api_url)
    regions = targets(entry.region, into)
    now = datetime.now(UTC)
    for region in regions:
        RegionDirectoryRepository(client_for(region), MAIN_TABLE.name(stage)).put(entry, now)
    return regions


def delete(
    stage: str, store_id: str, into: Sequence[str] | None = None, client_for: ClientFor = _default_client
) -> list[str]:
    regions = targets(None, into)
    for region in regions:
        RegionDirectoryRepository(client_for(region), MAIN_TABLE.name(stage)).delete(store_id)
    return regions


def show(
    stage: str, store_id: str, into: Sequence[str] | None = None, client_for: ClientFor = _default_client
) -> dict[str, ServedElsewhere | None]:
    found: dict[str, ServedElsewhere | None] = {}
    for region in targets(None, into):
        repo = RegionDirectoryRepository(client_for(region), MAIN_TABLE.name(stage))
        found[region] = repo.get(store_id, consistent=True)
    return found


def main(argv: list[str] | None = None, client_for: ClientFor = _default_client) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.directory", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("put", "delete", "show"):
        command = commands.add_parser(name)
        command.add_argument("--stage", required=True)
        command.add_argument("--store", required=True)
        command.add_argument(
            "--into", action="append", help="a region whose directory is written (repeatable)"
        )
        if name == "put":
            command.add_argument("--chain", required=True, help="the chain the store belongs to")
            command.add_argument("--region", required=True, help="the region that serves the store")
            command.add_argument(
                "--api-url", required=True, help="that region's API, e.g. its EndpointURL output"
            )
    args = parser.parse_args(argv)
    try:
        if args.command == "put":
            entry = ServedElsewhere(args.store, args.chain, args.region, args.api_url)
            for region in put(args.stage, entry, args.into, client_for):
                print(f"{region}: {args.store} -> {args.region} {args.api_url}")
        elif args.command == "delete":
            for region in delete(args.stage, args.store, args.into, client_for):
                print(f"{region}: {args.store} removed")
        else:
            for region, entry in show(args.stage, args.store, args.into, client_for).items():
                where = f"{entry.region} {entry.api_url} (chain {entry.chain_id})" if entry else "-"
                print(f"{region}: {args.store} -> {where}")
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
