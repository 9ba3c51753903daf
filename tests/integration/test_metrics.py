"""Powertools Metrics (issue 17 §2): the counts the reports use are printed as CloudWatch EMF by the handlers that
count them -- a worker Lambda and the API -- with the namespace, dimensions and units CloudWatch needs."""

from __future__ import annotations

import json

import pytest

from chalicelib import metrics as names
from chalicelib.observability import NAMESPACE, metrics
from tests.integration.test_events import _context, load


@pytest.fixture
def emf(harness, monkeypatch, capsys):
    """The EMF lines printed from here on, as {metric: total}, with each line's metadata checked."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics.clear_metrics()
    capsys.readouterr()

    def read() -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in capsys.readouterr().out.splitlines():
            try:
                blob = json.loads(line)
            except ValueError:
                continue
            if not isinstance(blob, dict) or "_aws" not in blob:
                continue
            [directive] = blob["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == NAMESPACE
            assert isinstance(blob["_aws"]["Timestamp"], int)
            [dimensions] = directive["Dimensions"]
            assert set(dimensions) == {"service", "stage"}
            assert blob["service"] == "chairside" and blob["stage"] == harness.env["CHAIRSIDE_STAGE"]
            for metric in directive["Metrics"]:
                assert metric["Unit"] == "Count"
                value = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(
                    value if isinstance(value, list) else [value]
                )
        return totals

    yield read
    metrics.clear_metrics()


def test_a_worker_invocation_prints_the_messages_it_sent(harness, emf):
    from functions.send_step import handler

    assert harness.post(load("webhooks/booking.created.json"))[0] == 202
    emf()  # the API's own line (a booking)

    handler(load("sqs_journey_steps.json"), _context())

    assert emf() == {names.MESSAGES_SENT: 1}  # one sent; the stale and malformed records count nothing


def test_an_api_request_prints_the_booking_it_recorded(harness, emf):
    status, _ = harness.post(load("webhooks/booking.created.json"))
    assert status == 202
    assert emf() == {names.BOOKINGS: 1}

    status, _ = harness.post(load("webhooks/booking.created.json"))  # the same event again

    assert status == 202
    assert emf() == {}  # a duplicate counts nothing, and an empty request prints nothing


def test_an_opt_out_reply_counts_a_reply_and_an_opt_out(harness, emf):
    from functions.handle_inbound import handler

    assert harness.post(load("webhooks/booking.created.json"))[0] == 202
    emf()

    handler(load("sqs_inbound.json"), _context())

    counted = emf()
    assert counted[names.REPLIES] >= 1 and counted[names.OPT_OUTS] == 1
    assert set(counted) <= set(names.ALL)


def test_nothing_is_printed_while_metrics_are_disabled(harness, emf, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    assert harness.post(load("webhooks/booking.created.json"))[0] == 202

    assert emf() == {}
    assert not metrics.metric_set  # dropped, not kept for the next invocation


def test_a_metric_the_dashboard_does_not_chart_is_refused(harness):
    with pytest.raises(ValueError, match="not in chalicelib.metrics.ALL"):
        harness.container.metrics.count("SomethingNew")


def test_a_no_show_counts_once_however_often_it_is_reported(harness, emf):
    assert harness.post(load("webhooks/booking.created.json"))[0] == 202
    emf()

    assert harness.post(load("webhooks/booking.no_show.json"))[0] == 202
    assert harness.post(load("webhooks/booking.no_show.json"))[0] == 202  # delivered again

    assert emf() == {names.NO_SHOWS: 1}


def test_a_complaint_counts_a_reply_a_complaint_and_a_hand_off(harness, emf):
    from tests.integration.test_chat import message_event
    from tests.support.builders import booking_event

    harness.post(booking_event())
    emf()

    status, body = harness.post_message(message_event("烫坏了，我要投诉！"))

    assert status == 200 and body["intent"] == "complaint", body
    counted = emf()
    assert {k: counted.get(k) for k in (names.REPLIES, names.COMPLAINTS, names.HAND_OFFS)} == {
        names.REPLIES: 1,
        names.COMPLAINTS: 1,
        names.HAND_OFFS: 1,
    }
    assert names.OPT_OUTS not in counted


def test_an_automatic_answer_counts_as_a_message_sent(harness, emf):
    from tests.integration.test_chat import message_event
    from tests.support.builders import booking_event

    harness.post(booking_event())
    harness.advance_to("2026-11-25T17:00:00+08:00")
    harness.post(booking_event(type="booking.completed", occurred_at="2026-11-25T17:00:00+08:00"))
    emf()

    status, body = harness.post_message(message_event("头发有点干怎么办"))

    assert status == 200, body
    [reply] = [a for a in body["actions"] if a["action"] == "reply:reply_aftercare"]
    assert reply["result"] == "sent"
    assert emf() == {names.REPLIES: 1, names.MESSAGES_SENT: 1}
