"""Running the re-plan jobs that `PUT /v1/clinic` queued, as Lambda's SQS event source would: each message on
the test stage's re-plan queue (in moto) goes to the `replan` function through Chalice's test client."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from app import app
from infra.local.queue_worker import QueueWorker
from tests.conftest import World


def run_replan_jobs(world: World) -> int:
    """Runs every queued re-plan job, and the jobs they queue for the next pages; returns how many ran."""
    with Client(app, stage_name="local") as client:

        def invoke(event: dict[str, Any]) -> Any:
            return client.lambda_.invoke("replan", event).payload

        return QueueWorker(world.services.sqs, world.services.settings.replan_queue_name, invoke).drain()


def take_replan_jobs(world: World) -> list[str]:
    """Takes the queued re-plan jobs off the queue, unrun: their message bodies."""
    sqs = world.services.sqs
    url = sqs.get_queue_url(QueueName=world.services.settings.replan_queue_name)["QueueUrl"]
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def run_replan_job(body: str, attempt: int = 1) -> Any:
    """Delivers one job to the `replan` function (its `attempt`-th receive); what the function returned."""
    with Client(app, stage_name="local") as client:
        event = client.events.generate_sqs_event(message_bodies=[body], queue_name="carecue-test-replan")
        event["Records"][0]["attributes"]["ApproximateReceiveCount"] = str(attempt)
        return client.lambda_.invoke("replan", event).payload
