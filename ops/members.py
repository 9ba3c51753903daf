"""Load a chain's members from a CSV file into the chain of store S:
`python -m ops.members import FILE.csv --store S [--stage dev] [--region R] [--local-state .chairside]`.

Columns (a header row; see ops/samples/members.csv): `phone` (required), `name`, `email`, `locale` (zh-CN / en),
`birthday` (YYYY-MM-DD), `marketing_consent` (yes / no / empty), `tags` (separated by `;`). Every row is validated
(chalicelib/contracts/member_import.py); a rejected row is reported with its line number and reasons, and the
others are loaded. Each member goes through the member directory (services/member_directory.py), as a member
signing in does: found by her phone in the chain or created with S as her primary store, so running the file
twice creates no one twice. A progress bar goes to stderr. Exit status 1 when any row was rejected, 2 when the
store or the file cannot be read.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from ops import target

COLUMNS = ("phone", "name", "email", "locale", "birthday", "marketing_consent", "tags")


@dataclass
class Outcome:
    created: int = 0
    found: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reasons)


def import_members(container: Any, store_id: str, path: Path, err: TextIO = sys.stderr) -> Outcome:
    """Load `path` into the chain of `store_id` through `container.member_directory`."""
    from chalicelib.contracts.member_import import MemberRow

    store = container.stores.get(store_id)
    if store is None:
        raise LookupError(f"no store {store_id!r} in this stage and region")
    outcome = Outcome()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        total = sum(1 for _ in csv.reader(handle)) - 1
        handle.seek(0)
        reader = csv.DictReader(handle)
        unknown = sorted(set(reader.fieldnames or []) - set(COLUMNS))
        if "phone" not in (reader.fieldnames or []):
            raise LookupError(f"{path}: no `phone` column (columns: {', '.join(COLUMNS)})")
        if unknown:
            print(f"ignoring columns {', '.join(unknown)}", file=err)
        for done, row in enumerate(reader, start=1):
            line = reader.line_num
            cells = {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}
            try:
                member = MemberRow.model_validate({k: v for k, v in cells.items() if v != "" or k == "phone"})
            except ValidationError as exc:
                reasons = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg'].removeprefix('Value error, ')}"
                    for e in exc.errors(include_url=False, include_input=False)
                )
                outcome.rejected.append((line, reasons))
            else:
                found = container.member_directory.import_member(store.chain_id, store.store_id, member)
                if found.created:
                    outcome.created += 1
                else:
                    outcome.found += 1
            _progress(err, done, max(total, done))
    print(file=err)
    for line, reasons in outcome.rejected:
        print(f"line {line}: rejected: {reasons}", file=err)
    print(
        f"{outcome.created} created, {outcome.found} already members (updated), {len(outcome.rejected)} rejected",
        file=err,
    )
    return outcome


def _progress(err: TextIO, done: int, total: int, width: int = 30) -> None:
    filled = width * done // total if total else width
    err.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    err.flush()


def _container(args: argparse.Namespace) -> Any:
    import os

    from chalicelib import bootstrap
    from chalicelib import resources as r
    from chalicelib.clock import SystemClock
    from chalicelib.settings import Settings

    session, endpoint, stage = target.resolve(args)
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint  # every client of this process (boto3 and PynamoDB) uses it
    # Only the table and the secrets are used here; the queues and schedules the settings name are not.
    settings = Settings(
        stage=stage,
        region=session.region_name,
        main_table=r.MAIN_TABLE.name(stage),
        steps_queue_url="",
        steps_queue_arn="",
        steps_dlq_url="",
        inbound_queue_url="",
        schedule_group="",
        scheduler_role_arn="",
        scheduler_dlq_arn="",
        email_sender="",
        ses_region=session.region_name,
    )
    return bootstrap.build(settings, clock=SystemClock(), session=session)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ops.members", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import", help="load members from a CSV file")
    load.add_argument("file", type=Path)
    load.add_argument("--store", required=True, help="a store of the chain; new members' primary store")
    target.add_arguments(load)
    args = parser.parse_args(argv)
    try:
        outcome = import_members(_container(args), args.store, args.file)
    except (LookupError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if outcome.rejected else 0


if __name__ == "__main__":
    sys.exit(main())
