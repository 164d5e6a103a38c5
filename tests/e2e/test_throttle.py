"""API Gateway's stage throttle on the local stack: over the burst, a request is answered 429 in the one error
envelope before the app sees it, and the bucket fills again at the rate. Here with a small bucket of its own
(`--throttle 1,3`); the stages' own limits are the template's (tests/aws/test_template.py)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import READY_TIMEOUT_SECONDS, STOP_TIMEOUT_SECONDS, Http, StackProcess, address, free_ports
from tests.e2e.test_error_envelope import envelope


def test_over_the_burst_a_request_is_a_429_in_the_envelope(tmp_path: Path) -> None:
    api_port, aws_port = free_ports(2)
    process = StackProcess(api_port, aws_port, tmp_path / "data")
    process.command += ["--throttle", "0.001,3"]  # three at once, then one every 1,000 s: no refill in the test
    process.start()
    try:
        process.wait_ready(READY_TIMEOUT_SECONDS)
        api = Http(address(process.output, "CareCue API:"))

        answers = [api.raw("GET", "/v1/appointments") for _ in range(5)]
        local = api.raw("GET", "/_local/clock")  # the stack's own routes are not behind the gateway
    finally:
        process.terminate(STOP_TIMEOUT_SECONDS)
        process.kill()

    assert [status for status, _, _ in answers] == [401, 401, 401, 429, 429]
    error = envelope(answers[3][1], answers[3][2])
    assert (error["code"], error["message"]) == ("throttled", "too many requests: wait a moment and retry")
    assert local[0] == 200
