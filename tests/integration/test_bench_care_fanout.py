"""The 100,000-member care fan-out bench (bench/care_fanout_100k.py) at a small size: the store's tick pages
through every member, queues each page's next tick, reaches every member once, finds the dormant ones, and makes
no Scan -- the same code `make bench` runs at 100,000."""

from __future__ import annotations

from bench import care_fanout_100k
from bench.stack import running_stack


def test_a_store_finishes_its_greetings_and_reactivations_in_pages():
    with running_stack() as stack:
        result = care_fanout_100k.run(stack, members=230, dormant_share=0.1, page_size=100)

    assert result.pages == 3 and result.pages in care_fanout_100k.expected_pages(230, 100)  # 100 + 100 + 30
    assert result.members_reached == result.greetings == 230  # each member greeted once
    assert result.dormant == 23 and result.reactivations == 23
    assert result.finished and result.scans == 0
    # each page: one Query of members and ten SendMessageBatch per 100 greetings; the first tick also runs the
    # day's other Queries and the dormant members' reads -- well under one call per member
    assert 0 < result.calls_per_member < 1
    assert "care_fanout_100k_pages=3 care_fanout_100k_members_reached=230" in result.summary()


def test_a_whole_number_of_pages_may_take_one_more_tick_to_find_the_end():
    assert list(care_fanout_100k.expected_pages(100_000)) == [100, 101]
    assert list(care_fanout_100k.expected_pages(230, 100)) == [3]
    assert list(care_fanout_100k.expected_pages(0)) == [1]
