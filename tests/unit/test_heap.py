"""The cold start's freeze of process-long state (`chalicelib.core.heap`) is bounded: a long-lived process that
builds compositions again and again (the tests, the local stack) stops freezing after `FREEZES`, so it does not
keep each composition's garbage cycles for good. (What the freeze saves a cold start is `make bench`'s figure.)"""

from __future__ import annotations

import gc

from chalicelib.core.heap import FREEZES, settle


def test_a_process_freezes_at_most_freezes_times_and_then_leaves_new_objects_to_the_collector() -> None:
    for _ in range(FREEZES + 1):
        settle()
    frozen = gc.get_freeze_count()

    built_later = [[index] for index in range(10_000)]  # a later composition's state: tracked containers
    settle()

    assert gc.get_freeze_count() == frozen
    assert built_later
