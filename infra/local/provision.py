"""Creates a stage's AWS resources on the embedded local AWS (moto) through the code paths the app uses: tables
from the PynamoDB models, the schedule group, a verified SES sender, the reminders' dead-letter queue and the
re-plan queue with its own.
On AWS the CloudFormation stack creates the same resources; this never runs there. It runs at every start,
also of a stack restored from its data folder, so each step leaves what exists as it is."""

from __future__ import annotations

import json
import secrets
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.clinics.replan import MAX_RECEIVES, VISIBILITY_TIMEOUT_SECONDS
from chalicelib.fire.queue import FIRE_ATTEMPTS, FIRE_QUEUE_VISIBILITY_SECONDS
from chalicelib.settings import Settings
from chalicelib.store.models import bind_tables, create_tables


def provision(settings: Settings, session: Any) -> None:
    bind_tables(settings.resource_prefix, settings.region)
    create_tables()
    scheduler = session.client("scheduler", region_name=settings.region)
    # Looked up first: moto's CreateScheduleGroup replaces an existing group, and with it every schedule of a
    # restored stack (AWS answers ConflictException, still handled).
    try:
        scheduler.get_schedule_group(Name=settings.schedule_group)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        try:
            scheduler.create_schedule_group(Name=settings.schedule_group)
        except ClientError as conflict:
            if conflict.response["Error"]["Code"] != "ConflictException":
                raise
    # Sending from an unverified identity fails on moto as on AWS.
    session.client("ses", region_name=settings.region).verify_email_identity(EmailAddress=settings.ses_sender)
    if settings.ses_configuration_set:  # its events are infra/local/ses_events.py's
        ses = session.client("ses", region_name=settings.region)
        try:
            ses.create_configuration_set(ConfigurationSet={"Name": settings.ses_configuration_set})
        except ClientError as exists:
            if exists.response["Error"]["Code"] != "ConfigurationSetAlreadyExists":
                raise
    queue_name = settings.dead_letter_queue_arn.rsplit(":", 1)[-1]
    sqs = session.client("sqs", region_name=settings.region)
    sqs.create_queue(QueueName=queue_name)
    provision_fire_queue(settings, sqs)
    provision_replan_queue(settings, sqs)
    # The patient-link signing key; on AWS the stack's deploy creates it the same way, once.
    ssm = session.client("ssm", region_name=settings.region)
    try:
        ssm.put_parameter(
            Name=settings.link_key_parameter,
            Value=secrets.token_urlsafe(32),
            Type="SecureString",
            Overwrite=False,
            Description="CareCue patient link signing key",
        )
    except ClientError as e:
        if e.response["Error"]["Code"] != "ParameterAlreadyExists":
            raise


def provision_fire_queue(settings: Settings, sqs: Any) -> None:
    """The queue Scheduler delivers reminder timers to, as the stack makes it: after its last attempt a timer goes
    to the reminders' dead-letter queue (which must exist already)."""
    redrive = json.dumps({"deadLetterTargetArn": settings.dead_letter_queue_arn, "maxReceiveCount": str(FIRE_ATTEMPTS)})
    sqs.create_queue(
        QueueName=settings.fire_queue_name,
        Attributes={"VisibilityTimeout": str(FIRE_QUEUE_VISIBILITY_SECONDS), "RedrivePolicy": redrive},
    )


def provision_replan_queue(settings: Settings, sqs: Any) -> None:
    """The re-plan queue as the stack makes it: its dead-letter queue takes a job after its last attempt."""
    dead_letters = sqs.create_queue(QueueName=settings.replan_dead_letter_queue_name)["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(MAX_RECEIVES)})
    sqs.create_queue(
        QueueName=settings.replan_queue_name,
        # Real seconds, which the simulated clock does not move: a failed job waits for them, as on AWS.
        Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS), "RedrivePolicy": redrive},
    )
