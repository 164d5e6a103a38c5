"""The chaos run (infra/bench/chaos.py), small: appointments and regimens over one simulated day (and the night
and morning after it) on a local stack of its own under the fault switch `scheduler=0.3,sns=0.3,ses=0.3,
dynamodb=0.1`. Every confirmation, reminder, dose reminder and follow-up reaches its patient exactly once;
bookings the API answered with a 5xx are sent again by the client with the same `external_id` and count once.
The full run (200 appointments, 20 regimens, three days) takes far longer than `make test` can give it, so it is
`make chaos` (docs/reliability.md). One day rather than two: the run's time is the clock's hourly steps (each
runs the reconciler, whose faulted calls botocore backs off in real time), and the second day took ~45 of its
~170 s while sending the same kinds of message again."""

from __future__ import annotations

from pathlib import Path

from infra.bench.chaos import FAULTS, run_chaos


def test_under_faults_every_expected_message_arrives_exactly_once(tmp_path: Path) -> None:
    log = tmp_path / "stack.log"
    report = run_chaos(appointments=8, regimens=2, days=1, faults=FAULTS, seed=7, data=tmp_path / "data", log=log)

    assert report.exactly_once, report.summary() + f"\n(the stack's output: {log})"
    assert report.expected == 8 * 3 + 2 * 1 * 2 * 2  # 3 per appointment; 2 doses a day, each with its follow-up
    assert report.arrived == report.expected
    # The switch was on: the app called every service in it, and each service it called often failed some of those
    # calls, which botocore retried. SES is called only a few times here (6 emails), and a share of 0.3 of six
    # draws no fault one run in eight (0.7 ** 6), so it is not required to fail: the full run (make chaos) faults it.
    for service in ("scheduler", "sns", "ses", "dynamodb"):
        assert report.faults_by_service[service]["requests"] > 0, service
    for service in ("scheduler", "sns", "dynamodb"):
        figures = report.faults_by_service[service]
        assert figures["faulted"] > 0 and figures["retries"] > 0, (service, figures)
