"""`make bench`: measure the current code, print the figures, write docs/PERFORMANCE.md, check the targets.

python -m bench [--journeys N] [--throughput N] [--members N] [--rounds N] [--no-write]
Exits non-zero when a target (issue 7) is missed.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from bench import (
    care_fanout_100k,
    coldstart,
    counting,
    fanout,
    imports,
    journeys,
    provider_cost,
    report,
    reports,
    second_opinion,
    self_booking,
)
from bench.stack import REGION, ROOT, running_stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--journeys", type=int, default=20, help="complete booking journeys to measure")
    parser.add_argument("--cohort", type=int, default=10, help="bookings per store-day in those journeys")
    parser.add_argument("--single", type=int, default=5, help="journeys one at a time (the dearest case)")
    parser.add_argument("--throughput", type=int, default=200, help="booking.created webhooks for throughput")
    parser.add_argument("--members", type=int, default=100_000, help="campaign fan-out size")
    parser.add_argument(
        "--care-members",
        type=int,
        default=100_000,
        help="members of the store in the care fan-out (issue 17)",
    )
    parser.add_argument("--rounds", type=int, default=11, help="fresh interpreters per import figure")
    parser.add_argument(
        "--no-layer", action="store_true", help="do not build the layer (layer_mb unknown: FAIL)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/PERFORMANCE.md")
    args = parser.parse_args(argv)

    print(f"cold imports: {args.rounds} interleaved rounds ...", file=sys.stderr)
    import_times = imports.measure(args.rounds)
    print(
        f"cold starts (init + first request): {args.rounds} interleaved rounds, and the layer ...",
        file=sys.stderr,
    )
    cold = coldstart.measure(args.rounds, build_layer=not args.no_layer)
    with running_stack() as stack:
        print(f"{args.journeys} complete journeys in store-days of {args.cohort} ...", file=sys.stderr)
        journey = journeys.run(stack, args.journeys, args.cohort)
        print(f"{args.single} complete journeys one at a time ...", file=sys.stderr)
        single = journeys.run(stack, args.single, 1, first=args.journeys)
        print("provider fees of those journeys, routed and all by SMS (issue 15) ...", file=sys.stderr)
        sent = provider_cost.journey_messages(
            provider_cost.stored_items(stack.container.settings.main_table, REGION), "bk-bench-"
        )
        fees = provider_cost.price(sent, args.journeys + args.single, stack.clock.now())
        print(f"fan-out to {args.members} members ...", file=sys.stderr)
        fan = fanout.run(stack, args.members)
    with running_stack() as fresh:  # its own table: moto slows as a table grows
        print(f"{args.throughput} booking.created webhooks ...", file=sys.stderr)
        rate = journeys.throughput(fresh, args.throughput)
    with running_stack() as booking_stack:  # its own: the catalogue is written before the store is first read
        print("availability and self-bookings (issue 14) ...", file=sys.stderr)
        booked = self_booking.run(booking_stack)
    with running_stack() as care_stack:  # its own table: 100,000 members (issue 17)
        print(f"care fan-out of a store of {args.care_members} members, in pages ...", file=sys.stderr)
        care = care_fanout_100k.run(care_stack, args.care_members)
    with running_stack() as report_stack:  # its own: 20 stores x 90 days of counters
        print("a 90-day report of a 20-store chain (issue 17) ...", file=sys.stderr)
        report_reads = reports.run(report_stack)
    print(f"report_reads_90d_20_stores={report_reads.reads}")
    scans = (
        counting.scans(
            stack.counter.calls
            + fresh.counter.calls
            + booking_stack.counter.calls
            + report_stack.counter.calls
        )
        + care.scans
    )  # journeys, fan-out, throughput, self-booking, report, care fan-out
    figures = report.Figures(
        journey,
        single,
        rate,
        fan,
        import_times,
        scans,
        command=report.command(argv),
        cold=cold,
        self_booking=booked,
        care_fanout=care,
        report_reads=report_reads,
        provider_cost=fees,
    )
    print("the hosted second opinion's calls, priced (issue 16) ...", file=sys.stderr)
    opinion = second_opinion.run()
    text = (
        report.markdown(figures)
        + "\n"
        + "\n".join(second_opinion.markdown(opinion))
        + "\n"
        + "\n".join(provider_cost.markdown(fees, Counter(m.kind for m in sent)))
    )
    print(text)
    if not args.no_write:
        (ROOT / "docs" / "PERFORMANCE.md").write_text(text)
    print(report.summary(figures) + " " + second_opinion.summary(opinion) + " " + provider_cost.summary(fees))
    return 0 if all(ok for _, _, ok in report.targets(figures)) else 1


if __name__ == "__main__":
    sys.exit(main())
