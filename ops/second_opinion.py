"""Turn a chain's hosted second opinion (issue 16: Amazon Bedrock Converse) on or off, in one region's stage:

    python -m ops.second_opinion on --chain C --model-id anthropic.claude-3-haiku-20240307-v1:0 \\
        [--min-confidence 0.6] [--budget-ms 1500] [--bedrock-region us-east-1] [--stage prod] [--region R]
    python -m ops.second_opinion off --chain C [--stage prod] [--region R] [--local-state .chairside]

Validated with the same rules the worker reads it with (chalicelib/understanding/bedrock.py `parse_settings`),
then written on the chain's item in that region's table (a chain served in several regions is set in each). The
inbound worker reads it within a minute. Exit status 2 for a bad setting or an unknown chain.
"""

from __future__ import annotations

import argparse
import sys

from ops import target


def main(argv: list[str] | None = None) -> int:
    from chalicelib import resources as r
    from chalicelib.dal.chain_settings import set_second_opinion
    from chalicelib.understanding.bedrock import parse_settings

    parser = argparse.ArgumentParser(prog="ops.second_opinion", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    on = commands.add_parser("on", help="ask Bedrock about this chain's unsure replies")
    on.add_argument("--model-id", required=True, help="a Bedrock model id, inference profile id or ARN")
    on.add_argument("--min-confidence", type=float, default=0.6)
    on.add_argument("--budget-ms", type=int, default=1500)
    on.add_argument(
        "--bedrock-region", default=None, help="where to call Bedrock (default: the stack's region)"
    )
    off = commands.add_parser("off", help="stop asking")
    for command in (on, off):
        command.add_argument("--chain", required=True)
        target.add_arguments(command)
    args = parser.parse_args(argv)

    value = None
    if args.command == "on":
        value = {
            "provider": "bedrock",
            "model_id": args.model_id,
            "min_confidence": args.min_confidence,
            "budget_ms": args.budget_ms,
        }
        if args.bedrock_region:
            value["region"] = args.bedrock_region
        try:
            parse_settings(value)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    session, endpoint, stage = target.resolve(args)
    client = session.client("dynamodb", endpoint_url=endpoint)
    if not set_second_opinion(client, r.MAIN_TABLE.name(stage), args.chain, value):
        print(f"error: no chain {args.chain!r} in stage {stage} of {session.region_name}", file=sys.stderr)
        return 2
    print(
        f"second opinion {args.command} for chain {args.chain} ({stage}, {session.region_name})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
