"""Staff corrections as labelled data (issue 16 §4):
`python -m ops.labels export --chain C [--out FILE] [--stage dev] [--region R] [--local-state .chairside]`.

Writes the chain's corrections in the eval format (eval/data/*.jsonl: one JSON object a line with text,
intent, sentiment, category, locale), the text already masked of phone numbers and emails when it was stored.
One Query of the chain's partition (`CORRECTION#<chain>`), all pages; no Scan. Without --out, to stdout.
Then `python -m eval.evaluate --corrections FILE` (or `make eval CORRECTIONS=FILE`) reports how many the
classifier now gets right, and `make retrain CHAIN=C` exports and retrains on them (docs/EVAL.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from ops import target


def export(corrections: Iterable[Any], out: TextIO) -> int:
    """Write each correction as one eval-format line; how many were written."""
    n = 0
    for correction in corrections:
        out.write(json.dumps(correction.eval_row(), ensure_ascii=False) + "\n")
        n += 1
    return n


def _repository(args: argparse.Namespace) -> Any:
    from chalicelib import resources as r
    from chalicelib.dal.corrections import CorrectionRepository

    session, endpoint, stage = target.resolve(args)
    return CorrectionRepository(session.client("dynamodb", endpoint_url=endpoint), r.MAIN_TABLE.name(stage))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ops.labels", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    out = commands.add_parser("export", help="write a chain's corrections in the eval format")
    out.add_argument("--chain", required=True)
    out.add_argument("--out", type=Path, default=None, help="the file to write (default: stdout)")
    target.add_arguments(out)
    args = parser.parse_args(argv)
    repo = _repository(args)
    if args.out is None:
        n = export(repo.of_chain(args.chain), sys.stdout)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as handle:
            n = export(repo.of_chain(args.chain), handle)
    print(
        f"{n} corrections of chain {args.chain}" + (f" written to {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
