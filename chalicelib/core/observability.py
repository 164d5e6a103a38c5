"""Logging and metrics, set up once for every handler (Powertools).

Logs are JSON with ids only: never a name, phone number, email or medication. Metrics go out as CloudWatch
embedded metric format (EMF) in the log stream, which costs no API call; their dimensions are low-cardinality
(service, channel), never a clinic or patient id.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "carecue"
NAMESPACE = "CareCue"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count(name: str, *, channel: str, value: float = 1) -> None:
    """A count with a channel dimension, flushed at once (a metric set has one dimension set)."""
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        metric.add_dimension(name="channel", value=channel)


# No Powertools Tracer: it imports aws_xray_sdk, measured here at 270 ms of import time (more than the whole
# platform cold start); Lambda's active tracing records each invocation without it.
