"""Local fault injection (`POST /v1/_local/faults`): failure counts, a failure rate, workers killed mid-batch."""

from __future__ import annotations

import random

import pytest

from chalicelib.channels.faults import FaultFile
from chalicelib.errors import ValidationFailed
from chalicelib.services.local_controls import inject_faults


def test_counts_first_then_the_rate_and_everything_injected_is_counted(tmp_path):
    faults = FaultFile(tmp_path / "faults.json", rng=random.Random(1))
    faults.add("sms", permanent=1, transient=1, transient_rate=0.2)
    taken = [faults.take("sms") for _ in range(2000)]
    assert taken[:2] == ["permanent", "transient"]
    rate = taken[2:].count("transient") / len(taken[2:])
    assert 0.15 < rate < 0.25
    assert faults.read()["sms"]["injected"] == {"permanent": 1, "transient": taken.count("transient")}
    faults.add("sms", transient_rate=0)  # set, not added: off
    assert {faults.take("sms") for _ in range(200)} == {None}
    assert faults.take("email") is None


def test_a_worker_crash_is_taken_once_per_request(tmp_path):
    faults = FaultFile(tmp_path / "faults.json")
    assert faults.take_crash("journey-steps") is False
    inject_faults(tmp_path, {"worker": "journey-steps", "crashes": 2})
    assert [faults.take_crash("journey-steps") for _ in range(3)] == [True, True, False]
    assert faults.take_crash("inbound") is False
    assert faults.read()["workers"]["journey-steps"] == {"crashes": 0, "crashed": 2}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "sms", "transient_rate": 1.5}, "transient_rate"),
        ({"channel": "sms", "transient_rate": True}, "transient_rate"),
        ({"channel": "sms", "transient_rate": "0.2"}, "transient_rate"),
        ({"worker": "nope", "crashes": 1}, "worker"),
        ({"worker": "journey-steps", "crashes": -1}, "crashes"),
        ({"worker": "journey-steps", "crashes": 1.5}, "crashes"),
        ({}, "channel"),
    ],
)
def test_bad_fault_requests_name_the_field_and_change_nothing(tmp_path, body, field):
    with pytest.raises(ValidationFailed) as error:
        inject_faults(tmp_path, body)
    assert field in error.value.fields
    assert FaultFile(tmp_path / "faults.json").read() == {}
