"""Ensure the always-on care schedule of every store of a chain on a deployed stage (docs/CARE.md).

    python -m infra.care_schedules --stage prod --region ap-southeast-1 --chain lux \\
        --role-arn <the stack's SchedulerRoleArn output> [--store hk-central ...]

Runs `CareSchedules.ensure` -- the code the local seed runs for the demo stores -- for the chain's stores in
that region (a Query of `CHAINSTORES#<chain>`), or only the --store ones: creates each store's daily schedule in
its time zone, or updates it in place. Safe to run again after adding a store or changing always_on.toml.
Uses the ordinary AWS credential chain (and AWS_ENDPOINT_URL locally).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from chalicelib import resources as r
from chalicelib.care.schedules import CareSchedules
from chalicelib.dal import models


def _queue_arn(sqs: Any, name: str) -> str:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def sync(session: Any, stage: str, chain_id: str, role_arn: str, store_ids: Sequence[str] = ()) -> list[str]:
    """Ensure the schedules; returns their names. A --store not of the chain (or unknown) is an error."""
    models.bind(r.MAIN_TABLE.name(stage), session.region_name)
    sqs = session.client("sqs")
    schedules = CareSchedules(
        session.client("scheduler"),
        group=r.care_schedule_group_name(stage),
        queue_arn=_queue_arn(sqs, r.CARE_TICKS_QUEUE.name(stage)),
        role_arn=role_arn,
        dlq_arn=_queue_arn(sqs, r.SCHEDULER_DLQ.name(stage)),
    )
    stores = list(models.StoreItem.by_chain.query(models.StoreItem.chain_key(chain_id)))
    if store_ids:
        known = {store.store_id: store for store in stores}
        missing = [s for s in store_ids if s not in known]
        if missing:
            raise ValueError(f"not stores of chain {chain_id} in this region: {', '.join(missing)}")
        stores = [known[s] for s in store_ids]
    return [schedules.ensure(store.chain_id, store.store_id, store.timezone) for store in stores]


def main(argv: list[str] | None = None, session: Any = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.care_schedules", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--chain", required=True)
    parser.add_argument(
        "--role-arn", required=True, help="the role Scheduler delivers with (SchedulerRoleArn)"
    )
    parser.add_argument("--store", action="append", default=[], help="only this store (repeatable)")
    args = parser.parse_args(argv)
    if session is None:
        import boto3

        session = boto3.session.Session(region_name=args.region)
    try:
        for name in sync(session, args.stage, args.chain, args.role_arn, args.store):
            print(f"{r.care_schedule_group_name(args.stage)}/{name}: ensured")
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
