"""make bench's cold-start harness runs every entry point's first request for real (bench/coldstart.py).

One round, no layer: the figures are make bench's to report; this checks that each fresh interpreter answered a
real first request (the harness raises when the webhook was not accepted, the steps worker rendered nothing or
the inbound worker segmented no Chinese) and a warm second one, and that the arithmetic holds together.
"""

from __future__ import annotations

from bench.coldstart import entries, measure


def test_every_entry_point_answers_a_real_first_request_and_a_warm_second_one() -> None:
    cold = measure(rounds=1, build_layer=False)

    assert set(cold.init) == {entry.name for entry in entries()}
    for name in cold.init:
        assert 0 < cold.warm[name] < cold.first[name], name
        assert cold.init[name] == cold.first[name] - cold.warm[name]
        assert cold.baseline[name] > 0 and cold.clients[name], name
    assert cold.first_zh_ms > 0
