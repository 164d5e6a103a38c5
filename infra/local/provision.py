"""Creates a stage's AWS resources on the embedded local AWS (moto) through the code paths the app uses: tables
from the PynamoDB models, the schedule group, a verified SES sender and the reminders' dead-letter queue.
On AWS the CloudFormation stack creates the same resources; this never runs there."""

from __future__ import annotations

import secrets
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.settings import Settings
from chalicelib.store.models import bind_tables, create_tables


def provision(settings: Settings, session: Any) -> None:
    bind_tables(settings.resource_prefix, settings.region)
    create_tables()
    scheduler = session.client("scheduler", region_name=settings.region)
    try:
        scheduler.create_schedule_group(Name=settings.schedule_group)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConflictException":
            raise
    # Sending from an unverified identity fails on moto as on AWS.
    session.client("ses", region_name=settings.region).verify_email_identity(EmailAddress=settings.ses_sender)
    queue_name = settings.dead_letter_queue_arn.rsplit(":", 1)[-1]
    session.client("sqs", region_name=settings.region).create_queue(QueueName=queue_name)
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
