"""Drive the soak: bookings in, faults on, clock forward, then count what the provider really sent."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chaos import model
from chaos.contention import Contention, ContentionRun
from chaos.scenario import Booking, Delivery, Stop, build_bookings, plan_stops
from chaos.stack import ROOT, RunningStack, SoakError

# After the last visit: feedback requests (+2 days), review requests (+7 days), one-month check-ins.
LATE_WAVES = (timedelta(days=3), timedelta(days=8), timedelta(days=32))
WEBHOOK_ATTEMPTS = 6
# Seconds of wall time the workers may go without any progress (the plumbing's idle moment or the steps queue's
# depth changing) before the soak gives up; a killed batch comes back after 60 s. Progress resets it, so a slow,
# loaded machine is not mistaken for a stuck one.
SETTLE_TIMEOUT = 600


@dataclass
class Options:
    bookings: int = 1000
    seed: int = 7
    transient_rate: float = 0.2
    permanent: int = 5
    crashes: int = 2
    concurrency: int = 6
    races: int = (
        60  # issue 14: members self-booking against one another and the webhook (chaos/contention.py)
    )
    waitlist_races: int = 6  # issue 14: waitlist claims against other members and the webhook (same)
    # issue 15: of the members who follow the store on WeChat, these many refuse its templates (43101: the one
    # fallback goes to SMS at once) and these many get no TEMPLATESENDJOBFINISH (the fallback after the wait)
    blocked_wechat: int = 2
    lost_receipts: int = 2
    # and these many have their templates accepted, then reported `failed:user block` by TEMPLATESENDJOBFINISH
    # (the fallback when the receipt check comes)
    late_blocks: int = 2
    # and these many allow the follow-ups in the subscribe pop-up right after booking (one feedback and two
    # follow-up grants): those go by WeChat subscription message, each grant spent once
    subscribed_wechat: int = 4
    receipt_wait_seconds: int = (
        2  # the chain's wait for a template's receipt during the soak (300 by default)
    )
    log: Any = sys.stderr


@dataclass
class Report:
    bookings: list[Booking]
    verdict: model.Verdict
    fates: Counter
    webhooks: int = 0  # deliveries, duplicates included
    webhook_retries: int = 0  # redeliveries after a 5xx (moto's server fails some concurrent transactions)
    stale_events: int = 0
    ignored_out_of_order: int = 0
    bad_answers: list[str] = field(default_factory=list)
    dead_lettered: int = 0  # messages the redrive command moved back (copies excluded)
    dlq_reasons: Counter = field(default_factory=Counter)
    redrive_copies: int = 0
    second_redrive_moved: int = -1
    dlq_left: int = 0
    faults: dict = field(default_factory=dict)
    sms_sent: int = 0
    seconds: float = 0.0
    contention: Contention = field(default_factory=Contention)
    templates_sent: int = 0  # WeChat template messages the fake accepted (issue 15)
    wechat_members: int = 0
    blocked_wechat: int = 0
    lost_receipts: int = 0
    late_blocks: int = 0
    subscribed_wechat: int = 0
    subscriptions_sent: int = 0  # WeChat subscription messages the fake accepted
    fallbacks: Counter = field(default_factory=Counter)  # route_reason of messages a fallback route carried

    @property
    def ok(self) -> bool:
        return (
            self.verdict.ok
            and not self.bad_answers
            and self.dlq_left == 0
            and self.contention.double_bookings == 0
            and not self.contention.problems
        )


class Soak:
    def __init__(self, stack: RunningStack, options: Options) -> None:
        self.stack = stack
        self.options = options
        self.sqs = stack.sqs()
        self.steps_queue, self.steps_dlq = stack.steps_queue_names()
        self.report: Report | None = None
        self.to_subscribe: dict[str, str] = {}  # booking id -> openid: allows the follow-ups once booked

    def say(self, text: str) -> None:
        print(f"[chaos {time.strftime('%H:%M:%S')}] {text}", file=self.options.log, flush=True)

    def run(self) -> Report:
        started = time.monotonic()
        o = self.options
        t0 = self.stack.now()
        bookings = build_bookings(o.bookings, self.stack.info["stores"], t0, o.seed)
        stops = plan_stops(bookings, t0, o.seed)
        report = self.report = Report(bookings, model.Verdict(), Counter(b.fate for b in bookings))
        self.say(
            f"{len(bookings)} bookings at {len(self.stack.info['stores'])} stores, {len(stops)} stops; "
            f"{o.transient_rate:.0%} transient SMS failures from now on"
        )
        contention = ContentionRun(
            self.stack, bookings, o.races, o.concurrency, o.seed, waitlist_races=o.waitlist_races
        )
        contention.prepare()  # the stores' catalogues, before the first request reads a store
        if o.waitlist_races and not contention.waitlist:
            self.say(
                "no store is between 09:00 and 20:00 local (quiet hours ahead): no waitlist races this time"
            )
        report.contention = contention.result
        self.inject_channel_faults(bookings)
        self.stack.faults({"channel": "sms", "transient_rate": o.transient_rate})
        for number, stop in enumerate(stops):
            self.stack.advance_to(stop.at)
            self.settle(stop.at)
            self.deliver(stop)
            self.subscribe_booked(stop)
            if number == 0 and contention.races:
                contention.run()
                c = contention.result
                self.say(
                    f"{c.races} races: {c.self_bookings} self-bookings against webhook bookings, won by members "
                    f"{c.won_by_members}, by the webhook {c.won_by_webhook}, several winners {c.several_winners}"
                )
            if number == 0 and contention.waitlist:
                contention.run_waitlist()
                c = contention.result
                self.say(
                    f"{c.waitlist_races} waitlist races: {c.waitlist_offers} offers to the longest waiting, "
                    f"{c.waitlist_claims} claims, {c.won_by_claim} won; several winners {c.several_winners}"
                )
            if number == 1 and o.crashes:
                # The next stop fires the first big wave of reminders: kill the worker mid-batch there.
                self.stack.faults({"worker": "journey-steps", "crashes": o.crashes})
            if number % 10 == 0:
                self.say(
                    f"stop {number + 1}/{len(stops)} at {stop.at.isoformat()}: {len(stop.deliveries)} webhooks"
                )
        last = stops[-1].at
        self.settle(last)
        for number, wave in enumerate(LATE_WAVES):
            if number == 0 and o.permanent:
                self.stack.faults({"channel": "sms", "permanent": o.permanent})
            moment = self.stack.advance_to(last + wave)
            self.settle(moment, redrive=number != 0)
            if number == 0 and o.permanent:
                self.permanent_failures_then_redrive(moment)
            self.say(f"late wave +{wave.days}d done")
        self.stack.faults({"channel": "sms", "transient_rate": 0})
        report.faults = self.stack.fault_counters()
        report.dlq_left = self.depth(self.steps_dlq)
        self.count(bookings)
        stores = list({b.store["id"]: b.store for b in bookings}.values())
        self.say(f"double bookings (every store-day's day view): {contention.count_double_bookings(stores)}")
        report.seconds = time.monotonic() - started
        return report

    def inject_channel_faults(self, bookings: list[Booking]) -> None:
        """Issue 15: blocked WeChat templates and lost template receipts, on members who follow the store."""
        o, report = self.options, self.report
        followers = [b.wechat_openid for b in bookings if b.wechat_openid]
        blocked = followers[: o.blocked_wechat]
        silent = followers[o.blocked_wechat : o.blocked_wechat + o.lost_receipts]
        late = followers[
            o.blocked_wechat + o.lost_receipts : o.blocked_wechat + o.lost_receipts + o.late_blocks
        ]
        for openid in blocked:
            self.stack.wechat_user(openid, blocked="refuse")
        for openid in silent:
            self.stack.wechat_user(openid, lose_receipts=1000)
        for openid in late:
            self.stack.wechat_user(openid, blocked="event")
        taken = o.blocked_wechat + o.lost_receipts + o.late_blocks
        subscribed = [b for b in bookings if b.wechat_openid][taken : taken + o.subscribed_wechat]
        self.to_subscribe = {b.id: str(b.wechat_openid) for b in subscribed}
        report.subscribed_wechat = len(subscribed)
        self.stack.set_receipt_wait(o.receipt_wait_seconds)
        report.wechat_members, report.blocked_wechat, report.lost_receipts, report.late_blocks = (
            len(followers),
            len(blocked),
            len(silent),
            len(late),
        )
        self.say(
            f"{len(followers)} members follow on WeChat: {len(blocked)} refuse its templates, {len(silent)} get "
            f"no delivery receipt, {len(late)} are reported blocked after the send (fallback after "
            f"{o.receipt_wait_seconds} s); {len(subscribed)} allow the follow-ups by subscription message"
        )

    def subscribe_booked(self, stop: Stop) -> None:
        """Members who allow the follow-ups do so once their booking is known (the pop-up after booking): each
        grants the feedback request and two follow-ups (devstack/seed.py's subscription templates)."""
        from devstack.seed import DEMO_WECHAT_SUBSCRIPTIONS as SUBS

        grants = [SUBS["feedback_request"]["template_id"], *[SUBS["checkin_1_month"]["template_id"]] * 2]
        for delivery in stop.deliveries:
            openid = self.to_subscribe.pop(delivery.booking_id, None)
            if openid is not None:
                self.stack.wechat_subscribe(openid, grants)

    # --- webhooks --------------------------------------------------------------------------------
    def deliver(self, stop: Stop) -> None:
        """Every webhook twice. A booking's own webhooks go in order (duplicate right after), bookings in
        parallel; a booking's single webhook goes twice at once (the duplicates race)."""
        by_booking: dict[str, list[Delivery]] = {}
        for delivery in stop.deliveries:
            by_booking.setdefault(delivery.booking_id, []).append(delivery)
        tasks = []
        for deliveries in by_booking.values():
            if len(deliveries) == 1:
                tasks += [[deliveries[0]], [deliveries[0]]]
            else:
                tasks.append([d for d in deliveries for _ in range(2)])
        with ThreadPoolExecutor(self.options.concurrency) as pool:
            for answers in pool.map(self._post_in_order, tasks):
                for delivery, (status, body) in answers:
                    self._judge(delivery, status, body)

    def _post_in_order(self, deliveries: list[Delivery]) -> list[tuple[Delivery, tuple[int, Any]]]:
        return [(d, self._post(d.body)) for d in deliveries]

    def _post(self, body: dict) -> tuple[int, Any]:
        """Like a booking system: a 5xx (or no answer) is delivered again, after a short wait."""
        for attempt in range(WEBHOOK_ATTEMPTS):
            try:
                status, answer = self.stack.post_booking_event(body)
            except OSError as exc:
                status, answer = 599, str(exc)
            if status < 500:
                return status, answer
            self.report.webhook_retries += 1
            time.sleep(0.2 * 2**attempt)
        return status, answer

    def _judge(self, delivery: Delivery, status: int, body: Any) -> None:
        report = self.report
        report.webhooks += 1
        event = f"{delivery.body['event_id']} ({delivery.body['type']})"
        if status != 202:
            report.bad_answers.append(f"{event}: {status} {body}")
        elif delivery.stale:
            report.stale_events += 1
            if body.get("ignored") == "out_of_order":
                report.ignored_out_of_order += 1
            else:
                report.bad_answers.append(f"{event}: a stale event was not ignored: {body}")

    # --- waiting for the workers -----------------------------------------------------------------
    def depth(self, name: str) -> int:
        return self.stack.queue_depth(self.sqs, name)

    def settle(self, moment: datetime, *, redrive: bool = True) -> None:
        """Wait until the plumbing has been idle at `moment` (every due schedule fired) and the steps queue
        is empty (nothing waiting, in flight or backing off). Dead letters from retries that ran out are
        redriven at once, as an operator would."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        cap = (
            time.monotonic() + 3 * SETTLE_TIMEOUT
        )  # a queue that keeps moving but never empties is stuck too
        last: tuple[Any, int] | None = None
        while time.monotonic() < min(deadline, cap):
            idle, depth = self.stack.idle_at(), self.depth(self.steps_queue)
            if idle is not None and idle >= moment and depth == 0:
                if not redrive or self.depth(self.steps_dlq) == 0:
                    return
                self.redrive()
                continue
            if (idle, depth) != last:
                last, deadline = (idle, depth), time.monotonic() + SETTLE_TIMEOUT
            time.sleep(0.3)
        raise SoakError(
            f"the workers did not catch up with {moment.isoformat()} (no progress for {SETTLE_TIMEOUT}s, or"
            f" {3 * SETTLE_TIMEOUT}s in all)"
            f" (idle at {last[0] if last else None}, {last[1] if last else '?'} steps queued)"
        )

    def redrive(self) -> int:
        """`python -m ops.redrive` (the project's own command), as an operator runs it; returns moved."""
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ops.redrive",
                "--queue",
                "journey-steps",
                "--local-state",
                str(self.stack.state_dir),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise SoakError(f"ops.redrive failed: {result.stderr[-2000:]}")
        reasons = re.findall(r"^redrive \S+: (.*)$", result.stdout, re.MULTILINE)
        for reason in reasons:
            self.report.dlq_reasons[_generic(reason)] += 1
        moved = int(re.search(r"^redrove (\d+)", result.stdout, re.MULTILINE)[1])
        self.report.dead_lettered += moved
        self.say(f"ops.redrive moved {moved} message(s) back to {self.steps_queue}")
        return moved

    def permanent_failures_then_redrive(self, moment: datetime) -> None:
        """The permanent failures are in the DLQ with their reasons. Put one in twice (a redrive run twice
        or a DLQ duplicate), redrive, and the redriven steps are sent -- the copy is not."""
        dlq_url = self.sqs.get_queue_url(QueueName=self.steps_dlq)["QueueUrl"]
        waiting = self.depth(self.steps_dlq)
        self.say(f"{waiting} dead letter(s) after the permanent failures")
        if waiting < self.options.permanent:
            self.report.bad_answers.append(
                f"expected at least {self.options.permanent} dead letters, found {waiting}"
            )
        copy = self.sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=1, VisibilityTimeout=0, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if copy:
            self.sqs.send_message(
                QueueUrl=dlq_url,
                MessageBody=copy[0]["Body"],
                MessageAttributes=copy[0].get("MessageAttributes", {}),
            )
            self.report.redrive_copies = 1
        moved = self.redrive()
        self.report.dead_lettered -= self.report.redrive_copies
        if moved != waiting + self.report.redrive_copies:
            self.report.bad_answers.append(
                f"redrive moved {moved}, expected {waiting + self.report.redrive_copies}"
            )
        self.settle(moment, redrive=False)
        self.report.second_redrive_moved = self.redrive()  # idempotent: nothing left to move

    # --- what was really sent ----------------------------------------------------------------------
    def count(self, bookings: list[Booking]) -> None:
        sms = self.stack.sent_sms()
        self.report.sms_sent = len(sms)
        by_phone: dict[str, list[str]] = {}
        for message in sms:
            by_phone.setdefault(message.get("phone_number"), []).append(message.get("message", ""))
        with ThreadPoolExecutor(self.options.concurrency) as pool:
            histories = list(pool.map(lambda b: self.stack.history(b.store["id"], b.member_id), bookings))
        templates = self.stack.sent_templates()
        self.report.templates_sent = len(templates)
        by_client_id = Counter(t.get("client_msg_id") for t in templates)
        subscriptions = self.stack.sent_subscriptions()
        self.report.subscriptions_sent = len(subscriptions)
        by_openid = Counter(s.get("touser") for s in subscriptions)
        sent = {}
        for b, history in zip(bookings, histories, strict=True):
            by_channel = {"sms": model.attribute(by_phone.pop(b.phone, []), history)}
            if b.wechat_openid:
                by_channel["wechat_template"] = _templates_of(b.wechat_openid, history, by_client_id)
                by_channel["wechat_subscribe"] = _subscriptions_of(b.wechat_openid, history, by_openid)
            sent[b.id] = model.across_channels(by_channel)
            self.report.fallbacks.update(
                m["route_reason"]
                for m in history
                if m.get("direction") == "out" and str(m.get("route_reason") or "").startswith("fallback_")
            )
        for client_id, n in by_client_id.items():  # templates no message of the soak explains
            if n:
                sent[f"unknown template {client_id}"] = [None] * n
        for openid, n in by_openid.items():  # subscription messages to nobody in the soak
            if n:
                sent[f"unknown subscriber {openid}"] = [None] * n
        for b, history in zip(bookings, histories, strict=True):
            if len(sent[b.id]) != len(set(sent[b.id])) or len(sent[b.id]) != len(history):
                self.say(
                    f"{b.id}: sent {sent[b.id]}; history "
                    + "; ".join(f"{m['id']} {m['status']} {m['created_at']}" for m in history)
                )
        for phone, texts in by_phone.items():  # SMS to nobody in the soak: unexplained
            sent[f"unknown phone {phone}"] = [None] * len(texts)
        expected = {b.id: model.expected_messages(b.fate, b.service["category"]) for b in bookings}
        self.report.verdict = model.check(expected, sent)


def _templates_of(openid: str, history: list[dict], accepted: Counter) -> list[tuple[str, int] | None]:
    """The template messages WeChat accepted for her, named by the conversation message whose id they carry
    (client_msg_id, channels/wechat/templates.py); taken out of `accepted` as they are named."""
    from chalicelib.channels.wechat.templates import client_msg_id

    named: list[tuple[str, int] | None] = []
    for message in history:
        if message.get("direction") != "out":
            continue
        client_id = client_msg_id(openid, message.get("id", ""))
        n = accepted.pop(client_id, 0)
        named += [model.kind_and_version(message.get("id", ""))] * n
    return named


def _subscriptions_of(openid: str, history: list[dict], accepted: Counter) -> list[tuple[str, int] | None]:
    """The subscription messages WeChat accepted for her (they carry no id of ours), named by her conversation's
    messages recorded on that channel, oldest first; one sent beyond them is unexplained (None)."""
    recorded = [
        model.kind_and_version(m.get("id", ""))
        for m in reversed(history)
        if m.get("direction") == "out" and m.get("channel") == "wechat_subscribe"
    ]
    n = accepted.pop(openid, 0)
    return recorded[:n] + [None] * max(0, n - len(recorded))


def _generic(reason: str) -> str:
    """A DLQ reason without the masked address and attempt counts, to group them."""
    return re.sub(r"\d+", "N", reason)[:160]
