"""What one invocation costs in AWS infrastructure, from its counted calls, measured time and log bytes.

Published on-demand prices for us-east-1 (x86 Lambda, REST API Gateway, DynamoDB on-demand after the
November 2024 cut, EventBridge Scheduler, CloudWatch Logs standard ingestion), without free tiers. Left out
because they do not grow with messages: CloudWatch custom metrics (per metric-month), log storage, the
SQS dead-letter queue (empty when all is well), and SSM standard parameters (free).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LAMBDA_REQUEST_USD = 0.20 / 1_000_000
LAMBDA_GB_SECOND_USD = 0.0000166667
LAMBDA_MEMORY_GB = 256 / 1024  # .chalice/config.json lambda_memory_size
API_GATEWAY_REST_REQUEST_USD = 3.50 / 1_000_000
DYNAMODB_WRITE_UNIT_USD = 0.625 / 1_000_000
DYNAMODB_READ_UNIT_USD = 0.125 / 1_000_000
SCHEDULER_INVOCATION_USD = 1.00 / 1_000_000
LOG_INGESTION_USD_PER_BYTE = 0.50 / 1024**3

# moto answers in process at its own speed (5-20 ms a call here, mostly its request parsing and response
# serialising); on AWS each call is instead a network round trip that Lambda bills. Billed time is modelled as
# the measured time outside AWS calls plus these typical latencies from a Lambda in the same region.
AWS_CALL_LATENCY_SECONDS = {"dynamodb": 0.008, "sns": 0.030, "ses": 0.040, "scheduler": 0.020, "ssm": 0.010}
OTHER_CALL_LATENCY_SECONDS = 0.020

# Lambda's own lines per invocation (START, END, REPORT), about 290 bytes with request ids and figures.
LAMBDA_PLATFORM_LOG_BYTES = 290


@dataclass(frozen=True)
class Invocation:
    """One Lambda invocation as measured: what it cost to run, before prices."""

    billed_seconds: float
    read_units: float
    write_units: float
    log_bytes: int
    through_api_gateway: bool = False
    scheduler_invocation: bool = False

    def cost_usd(self) -> float:
        billed_ms = math.ceil(self.billed_seconds * 1000)  # Lambda bills by the millisecond
        return (
            LAMBDA_REQUEST_USD
            + billed_ms / 1000 * LAMBDA_MEMORY_GB * LAMBDA_GB_SECOND_USD
            + self.read_units * DYNAMODB_READ_UNIT_USD
            + self.write_units * DYNAMODB_WRITE_UNIT_USD
            + (self.log_bytes + LAMBDA_PLATFORM_LOG_BYTES) * LOG_INGESTION_USD_PER_BYTE
            + (API_GATEWAY_REST_REQUEST_USD if self.through_api_gateway else 0.0)
            + (SCHEDULER_INVOCATION_USD if self.scheduler_invocation else 0.0)
        )


def modelled_billed_seconds(wall_seconds: float, seconds_in_calls: float, calls_by_service: dict[str, int]) -> float:
    """Wall time with moto's in-process answers swapped for AWS's network round trips."""
    network = sum(
        n * AWS_CALL_LATENCY_SECONDS.get(service, OTHER_CALL_LATENCY_SECONDS) for service, n in calls_by_service.items()
    )
    return max(0.0, wall_seconds - seconds_in_calls) + network
