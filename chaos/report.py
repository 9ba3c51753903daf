"""The soak's figures: the SUMMARY line and docs/RELIABILITY.md."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chaos.soak import Options, Report

START, END = "<!-- chaos:begin -->", "<!-- chaos:end -->"


def summary_line(report: Report) -> str:
    v = report.verdict
    return (
        f"SUMMARY bookings={len(report.bookings)} expected={v.expected} delivered={v.delivered} "
        f"duplicates={v.duplicates} stale={v.stale} lost={v.lost} dlq={report.dead_lettered} "
        f"waitlist_claims={report.contention.waitlist_claims} "
        f"double_bookings={report.contention.double_bookings} "
        f"fallbacks={sum(report.fallbacks.values())} subscription_messages={report.subscriptions_sent}"
    )


def figures(report: Report, options: Options, command: str, when: datetime) -> str:
    """The generated part of docs/RELIABILITY.md: what went in, what came out."""
    v, f, c = report.verdict, report.faults, report.contention
    sms = f.get("sms", {}).get("injected", {})
    crashed = f.get("workers", {}).get("journey-steps", {}).get("crashed", 0)
    stores = sorted({(b.store["id"], b.store["timezone"]) for b in report.bookings})
    fates = ", ".join(f"{fate} {n}" for fate, n in sorted(report.fates.items()))
    reasons = "; ".join(f"{n} x `{reason}`" for reason, n in report.dlq_reasons.most_common(3)) or "-"
    rows = [
        (
            "Injected",
            "bookings",
            f"{len(report.bookings)} at {len(stores)} stores "
            f"({', '.join(f'{s} {tz}' for s, tz in stores)}); {fates}",
        ),
        ("Injected", "webhooks delivered (each twice)", str(report.webhooks)),
        ("Injected", "stale events (older than one applied)", str(report.stale_events)),
        (
            "Injected",
            "transient SMS failures",
            f"{sms.get('transient', 0)} (rate {options.transient_rate:.0%})",
        ),
        ("Injected", "permanent SMS failures", str(sms.get("permanent", 0))),
        ("Injected", "worker killed mid-batch", f"{crashed} batch(es)"),
        ("Injected", "a dead letter put in twice before the redrive", str(report.redrive_copies)),
        (
            "Injected",
            "self-bookings racing webhook bookings (issue 14)",
            f"{c.self_bookings} in {c.races} races ({c.retries} answered again after a 5xx)",
        ),
        (
            "Injected",
            "waitlist claims racing the other waiters and a webhook booking for a freed time (issue 14)",
            f"{c.waitlist_claims} claims in {c.waitlist_races} races "
            f"({c.waitlist_offers} freed times offered to the longest waiting)",
        ),
        (
            "Injected",
            "members following on WeChat: refusing its templates / losing their receipts / reported blocked "
            "after the send (issue 15)",
            f"{report.wechat_members}: {report.blocked_wechat} / {report.lost_receipts} / {report.late_blocks}",
        ),
        (
            "Injected",
            "WeChat followers who allow the follow-ups by subscription message once booked (issue 15)",
            str(report.subscribed_wechat),
        ),
        ("Came out", "stale events ignored as out of order", str(report.ignored_out_of_order)),
        ("Came out", "WeChat template messages accepted", str(report.templates_sent)),
        ("Came out", "WeChat subscription messages accepted", str(report.subscriptions_sent)),
        (
            "Came out",
            "fallbacks (route reason of the route that carried it)",
            ", ".join(f"{reason} {n}" for reason, n in sorted(report.fallbacks.items())) or "0",
        ),
        ("Came out", "webhooks answered wrongly", str(len(report.bad_answers))),
        ("Came out", "messages expected (independent model)", str(v.expected)),
        ("Came out", "SMS the provider accepted", str(report.sms_sent)),
        ("Came out", "delivered exactly once", str(v.delivered)),
        ("Came out", "duplicates", str(v.duplicates)),
        ("Came out", "stale (old slot, cancelled, unexplained)", str(v.stale)),
        ("Came out", "lost", str(v.lost)),
        ("Came out", "dead-lettered, then redriven by `python -m ops.redrive`", str(report.dead_lettered)),
        ("Came out", "DLQ reasons (most common)", reasons),
        ("Came out", "moved by a second redrive (idempotent)", str(report.second_redrive_moved)),
        ("Came out", "left in the DLQ", str(report.dlq_left)),
        (
            "Came out",
            "races won by a member / by a waitlist claim / by the webhook / by several / by nobody",
            f"{c.won_by_members} / {c.won_by_claim} / {c.won_by_webhook} / {c.several_winners} / {c.no_winner}",
        ),
        ("Came out", "double bookings (overlapping holding bookings of one stylist)", str(c.double_bookings)),
    ]
    table = "\n".join(f"| {side} | {what} | {value} |" for side, what, value in rows)
    return f"""{START}
Last run: `{command}` on {when:%Y-%m-%d %H:%M} UTC, {report.seconds / 60:.1f} minutes (2 shared cores).

| | what | figure |
|---|---|---|
{table}

```
{summary_line(report)}
```
{END}"""


def write_docs(path: Path, report: Report, options: Options, command: str, when: datetime) -> None:
    """Replace the generated block in `path` (the prose around it is kept)."""
    text = path.read_text() if path.exists() else f"# Reliability\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    path.write_text(head + figures(report, options, command, when) + tail)
