"""`python -m chaos [--bookings 1000]` (what `make chaos` runs): the fault-injection soak of the local stack.

Ends with `SUMMARY bookings=.. expected=.. delivered=.. duplicates=.. stale=.. lost=.. dlq=.. waitlist_claims=..
double_bookings=.. fallbacks=.. subscription_messages=..` (one line) and exits non-zero when anything was duplicated, stale or lost, a webhook was
answered wrongly, a self-booking or waitlist race had other than one winner, a freed time was not offered to the
member who had waited longest, or a stylist was double-booked. With --docs it
writes the figures to docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from chaos.report import summary_line, write_docs
from chaos.soak import Options, Soak
from chaos.stack import ROOT, RunningStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaos", description=__doc__.splitlines()[0])
    defaults = Options()
    parser.add_argument("--bookings", type=int, default=defaults.bookings)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--transient-rate", type=float, default=defaults.transient_rate)
    parser.add_argument("--permanent", type=int, default=defaults.permanent)
    parser.add_argument("--crashes", type=int, default=defaults.crashes)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--races", type=int, default=defaults.races, help="self-booking races (issue 14)")
    parser.add_argument(
        "--waitlist-races",
        type=int,
        default=defaults.waitlist_races,
        help="waitlist claims racing members and the webhook for a freed time (issue 14)",
    )
    parser.add_argument(
        "--blocked-wechat",
        type=int,
        default=defaults.blocked_wechat,
        help="members who refuse the store's WeChat templates (issue 15)",
    )
    parser.add_argument(
        "--lost-receipts",
        type=int,
        default=defaults.lost_receipts,
        help="members whose WeChat template receipts never come (issue 15)",
    )
    parser.add_argument(
        "--late-blocks",
        type=int,
        default=defaults.late_blocks,
        help="members whose WeChat templates are accepted, then reported blocked (issue 15)",
    )
    parser.add_argument(
        "--subscribed-wechat",
        type=int,
        default=defaults.subscribed_wechat,
        help="WeChat followers who allow the follow-ups by subscription message once booked (issue 15)",
    )
    parser.add_argument(
        "--docs",
        type=Path,
        nargs="?",
        const=ROOT / "docs" / "RELIABILITY.md",
        default=None,
        help="write the figures there (default path when given without one)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the stack's state dir (logs) afterwards")
    args = parser.parse_args(argv)
    options = Options(
        bookings=args.bookings,
        seed=args.seed,
        transient_rate=args.transient_rate,
        permanent=args.permanent,
        crashes=args.crashes,
        concurrency=args.concurrency,
        races=args.races,
        waitlist_races=args.waitlist_races,
        blocked_wechat=args.blocked_wechat,
        lost_receipts=args.lost_receipts,
        late_blocks=args.late_blocks,
        subscribed_wechat=args.subscribed_wechat,
    )

    state = Path(tempfile.mkdtemp(prefix="chairside-chaos-"))
    print(f"[chaos] starting the local stack (state dir {state})", file=sys.stderr, flush=True)
    stack = RunningStack.start(state)
    try:
        report = Soak(stack, options).run()
    finally:
        stack.stop()
    for problem in report.bad_answers[:20] + report.verdict.problems[:40] + report.contention.problems[:20]:
        print(f"PROBLEM {problem}")
    if args.docs:
        command = (
            "make chaos"
            if argv is None and sys.argv[1:] == ["--docs"]
            else "python -m chaos " + " ".join(sys.argv[1:] if argv is None else argv)
        )
        write_docs(args.docs, report, options, command, datetime.now(UTC))
        print(f"[chaos] wrote {args.docs}", file=sys.stderr)
    if not args.keep:
        import shutil

        shutil.rmtree(state, ignore_errors=True)
    print(summary_line(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
