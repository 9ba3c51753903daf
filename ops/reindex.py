"""Move index keys written before 2026-11 to the keys-only indexes, once, after deploying gsi3 and gsi4:
`python -m ops.reindex [--stage dev] [--region R] [--local-state .chairside] [--dry-run]`.

Bookings carried `MEMBERBK#` on gsi1 and `STOREDAY#` on gsi2, members `BIRTHDAY#` on gsi2 (all projection ALL, so
every write of a booking was copied twice). Now they are on gsi3 and gsi4 (keys only). An item moves by itself at
its next write; this moves the rest so the member's bookings, a store's day and its birthdays are complete.

An operator's one-off, not a request or worker path, so it Scans (in pages). Safe to stop and run again: each
item is moved by one UpdateItem conditional on still carrying the old key it was read with.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import resources as r
from chalicelib.dal.conditions import is_conditional_failure
from ops import target

# (item pk prefix, old index key prefix on gsiN) -> the new index the key moves to
MOVES = (
    ("BOOKING#", "gsi1", "MEMBERBK#", "gsi3"),
    ("BOOKING#", "gsi2", "STOREDAY#", "gsi4"),
    ("MEMBER#", "gsi2", "BIRTHDAY#", "gsi3"),
)


def moves_for(item: dict[str, Any]) -> list[tuple[str, str]]:
    """(old index, new index) pairs this item needs."""
    pk = item.get("pk", {}).get("S", "")
    return [
        (old, new)
        for prefix, old, key_prefix, new in MOVES
        if pk.startswith(prefix) and item.get(f"{old}pk", {}).get("S", "").startswith(key_prefix)
    ]


def reindex(ddb: Any, table: str, *, dry_run: bool = False, out: Any = sys.stdout) -> int:
    """Move every old key in `table`; the number of items moved (or that would be, when `dry_run`)."""
    moved = 0
    pages = ddb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="begins_with(pk, :b) OR begins_with(pk, :m)",
        ExpressionAttributeValues={":b": {"S": "BOOKING#"}, ":m": {"S": "MEMBER#"}},
    )
    for page in pages:
        for item in page.get("Items", []):
            pairs = moves_for(item)
            if not pairs:
                continue
            moved += 1
            if dry_run:
                continue
            sets, removes, names, values, conditions = [], [], {}, {}, []
            for old, new in pairs:
                for part in ("pk", "sk"):
                    names[f"#{old}{part}"], names[f"#{new}{part}"] = f"{old}{part}", f"{new}{part}"
                    values[f":{old}{part}"] = item[f"{old}{part}"]
                    sets.append(f"#{new}{part} = :{old}{part}")
                    removes.append(f"#{old}{part}")
                conditions.append(f"#{old}pk = :{old}pk")
            try:
                ddb.update_item(
                    TableName=table,
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
                    ConditionExpression=" AND ".join(conditions),
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            except ClientError as exc:
                if not is_conditional_failure(exc):
                    raise
                moved -= 1  # rewritten meanwhile: its own write moved it
    print(f"{'would move' if dry_run else 'moved'} {moved} item(s) in {table}", file=out)
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ops.reindex", description=__doc__.splitlines()[0])
    target.add_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
    args = parser.parse_args(argv)

    session, endpoint, stage = target.resolve(args)
    reindex(session.client("dynamodb", endpoint_url=endpoint), r.MAIN_TABLE.name(stage), dry_run=args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
