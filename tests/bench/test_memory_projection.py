"""The memory figure of `make bench` projects the local stack's RSS to 10,000 bookings from its checkpoints: a
reading that fell after an allocator trim must not make the projection show no growth (it did, in the run of
1 December 2026 below: 0 MB per 1k, and 275 MB projected at 10,000)."""

from __future__ import annotations

import pytest

from infra.bench.memory import Checkpoint, growth_per_booking, projected_rss_mb

# The readings of that run (bookings, MB): the last fell below the one before it.
TRIMMED = [Checkpoint(250, 221.0, 48.0), Checkpoint(500, 241.0, 99.0), Checkpoint(900, 255.0, 187.0)]
TRIMMED.append(Checkpoint(1_000, 240.0, 209.0))


def test_a_trimmed_last_reading_still_projects_the_growth_of_every_reading() -> None:
    assert growth_per_booking(TRIMMED) * 1000 == pytest.approx(30.6, abs=0.1)
    # from the highest reading (255 MB), 9,000 bookings more at that slope
    assert projected_rss_mb(TRIMMED, 10_000) == pytest.approx(255.0 + 9_000 * growth_per_booking(TRIMMED))
    assert projected_rss_mb(TRIMMED, 10_000) > 500


def test_steady_growth_projects_along_its_line_and_a_shrinking_run_projects_no_growth() -> None:
    steady = [Checkpoint(n, 200.0 + n * 0.05, 0.0) for n in (250, 500, 900, 1_000)]
    assert projected_rss_mb(steady, 10_000) == pytest.approx(200.0 + 10_000 * 0.05)
    shrinking = [Checkpoint(250, 300.0, 0.0), Checkpoint(1_000, 250.0, 0.0)]
    assert projected_rss_mb(shrinking, 10_000) == 300.0
    assert projected_rss_mb(shrinking[:1], 10_000) == 300.0  # one reading: nothing to project from
