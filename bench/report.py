"""The figures as docs/PERFORMANCE.md (markdown tables), the targets of issue 7 and the SUMMARY line."""

from __future__ import annotations

import os
import platform
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.care_fanout_100k import CareFanOut, expected_pages
from bench.care_fanout_100k import markdown as care_fanout_markdown
from bench.coldstart import ColdStarts
from bench.cost import AWS_CALL_LATENCY_MS, ONE_VCPU_MB, cost_lines, total_cost
from bench.fanout import FanOut
from bench.imports import BASELINE, ImportTimes
from bench.journeys import JourneyResult, api_memory_mb, worker_memory_mb
from bench.prices import PRICES, PRICES_AS_OF, PRICES_REGION
from bench.provider_cost import ProviderCost
from bench.reports import DAYS as REPORT_DAYS
from bench.reports import STORES as REPORT_STORES
from bench.reports import ReportReads
from bench.self_booking import DAYS, STYLISTS, SelfBookingResult
from chalicelib.resources import LAMBDA_ARCHITECTURE

# (name, limit, higher is better)
TARGETS = {
    "scans": 0,
    "ddb_writes_per_booking": 3,
    "cost_per_1000_journeys_usd": 0.05,
    "api_import_ratio": 1.5,
    "worker_import_ratio": 1.3,
    "sqs_msgs_per_request": 9.5,
    "init_ratio_max": 1.5,
    "first_zh_reply_ms": 100,
    "layer_mb": 80,
    # the most memory a function's fresh process holds by the end of its first request, as a share of its
    # configured memory: room for a warm container's caches and a full batch (functions sized in resources.py)
    "peak_memory_share_max": 0.5,
    # issue 14: a self-booking writes like a webhook booking; availability reads once per stylist at most
    "self_booking_writes_per_booking": 3,
    "availability_reads_per_stylist": 1,
    # issue 17: an owner's 90-day report of a 20-store chain reads a bounded number of times (one Query per store)
    "report_reads_90d_20_stores": 40,
    # issue 15: the providers' fees of routed journeys against the same journeys all by SMS (bench/provider_cost.py)
    "routed_vs_all_sms_cost_ratio": 0.3,
}


@dataclass(frozen=True)
class Figures:
    journey: JourneyResult
    single: JourneyResult  # journeys one at a time: the dearest case, reported beside the target
    throughput: float
    fanout: FanOut | None
    imports: ImportTimes
    scans: int
    command: str
    cold: ColdStarts
    self_booking: SelfBookingResult | None = None  # issue 14
    care_fanout: CareFanOut | None = None  # issue 17: a 100,000-member store's care tick, in pages
    report_reads: ReportReads | None = None  # issue 17
    provider_cost: ProviderCost | None = None  # issue 15

    @property
    def cost_per_1000(self) -> float:
        return total_cost(self.journey.usage) * 1000

    @property
    def api_ratio(self) -> float:
        return self.imports.ratio("api (app.py)")

    @property
    def worker_ratio(self) -> float:
        return max(self.imports.ratio(name) for name in self.imports.workers)


def command(argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return "make bench" + (f" BENCH_ARGS='{' '.join(args)}'" if args else "")


def targets(f: Figures) -> list[tuple[str, str, bool]]:
    """(what, measured, met) per target; the fan-out is not met while it does not exist."""
    fan = f.fanout.messages_per_request if f.fanout else None
    return [
        ("zero DynamoDB Scan calls", str(f.scans), f.scans == TARGETS["scans"]),
        (
            "<= 3 DynamoDB write requests per booking.created (besides schedules)",
            f"{f.journey.writes_per_created:g}",
            f.journey.writes_per_created <= TARGETS["ddb_writes_per_booking"],
        ),
        (
            "<= $0.05 per 1,000 complete journeys",
            f"${f.cost_per_1000:.4f}",
            f.cost_per_1000 <= TARGETS["cost_per_1000_journeys_usd"],
        ),
        ("API import <= 1.5x bare boto3", f"{f.api_ratio:.2f}x", f.api_ratio <= TARGETS["api_import_ratio"]),
        (
            "worker import <= 1.3x bare boto3 (worst worker)",
            f"{f.worker_ratio:.2f}x",
            f.worker_ratio <= TARGETS["worker_import_ratio"],
        ),
        (
            ">= 9.5 messages per SQS send request in fan-out",
            f"{fan:.2f}" if fan is not None else "pending",
            fan is not None and fan >= TARGETS["sqs_msgs_per_request"],
        ),
        *cold_targets(f.cold),
        *self_booking_targets(f.self_booking),
        *care_fanout_targets(f.care_fanout),
        *report_targets(f.report_reads),
        *provider_cost_targets(f.provider_cost),
    ]


def provider_cost_targets(c: ProviderCost | None) -> list[tuple[str, str, bool]]:
    """Issue 15: routed journeys cost at most 0.3 of the same journeys all by SMS (providers' fees)."""
    return [
        (
            "providers' fees of routed journeys <= 0.3 x all by SMS (demo mix, mainland China; its followers allowed "
            "the follow-ups by subscription message)",
            f"{c.ratio:.2f}" if c else "not measured",
            c is not None and c.ratio <= TARGETS["routed_vs_all_sms_cost_ratio"],
        )
    ]


def report_targets(r: ReportReads | None) -> list[tuple[str, str, bool]]:
    """Issue 17: the DynamoDB reads of one 90-day report of a 20-store chain."""
    return [
        (
            f"a {REPORT_DAYS}-day report of a {REPORT_STORES}-store chain: <= "
            f"{TARGETS['report_reads_90d_20_stores']} DynamoDB reads",
            f"{r.reads}" if r else "not measured",
            r is not None and r.status == 200 and r.reads <= TARGETS["report_reads_90d_20_stores"],
        )
    ]


def report_summary(r: ReportReads | None) -> str:
    return f"report_reads_90d_20_stores={r.reads if r else 'unknown'}"


def report_markdown(r: ReportReads | None) -> list[str]:
    if r is None:
        return ["## Reports (issue 17)", "", "Not measured in this run.", ""]
    return [
        "## Reports (issue 17)",
        "",
        f"`bench/reports.py`: a chain of {REPORT_STORES} stores with {REPORT_DAYS} days of report counters each "
        "(a day item with its channels' figures and one share per stylist with bookings that day). A chain admin's "
        f"`GET /v1/chains/{{chain}}/reports?group_by=week` over the {REPORT_DAYS} days answered {r.status} with "
        f"{r.rows} rows and made **{r.reads}** DynamoDB read requests: one Query of the chain's stores, then one "
        "Query per store over the day range (one page each here). No Scan.",
        "",
        *_table(
            ("service", "operation", "calls per report"),
            _ops(Counter({k: float(v) for k, v in r.ops.items()})),
        ),
    ]


def care_fanout_targets(r: CareFanOut | None) -> list[tuple[str, str, bool]]:
    """Issue 17: a store of 100,000 members finishes its greetings and reactivations, one page per tick."""
    return [
        (
            "a 100,000-member store's care tick reaches every member, in pages",
            f"{r.members_reached:,} of {r.members:,} in {r.pages} ticks" if r else "not measured",
            r is not None and r.members >= 100_000 and r.finished and r.pages in expected_pages(r.members),
        )
    ]


def care_fanout_summary(r: CareFanOut | None) -> str:
    return r.summary() if r else "care_fanout_100k_pages=unknown care_fanout_100k_members_reached=unknown"


def self_booking_targets(r: SelfBookingResult | None) -> list[tuple[str, str, bool]]:
    """Issue 14: DynamoDB write requests per self-booking (besides schedules), and availability's reads."""
    per_stylist = r.reads_per_request / len(STYLISTS) if r else None
    return [
        (
            "<= 3 DynamoDB write requests per self-booking (besides schedules)",
            f"{r.writes_per_booking:g}" if r else "not measured",
            r is not None and r.writes_per_booking <= TARGETS["self_booking_writes_per_booking"],
        ),
        (
            f"availability (1 store x {len(STYLISTS)} stylists x {DAYS} days): <= 1 DynamoDB read per stylist",
            f"{r.reads_per_request:g} per request" if r else "not measured",
            per_stylist is not None and per_stylist <= TARGETS["availability_reads_per_stylist"],
        ),
    ]


def self_booking_summary(r: SelfBookingResult | None) -> str:
    if r is None:
        return "availability_reads_per_request=unknown self_booking_writes_per_booking=unknown"
    return (
        f"availability_reads_per_request={r.reads_per_request:g} "
        f"self_booking_writes_per_booking={r.writes_per_booking:g}"
    )


def self_booking_markdown(r: SelfBookingResult | None) -> list[str]:
    if r is None:
        return ["## Self-booking (issue 14)", "", "Not measured in this run.", ""]
    return [
        "## Self-booking (issue 14)",
        "",
        f"`bench/self_booking.py`, on its own stack: store `sh-jingan` takes bookings itself, {len(STYLISTS)} "
        f"stylists who all do a 45-minute cut (+15 buffer), open 10:00-21:00. `GET …/availability?service=cut&"
        f"stylist=any&days={DAYS}` listed {r.slots} open starts. A warm request (the store cached in the "
        f"container) makes **{r.reads_per_request:g}** DynamoDB call(s): one BatchGetItem of every (stylist, UTC "
        f"day) calendar; the first request also reads the store ({r.reads_first} calls).",
        "",
        *_table(("service", "operation", "calls per availability request"), _ops(r.availability_ops)),
        f"{r.bookings} members each `POST …/bookings` an open time with their member token: "
        f"**{r.writes_per_booking:g}** DynamoDB write requests per self-booking (the booking transaction with "
        "the stylist's calendar and her contact lookups, the event record, her profile), besides the "
        "journey's EventBridge schedules. Every AWS call per self-booking:",
        "",
        *_table(("service", "operation", "calls"), _ops(r.booking_ops)),
    ]


def cold_targets(c: ColdStarts) -> list[tuple[str, str, bool]]:
    """Issue 13 item 8: init (import + wiring + the first request's lazy loads) per entry point, rjieba's first
    reply, the layer."""
    return [
        (
            "init (import + wiring + the first request's lazy loads) <= 1.5x boto3 + the same clients (worst "
            "entry point)",
            f"{c.ratio_max:.2f}x",
            c.ratio_max <= TARGETS["init_ratio_max"],
        ),
        (
            "first Chinese reply in a fresh process adds <= 100 ms",
            f"{c.first_zh_ms:.0f} ms",
            c.first_zh_ms <= TARGETS["first_zh_reply_ms"],
        ),
        (
            "peak memory by the end of the first request <= half the function's memory (worst entry point)",
            f"{c.memory_share_max:.0%}",
            c.memory_share_max <= TARGETS["peak_memory_share_max"],
        ),
        (
            "layer <= 80 MB unzipped",
            f"{c.layer_mb:.1f} MB" if c.layer_mb is not None else "not built",
            c.layer_mb is not None and c.layer_mb <= TARGETS["layer_mb"],
        ),
    ]


def cold_summary(c: ColdStarts) -> str:
    layer = f"{c.layer_mb:.1f}" if c.layer_mb is not None else "unknown"
    return (
        f"init_ratio_max={c.ratio_max:.2f} init_own_ratio_max={c.own_ratio_max:.2f} "
        f"first_answer_ratio_max={c.first_ratio_max:.2f} "
        f"first_zh_reply_ms={c.first_zh_ms:.0f} peak_memory_share_max={c.memory_share_max:.2f} layer_mb={layer}"
    )


def summary(f: Figures) -> str:
    fan = f"{f.fanout.messages_per_request:.2f}" if f.fanout else "pending"
    return (
        f"SUMMARY scans={f.scans} ddb_writes_per_booking={f.journey.writes_per_created:g} "
        f"cost_per_1000_journeys_usd={f.cost_per_1000:.4f} api_import_ratio={f.api_ratio:.2f} "
        f"worker_import_ratio={f.worker_ratio:.2f} sqs_msgs_per_request={fan} {cold_summary(f.cold)} "
        f"{self_booking_summary(f.self_booking)} {care_fanout_summary(f.care_fanout)} "
        f"{report_summary(f.report_reads)}"
    )


def _table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def _ops(counter: Counter) -> list[tuple]:
    return [(service, operation, f"{n:.2f}") for (service, operation), n in sorted(counter.items())]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs (shared), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _where_the_cost_goes(f: Figures) -> list[str]:
    lines = cost_lines(f.journey.usage)
    total = sum(lines.values()) or 1.0
    ranked = sorted(lines.items(), key=lambda item: -item[1])
    webhook_wru = sum(wru for (phase, _), (_, wru) in f.journey.units.items() if phase.startswith("booking."))
    return [
        "Where it goes: " + ", ".join(f"{name} {usd / total:.0%}" for name, usd in ranked[:4]) + ". "
        f"The three booking webhooks write {webhook_wru:.1f} of the {f.journey.usage.dynamodb_wru:.1f} WRU per "
        "journey: `booking.created` claims the stylist's time in one transaction with the booking (2 WRU per started "
        "KB of each; a completed visit frees nothing: a later claim takes its buckets over), every event then "
        "writes its record and the member's profile when it changed (copied to "
        "`gsi1`, projection ALL, and moving there at each visit); a booking's indexes (`gsi3`, `gsi4`) are keys "
        "only, written when it is created or moved; each delivered message is three writes (the claim before "
        "sending, the outcome after, its entry in the conversation's arrival sequence) and a share of one report "
        "counter write (the steps worker adds a batch's counts once per store-day when the batch ends). "
        "EventBridge Scheduler bills a scheduled invocation, not CreateSchedule: a store's wake is one invocation "
        "for the store-day's steps at its moment, the 2-hour reminder and the aftercare each one per booking.",
        "",
    ]


def _campaign_pages(fan: FanOut) -> list[str]:
    """A whole campaign also queues one message per segment page (chalicelib/care/campaigns.py)."""
    try:
        from chalicelib.care.campaigns import PAGE_SIZE
    except ImportError:
        return []
    pages = -(-fan.members // PAGE_SIZE)
    ratio = (fan.messages + pages) / (fan.send_requests + pages)
    return [
        f"A campaign's worker reads its segment {PAGE_SIZE} members a page and queues each next page as one "
        f"more single-message request (`chalicelib/care/campaigns.py`): {pages} more for {fan.members} members, "
        f"{ratio:.2f} messages per request for the whole campaign (computed from `PAGE_SIZE`, not measured).",
        "",
    ]


def cold_markdown(c: ColdStarts) -> list[str]:
    return [
        "## Cold start (init as Lambda pays it)",
        "",
        f"Median of {c.rounds} fresh interpreters each, entries and baselines interleaved round by round, against a "
        "moto server (`ThreadedMotoServer`, provisioned and seeded as `make run` does). Each fresh interpreter "
        "imports the entry point and answers its first request, a real-shaped event from `events/` (the booking "
        "webhook for a booking three days ahead, signed now; the steps worker's batch with the confirmation of "
        "a booking made for it, so its texts render and its SMS is sent; the inbound batch with its SMS reply "
        "in Chinese, so rjieba loads), then a second request of the same kind, new (the webhook of another "
        "booking of another member; another confirmation; another Chinese reply of the same kind from another "
        "member; the other workers' sample batch redelivered, which is cheaper, so their init is if anything "
        "overstated). *first answer* runs from before the import until the first request was answered; *warm* "
        "is the second request; *init* is the first answer less the warm request: import + wiring + the first "
        "request's lazy loads (modules imported on first use, clients created, the store, secret and templates "
        "read into the container's caches), without the request's own work, which every warm request does too. "
        "*baseline* is a fresh interpreter that imports boto3 and creates the same clients the entry point "
        "holds after its first request (listed). *waiting* is the part of init spent in botocore's "
        "`Endpoint._send` (request out, moto's answer in), and *own ratio* leaves it out. The target is on "
        "*ratio* (the median init over the median baseline); *rounds' ratios* are each round's init over the "
        "baseline run just after it, lowest, median and highest: how far one round strays on this shared machine; "
        "*first answer ratio* (the first answer over baseline, the request's "
        "own work included) is reported beside it. *peak MB* is the process's resident high-water mark "
        "(`VmHWM`) by the end of the first request, the most of the rounds, beside the memory the function is "
        "configured with: a queue worker mostly waits on AWS and the providers, and Lambda bills that waiting "
        "by memory, so the workers run at the smallest size that keeps half their memory free (the inbound "
        "worker, which holds the reply model and answers members, and the API keep 512 MB: their compute is "
        "what a member waits on).",
        "",
        *_table(
            (
                "entry point",
                "first answer ms",
                "warm ms",
                "init ms",
                "waiting ms",
                "baseline ms",
                "ratio",
                "rounds' ratios (lowest, median, highest)",
                "own ratio",
                "first answer ratio",
                "peak MB / memory MB",
                "clients after the first request",
            ),
            [
                (
                    name,
                    f"{c.first[name] * 1000:.0f}" if name in c.first else "",
                    f"{c.warm[name] * 1000:.0f}" if name in c.warm else "",
                    f"{c.init[name] * 1000:.0f}",
                    f"{c.waited.get(name, 0.0) * 1000:.0f}",
                    f"{c.baseline[name] * 1000:.0f}",
                    f"{c.ratio(name):.2f}x",
                    ", ".join(f"{r:.2f}" for r in c.ratio_spread(name)) if name in c.round_ratios else "",
                    f"{c.own_ratio(name):.2f}x",
                    f"{c.first_ratio(name):.2f}x" if name in c.first else "",
                    f"{c.peak_mb[name]:.0f} / {c.memory_mb[name]}" if name in c.peak_mb else "",
                    ", ".join(
                        f"{svc} x{n}" if n > 1 else svc for svc, n in sorted(Counter(c.clients[name]).items())
                    ),
                )
                for name in c.init
            ],
        ),
        f"First Chinese reply in a fresh process (classifier built, one English reply read first; the first "
        f"Chinese reply minus a second one): **{c.first_zh_ms:.0f} ms** (rjieba's extension loaded, the words of the reply added to its dictionary).",
        "",
        "What init is made of (`python -X importtime` and cProfile of the same children) and what was cut: "
        "PynamoDB gave every model its own botocore session, each parsing botocore's DynamoDB model again "
        "(about 50 ms a model; the API's first webhook touched six): the models now share one client "
        "(`chalicelib/dal/models.py`). The API no longer imports the conversations intake (pydantic models, "
        "the inbound service, the channel adapters) for a booking webhook. Since December the one "
        "PynamoDB client is built from the container's botocore session (`dal/models.py` `bind`), so the "
        "DynamoDB model boto3 parsed is reused (about 70-100 ms less CPU per entry point), and no worker but "
        "the inbound one loads pydantic: the channel router reads `routing.toml` as it is and validates a "
        "stored override only (`contracts/channel_routing.py`), request contracts load when a request is "
        "parsed (`contracts/validation.py`). An entry point pauses Python's garbage collection from before its "
        "imports until its first invocation ends, in Lambda only (`AWS_LAMBDA_RUNTIME_API`, which these "
        "children have; `chalicelib/init_phase.py`): the collections it skips freed next to nothing and cost "
        "6-12 % of an init (a median of 5 runs each, 2026-12-07: the API 389 -> 358 ms, the steps worker "
        "412 -> 374, the inbound worker 473 -> 415; the baseline collects as usual). Cut on 2026-12-08: the "
        "reply segmenter adds the dictionary words a reply holds instead of reading all ~90,000 (the first "
        'Chinese reply 63 -> 5 ms, docs/EVAL.md "Cold start (jieba)"); a store\'s WeChat and Agora channels are '
        "built, and their secrets read, when a name of theirs is first looked up (an SMS answer read the store's "
        "WeChat secret before, `channels/registry.py` `StoreChannels`); the steps worker builds its hand-off "
        "and store-wake services, the intake its WeChat account events, for the first message that needs them "
        "(`Container.later`); the inbound worker counts a reply for its campaign without importing the "
        "campaigns (`care/attribution.py`). In the same harness and process the inbound worker's first "
        "handler call went from 563 to 427 ms, its warm call unchanged (136 and 134 ms). What remains above "
        "the baseline (2026-12-08, these children: the time spent creating dataclasses and compiling patterns "
        "counted, and single imports moved before the timer): Powertools' package `__init__` (Logger, "
        "Metrics, Tracer; about 12 ms) in every entry point, and in every queue worker its batch utility "
        "(about 25 ms more: asyncio, and its `data_classes` package, a class for every event type); our own "
        "modules' import, much of it dataclass creation (Python 3.13 compiles each dataclass's generated "
        "methods, about 0.4 ms a class: 26-45 ms for the 50-90 classes an entry point defines); PynamoDB's "
        "model classes (`dal/models.py`); jinja2 and the sandboxed environment where a text is rendered (the "
        "steps and inbound workers, about 20 ms); in the inbound worker the classifier's first reply (about "
        "35 ms: the lexicon's and the day-and-time rules' patterns compiled, `lexicon.toml` parsed, the "
        "aftercare matchers built); and the first request's own AWS calls (the store, chain and secret reads "
        "a warm container keeps; botocore's first request per client: endpoint rules, signing, parsing), which "
        "the baseline does not make. *own ratio* leaves out only the waiting on moto.",
        "",
        "Layer (`infra/package.py` `build_layer` from the package registry, files summed as "
        "`tests/integration/test_package.py` does): "
        + (f"**{c.layer_mb:.1f} MB**." if c.layer_mb is not None else "not built in this run."),
        "",
    ]


def markdown(f: Figures) -> str:
    j = f.journey
    out = [
        "# Performance and cost",
        "",
        f"Generated by `{f.command}` (code in `bench/`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        "Rerun it to refresh every figure below; do not edit by hand.",
        "",
        f"Machine: {_machine()}. The machine was shared with other work, so the timings are indicative; "
        "the call counts are exact for this code.",
        "",
        "## Targets (issues 7 and 13)",
        "",
        *_table(
            ("target", "measured", "result"), [(w, m, "PASS" if ok else "FAIL") for w, m, ok in targets(f)]
        ),
        "## Method",
        "",
        "- The real Chalice app, the real worker handlers (`functions/`) and the local plumbing of `make run` "
        "(`devstack/scheduler.py` and `devstack/event_sources.py`: EventBridge Scheduler and the SQS event "
        "source mappings) run in one process "
        "against moto's in-process `mock_aws`, wired by the composition root (`chalicelib/bootstrap.py`) as "
        "in production (no local directory: no fault injection); only the clock is moved by the bench.",
        "- Every botocore client created during the run -- boto3's and PynamoDB's own -- gets `before-call` / "
        "`after-call` hooks (`bench/counting.py`). Calls are attributed to the app (API and workers), to "
        "EventBridge Scheduler delivering a due step (`scheduler`: its SendMessage to the steps queue) or to "
        "Lambda's SQS event source mapping (`esm`: ReceiveMessage that got messages, DeleteMessageBatch). The "
        "local firer's ListSchedules/GetSchedule/DeleteSchedule stand in for the service itself and are not "
        "counted; empty long polls are a fixed cost per queue, not per booking, and are left out.",
        "- One complete journey: `booking.created` -> confirmation -> clock moved to the day-before and 2-hour "
        "reminders -> `booking.checked_in` -> `booking.completed` -> aftercare, feedback request, review "
        "request and one-month check-in; store `sh-jingan` (Asia/Shanghai), SMS. "
        f"{j.journeys} journeys are measured in store-days of {j.cohort} bookings (three stylists side by "
        "side, two hours apart), every webhook and due step at its own time in time order, the workers run "
        "after each: steps due at a store-local time of day (day-before reminder at 10:00, first-visit, "
        "feedback, review and check-in steps at 11:00) are fired by one store wake per store-day and moment "
        "(`services/store_wakes.py`: one scheduled invocation, one Query and BatchGetItem of the day's bookings, "
        "then up to 10 steps delivered in the wake's own invocation, more queued in batches of 10), as in "
        "production. "
        f"{f.single.journeys} more journeys run one at a time, where every worker invocation carries one "
        "step -- the dearest case, priced beside the target.",
        "- DynamoDB request units from item sizes (DynamoDB's sizing rules: attribute names plus values): "
        "writes 1 WRU per KB of the larger of the item before and after (the before image is read from moto "
        "just before the call), 2 in a transaction; index writes per `chalicelib/resources.py`'s index list: "
        "an index with projection ALL is written (1 per KB of the copy) whenever an item carrying its key is, "
        "a keys-only index only when the key appears, moves or goes, and a moved key is a delete plus a put; "
        "reads 1 RRU per 4 KB, half when eventually consistent, 2 in a transaction.",
        f"- Lambda: memory from the configuration (API {api_memory_mb()} MB from `.chalice/config.json`; "
        + ", ".join(f"{name} {mb} MB" for name, mb in worker_memory_mb().items())
        + f" from `chalicelib/resources.py`), architecture {LAMBDA_ARCHITECTURE}. Billed duration per invocation = its measured wall time minus the "
        f"time spent inside in-process moto, slowed {ONE_VCPU_MB:,} / memory times (Lambda gives one vCPU at "
        f"{ONE_VCPU_MB:,} MB and a share below it; the compute here ran on a whole core, taken as fast as a "
        f"Graviton vCPU, which is not measured), plus {AWS_CALL_LATENCY_MS:g} ms per AWS call (an assumed "
        "in-region round trip), rounded up to 1 ms. Warm invocations: init (cold start) duration is not included.",
        "- SQS: each 64 KB chunk of a request is a billable request. SMS, e-mail and provider (WeChat, Agora) "
        "fees are excluded. Secrets Manager reads are cached 5 minutes per warm container, so their count "
        "depends on the run's length.",
        "",
        "## AWS API calls per booking.created webhook (app)",
        "",
        *_table(("service", "operation", "calls"), _ops(j.created_ops)),
        f"DynamoDB write requests per booking.created: **{j.writes_per_created:g}** "
        "(EventBridge Scheduler CreateSchedule calls are the schedules).",
        "",
        f"## AWS API calls per delivered message (app, send_step worker; {j.delivered} messages)",
        "",
        *_table(("service", "operation", "calls"), _ops(j.message_ops)),
        "## AWS API calls per complete journey",
        "",
        "App (API and workers):",
        "",
        *_table(("service", "operation", "calls"), _ops(j.journey_ops)),
        "Platform (Scheduler delivering due steps, Lambda's event source mapping):",
        "",
        *_table(("service", "operation", "calls"), _ops(j.platform_ops)),
        "Lambda invocations per journey and mean billed duration:",
        "",
        *_table(
            ("function", "invocations", "billed ms (mean)"),
            [(fn, f"{n:.2f}", f"{j.durations_ms[fn]:.0f}") for fn, n in sorted(j.invocations.items())],
        ),
        "## Cost per 1,000 complete journeys",
        "",
        *_table(
            ("line", "units per journey", "USD per 1,000 journeys"),
            [
                (name, f"{getattr(j.usage, name):.3f}", f"{usd * 1000:.5f}")
                for name, usd in cost_lines(j.usage).items()
            ]
            + [("**total**", "", f"**{f.cost_per_1000:.4f}**")],
        ),
        *_where_the_cost_goes(f),
        "DynamoDB request units per journey, by phase:",
        "",
        *_table(
            ("phase", "operation", "RRU", "WRU"),
            [(phase, op, f"{rru:.2f}", f"{wru:.2f}") for (phase, op), (rru, wru) in sorted(j.units.items())],
        ),
        f"Journeys one at a time (every worker invocation carries one step): **${total_cost(f.single.usage) * 1000:.4f}** "
        f"per 1,000 ({f.single.usage.lambda_requests:.1f} Lambda invocations and "
        f"{f.single.usage.sqs_requests:.1f} SQS requests per journey instead of {j.usage.lambda_requests:.1f} and "
        f"{j.usage.sqs_requests:.1f}).",
        "",
        f"List prices ({PRICES_REGION}, transcribed {PRICES_AS_OF} from the pages named; `bench/prices.py` -- "
        "the bench does not fetch them, check them before quoting):",
        "",
        *_table(
            ("price", "USD", "per", "source"),
            [(name, f"{usd:.10g}", unit, source) for name, (usd, unit, source) in PRICES.items()],
        ),
        "## Cold imports",
        "",
        f"Median of {f.imports.rounds} fresh interpreters each, interleaved; `import {BASELINE}` took "
        f"{f.imports.baseline * 1000:.0f} ms. *import* is the entry module alone (the target); *wired* adds "
        "building the services its first request uses from the composition root (boto3, clients, domain "
        "modules; no AWS call): the whole init before the first request, for comparison.",
        "",
        *_table(
            ("entry point", "import ms", "ratio to boto3", "wired ms", "wired ratio"),
            [
                (
                    name,
                    f"{f.imports.imports[name] * 1000:.0f}",
                    f"{f.imports.ratio(name):.2f}x",
                    f"{f.imports.wired[name] * 1000:.0f}",
                    f"{f.imports.ratio(name, True):.2f}x",
                )
                for name in f.imports.imports
            ],
        ),
        *cold_markdown(f.cold),
        "## Booking-webhook throughput (in-process)",
        "",
        f"{f.throughput:.1f} booking.created webhooks per second, one after another, through the real handler "
        "against in-process moto, on a fresh table (one core, most of the time spent in moto; reported, not a target).",
        "",
        "## Campaign fan-out",
        "",
    ]
    if f.fanout:
        fan = f.fanout
        out += _table(
            ("members", "send requests", "messages per request", "billable SQS requests", "wall s"),
            [
                (
                    fan.members,
                    fan.send_requests,
                    f"{fan.messages_per_request:.2f}",
                    fan.billable_requests,
                    f"{fan.seconds:.1f}",
                )
            ],
        )
        out += [
            "Through `Outreach.enqueue` (chalicelib/care/outreach.py) into the care queue on in-process moto.",
            "",
        ]
        out += _campaign_pages(fan)
    else:
        out += [
            "**Pending the campaign fan-out (issue 4)**: `chalicelib/care/outreach.py` is not in this code, "
            "so there is nothing to measure; the target is reported as not met.",
            "",
        ]
    out += self_booking_markdown(f.self_booking)
    out += care_fanout_markdown(f.care_fanout)
    out += report_markdown(f.report_reads)
    out += ["```", summary(f), "```", ""]
    return "\n".join(out)
