"""The local stack's throttle, API Gateway's token bucket: a burst at once, then the rate."""

from __future__ import annotations

from infra.local.gateway import TokenBucket


def test_a_burst_goes_at_once_then_requests_go_at_the_rate() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=2.0, burst=3, now=lambda: now[0])

    burst = [bucket.take() for _ in range(4)]
    now[0] += 0.5  # half a second at 2 a second: one more
    after_half_a_second = [bucket.take(), bucket.take()]
    now[0] += 60  # a long pause refills to the burst, never past it
    after_a_minute = [bucket.take() for _ in range(4)]

    assert burst == [True, True, True, False]
    assert after_half_a_second == [True, False]
    assert after_a_minute == [True, True, True, False]
