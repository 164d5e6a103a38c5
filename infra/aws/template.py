"""The CloudFormation that `chalice package --merge-template` adds to Chalice's own SAM template: everything a
stage needs besides the functions and the API, in one stack per stage.

`python -m infra.aws.template --stage dev --out build/dev/resources.json` writes it. It is generated, not
written by hand, so that the tables come from the PynamoDB models and every name from `chalicelib.settings`.
Chalice's template is merged under it: a key given here replaces Chalice's (a list as a whole), which is how
the functions get their environment and the shared role its least-privilege policy.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chalicelib.clinics.replan import MAX_RECEIVES, VISIBILITY_TIMEOUT_SECONDS
from chalicelib.edge.gateway import API_BURST_LIMIT, API_RATE_LIMIT, GATEWAY_ANSWERS
from chalicelib.fire.queue import FIRE_ATTEMPTS, FIRE_QUEUE_VISIBILITY_SECONDS
from chalicelib.settings import parameter_path, resource_prefix
from infra.aws.checkov_skips import add_skips
from infra.aws.tables import table_logical_id, table_resources

STAGES = ("dev", "prod")
NAMESPACE = "CareCue"  # chalicelib.core.observability.NAMESPACE; the dashboard and alarms read these metrics
SERVICE = "carecue"
CHANNELS = ("sms", "email")
# Chalice's logical ids: the REST API's function, the timer target and the hourly reconciler.
API_FUNCTION = "APIHandler"
FIRE_FUNCTION = "Fire"
RECONCILE_FUNCTION = "Reconcile"
EMAIL_FEEDBACK_FUNCTION = "EmailFeedback"
INBOUND_SMS_FUNCTION = "InboundSms"
WHATSAPP_EVENTS_FUNCTION = "WhatsappEvents"
REPLAN_FUNCTION = "Replan"
FIRE_QUEUE_AGE_ALARM_SECONDS = 300
FIRE_BATCH_FUNCTION = "FireBatch"  # app.py `fire_batch`: takes the FireQueue's reminder timers
# Scheduler keeps a dead-lettered event 14 days here (the SQS maximum) for `redrive-dlq`.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
# The fire function's reserved concurrency, sized to what it sends: SNS sends SMS at 20 messages a second per
# account by default (SES at 14 emails a second once out of its sandbox); one invocation sends one message in
# about half a second, so 10 at once is ~20 messages a second. A 9:00 burst of reminders then queues in
# Lambda's async queue (throttled events are retried for up to 6 hours) instead of meeting SNS's throttle or
# taking the API's concurrency. Raise it with the account's SMS throughput quota.
FIRE_RESERVED_CONCURRENCY = 10
# One hourly reconciler at a time: two would re-arm the same timers twice over.
RECONCILE_RESERVED_CONCURRENCY = 1
# The API's access log: long enough in prod for an audit to look back a year; CloudWatch bills by stored GB.
ACCESS_LOG_RETENTION_DAYS = {"dev": 30, "prod": 365}
# What the access log records of each request: who (the clinic id the authorizer found), what (the route's
# template, e.g. /p/{token}, never the path itself, which carries patient-link and board tokens; no query
# string, which carries a form webhook's ?token= secret), when and how it ended. No caller IP and no user
# agent: a patient opening a link is identified by neither, and HIPAA counts an IP address as an identifier.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "request_id": "$context.requestId",
        "time": "$context.requestTimeEpoch",
        "method": "$context.httpMethod",
        "route": "$context.resourcePath",
        "status": "$context.status",
        "bytes": "$context.responseLength",
        "latency_ms": "$context.responseLatency",
        "clinic_id": "$context.authorizer.principalId",
        "gateway_error": "$context.error.responseType",
    },
    separators=(",", ":"),
)


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _arn(service: str, resource: str) -> dict[str, str]:
    return _sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def fire_function_name(stage: str) -> str:
    return f"{resource_prefix(stage)}-fire"


def merge_template(stage: str) -> dict[str, Any]:
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    prod = stage == "prod"
    prefix = resource_prefix(stage)
    resources: dict[str, Any] = {}
    resources.update(table_resources(stage, protect=prod))
    resources.update(_timers(stage))
    resources.update(_messaging(stage))
    resources.update(_jobs(stage))
    resources.update(_parameters(stage))
    resources.update(_functions(stage))
    resources.update(_alarms(stage))
    resources.update(_dashboard(stage))
    resources.update(_saved_queries(stage))
    resources.update(_gateway_responses())
    access_log = _access_log(stage)
    rest_api = access_log.pop("RestAPI")  # the same resource as the gateway responses': merged, not replaced
    resources.update(access_log)
    resources["RestAPI"]["DependsOn"] = rest_api["DependsOn"]
    resources["RestAPI"]["Properties"].update(rest_api["Properties"])
    add_skips(resources, [table_logical_id(name) for name in _table_names()])
    return {
        "Description": f"CareCue, stage {stage}: API, reminder timers, tables, messaging, alarms and dashboard",
        "Parameters": {
            "AdminEmail": {
                "Type": "String",
                "Description": "Where alarms go: confirm the subscription email AWS sends after the first deploy",
                "AllowedPattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
            },
            "SesSender": {
                "Type": "String",
                "Description": "The From address of reminder emails: SES-verified, or at a verified domain",
                "AllowedPattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
            },
            "PublicUrl": {
                "Type": "String",
                "Default": "",
                "Description": "Where patients open their links (/p/...): the API's URL or its custom domain; "
                "empty sends messages without links",
                "AllowedPattern": r"^(https://\S+)?$",
            },
            "WhatsAppPhoneNumberArns": {
                "Type": "CommaDelimitedList",
                "Default": "",
                "Description": "The stage's WhatsApp senders in End User Messaging Social, comma separated "
                "(arn:aws:social-messaging:REGION:ACCOUNT:phone-number-id/ID); empty: the stage sends no WhatsApp",
            },
            "TopicsKeyArn": {
                "Type": "String",
                "Default": "",
                "Description": "A customer-managed KMS key (about $1 a month) whose key policy lets sms-voice, "
                "social-messaging, ses and cloudwatch use it: the SNS topics are encrypted with it "
                "(docs/security.md); empty: they are not",
                "AllowedPattern": r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36})?$",
            },
        },
        "Conditions": {
            "HasWhatsApp": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "WhatsAppPhoneNumberArns"}]}, ""]}]},
            "EncryptTopics": {"Fn::Not": [{"Fn::Equals": [{"Ref": "TopicsKeyArn"}, ""]}]},
        },
        "Globals": {
            "Function": {
                # The settings every function reads (chalicelib.settings), from this stack's own resources.
                "Environment": {
                    "Variables": {
                        "CARECUE_STAGE": stage,
                        "CARECUE_SES_SENDER": {"Ref": "SesSender"},
                        # A name, not Fn::GetAtt: the fire function's own environment holds it too.
                        "CARECUE_FIRE_FUNCTION_ARN": _arn("lambda", f"function:{fire_function_name(stage)}"),
                        "CARECUE_SCHEDULER_ROLE_ARN": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
                        "CARECUE_DEAD_LETTER_QUEUE_ARN": {"Fn::GetAtt": ["RemindersDeadLetterQueue", "Arn"]},
                        "CARECUE_FIRE_QUEUE_ARN": {"Fn::GetAtt": ["FireQueue", "Arn"]},
                        "CARECUE_SES_CONFIGURATION_SET": {"Ref": "EmailConfigurationSet"},
                        "CARECUE_PUBLIC_URL": {"Ref": "PublicUrl"},
                    }
                },
            }
        },
        "Resources": resources,
        "Outputs": {
            "ScheduleGroup": {"Value": {"Ref": "ScheduleGroup"}},
            "DeadLetterQueueUrl": {"Value": {"Ref": "RemindersDeadLetterQueue"}},
            "ReplanDeadLetterQueueUrl": {"Value": {"Ref": "ReplanDeadLetterQueue"}},
            "InboundSmsTopicArn": {"Value": {"Ref": "InboundSmsTopic"}},
            "WhatsAppEventsTopicArn": {"Value": {"Ref": "WhatsAppEventsTopic"}},
            "EmailConfigurationSet": {"Value": {"Ref": "EmailConfigurationSet"}},
            "Dashboard": {
                "Value": _sub(
                    "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home"
                    f"?region=${{AWS::Region}}#dashboards:name={prefix}"
                )
            },
        },
    }


def _gateway_responses() -> dict[str, Any]:
    """What API Gateway answers by itself (no key, a wrong key, no such route, throttled, too large, ...) in
    the app's error envelope, from chalicelib/edge/gateway.py's table, which the local stack answers from too.

    In the API's own definition (the x-amazon-apigateway-gateway-responses extension, merged into the
    DefinitionBody Chalice writes for its RestAPI), not as AWS::ApiGateway::GatewayResponse resources: SAM's
    deployment is a snapshot of the definition, so a change here redeploys the stage, while a separate
    resource takes effect only at some later, unrelated deployment.
    """
    responses: dict[str, Any] = {}
    for answer in GATEWAY_ANSWERS:
        response: dict[str, Any] = {"responseTemplates": {"application/json": answer.response_template()}}
        if answer.status is not None:
            response["statusCode"] = str(answer.status)
        responses[answer.response_type] = response
    return {
        "RestAPI": {"Properties": {"DefinitionBody": {"x-amazon-apigateway-gateway-responses": responses}}},
    }


def _access_log(stage: str) -> dict[str, Any]:
    """The REST API's access log (ACCESS_LOG_FORMAT) in a log group with a retention, merged into Chalice's RestAPI.

    API Gateway writes access logs with a role set once per account and region (AWS::ApiGateway::Account), not
    per API. Each stage's stack sets it to its own role and keeps both on delete (Retain), so deleting the dev
    stack never leaves prod's access log pointing at a deleted role; the role has no fixed name, so a stack
    made again does not clash with the one left behind.
    """
    prefix = resource_prefix(stage)
    return {
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": f"/aws/apigateway/{prefix}-access",
                "RetentionInDays": ACCESS_LOG_RETENTION_DAYS[stage],
            },
        },
        "ApiGatewayLogsRole": {
            "Type": "AWS::IAM::Role",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    _sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}},
        },
        "RestAPI": {
            # The stage's access logging fails to deploy until the account's logging role is set.
            "DependsOn": ["ApiGatewayAccount"],
            "Properties": {
                "AccessLogSetting": {
                    "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                    "Format": ACCESS_LOG_FORMAT,
                },
                # Beyond these, API Gateway answers 429 itself, in the envelope of its THROTTLED gateway response.
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingRateLimit": API_RATE_LIMIT,
                        "ThrottlingBurstLimit": API_BURST_LIMIT,
                    }
                ],
            },
        },
    }


def _timers(stage: str) -> dict[str, Any]:
    prefix = resource_prefix(stage)
    return {
        "ScheduleGroup": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {"Name": prefix}},
        "RemindersDeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": f"{prefix}-reminders-dlq",
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
        # Where Lambda puts an event the reply handlers (SMS replies, email bounces) or the reconciler failed on
        # after its own two retries, kept 14 days for a look; the fire function's go to the reminders' queue
        # above, where `redrive-dlq` sends them again.
        "AsyncFailuresQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": f"{prefix}-async-failures",
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
        # Where Scheduler delivers a reminder's timer, for the fire_batch function to take up to 10 at once
        # (app.py `fire_batch`, chalicelib/fire/queue.py). A message the function reports failed is made visible
        # again after Scheduler's own back-off (1, 2, 4, 8, 16 minutes), and after its last attempt goes to the
        # reminders' dead-letter queue with the events Scheduler could not deliver: one queue, one alarm, one
        # `redrive-dlq`. The visibility timeout is how long a batch may run before SQS hands it out again.
        "FireQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": f"{prefix}-fire",
                "VisibilityTimeout": FIRE_QUEUE_VISIBILITY_SECONDS,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["RemindersDeadLetterQueue", "Arn"]},
                    "maxReceiveCount": FIRE_ATTEMPTS,
                },
                "SqsManagedSseEnabled": True,
            },
        },
        # What EventBridge Scheduler assumes to run a timer: queue a reminder's, invoke the fire function for the
        # others, dead-letter an event it could not deliver. Nothing more.
        "SchedulerRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": _sub(f"{prefix}-scheduler-${{AWS::Region}}"),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            # Only schedules of this account may use the role (no confused deputy).
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "invoke-fire-and-dead-letter",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "lambda:InvokeFunction",
                                    "Resource": _arn("lambda", f"function:{fire_function_name(stage)}"),
                                },
                                {
                                    "Effect": "Allow",
                                    "Action": "sqs:SendMessage",
                                    "Resource": [
                                        {"Fn::GetAtt": ["FireQueue", "Arn"]},
                                        {"Fn::GetAtt": ["RemindersDeadLetterQueue", "Arn"]},
                                    ],
                                },
                            ],
                        },
                    }
                ],
            },
        },
    }


def _jobs(stage: str) -> dict[str, Any]:
    """The background re-plan of `PUT /v1/clinic`: an SQS queue the API function sends a job to and the replan
    function takes from (Chalice's event source mapping), and the dead-letter queue a job goes to after its
    last attempt. SQS rather than an asynchronous Lambda invocation: a job that fails is retried with its own
    visibility timeout and kept 14 days for a look, and the same queue runs on moto in the tests and locally."""
    prefix = resource_prefix(stage)
    return {
        "ReplanDeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": f"{prefix}-replan-dlq",
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
        "ReplanQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": f"{prefix}-replan",
                "VisibilityTimeout": VISIBILITY_TIMEOUT_SECONDS,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["ReplanDeadLetterQueue", "Arn"]},
                    "maxReceiveCount": MAX_RECEIVES,
                },
                "SqsManagedSseEnabled": True,
            },
        },
    }


def _messaging(stage: str) -> dict[str, Any]:
    prefix = resource_prefix(stage)

    def topic_policy(topic: str, service: str) -> dict[str, Any]:
        return {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": topic}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": service},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": topic},
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    ],
                },
            },
        }

    def topic(name: str) -> dict[str, Any]:
        # AWS services publish to these topics only under a key whose policy names them, so the AWS-managed
        # alias/aws/sns key cannot be used (docs/security.md): the stage's own key, when it is given one.
        key = {"Fn::If": ["EncryptTopics", {"Ref": "TopicsKeyArn"}, {"Ref": "AWS::NoValue"}]}
        return {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{prefix}-{name}", "KmsMasterKeyId": key}}

    return {
        # Two-way SMS (AWS End User Messaging) publishes patients' replies here; point the origination
        # identity's two-way channel at this topic.
        "InboundSmsTopic": topic("inbound-sms"),
        "InboundSmsTopicPolicy": topic_policy("InboundSmsTopic", "sms-voice.amazonaws.com"),
        # The WhatsApp Business Account's event destination (inbound messages and statuses): set it to this topic
        # in the End User Messaging Social console. A standard topic: the service refuses FIFO ones.
        "WhatsAppEventsTopic": topic("whatsapp-events"),
        "WhatsAppEventsTopicPolicy": topic_policy("WhatsAppEventsTopic", "social-messaging.amazonaws.com"),
        # Bounces and complaints of every email sent with the configuration set arrive here.
        "EmailFeedbackTopic": topic("email-feedback"),
        "EmailFeedbackTopicPolicy": topic_policy("EmailFeedbackTopic", "ses.amazonaws.com"),
        "EmailConfigurationSet": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"Name": prefix}},
        "EmailFeedbackDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": {"Ref": "EmailConfigurationSet"},
                "EventDestination": {
                    "Name": "bounces-and-complaints",
                    "Enabled": True,
                    "MatchingEventTypes": ["bounce", "complaint"],
                    "SnsDestination": {"TopicARN": {"Ref": "EmailFeedbackTopic"}},
                },
            },
        },
        "AlarmTopic": topic("alarms"),
        "AlarmEmail": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AdminEmail"}},
        },
    }


def _parameters(stage: str) -> dict[str, Any]:
    """The stage's map for people and tools: what is where. Secrets are SecureString parameters, which
    CloudFormation cannot create: the admin CLI writes them (a clinic's webhook secret) under the same path."""
    prefix = resource_prefix(stage)
    # What the admin CLI needs to act for the stage (chalicelib.admin.stage reads it): the functions' settings.
    stage_map = {
        "stage": stage,
        "ses_sender": "${SesSender}",
        "fire_function_arn": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
        + fire_function_name(stage),
        "scheduler_role_arn": "${SchedulerRole.Arn}",
        "dead_letter_queue_arn": "${RemindersDeadLetterQueue.Arn}",
        "dead_letter_queue_url": "${RemindersDeadLetterQueue}",
        "fire_queue_arn": "${FireQueue.Arn}",
        "schedule_group": prefix,
        "tables": {name: f"{prefix}-{name}" for name in _table_names()},
        "email_configuration_set": prefix,
        "dashboard": prefix,
    }
    return {
        "StageParameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": f"{parameter_path(stage)}/stage",
                "Type": "String",
                "Description": "CareCue: where this stage's resources are",
                # Fn::Sub fills in the ${...} above; the JSON holds no other "${".
                "Value": _sub(json.dumps(stage_map, sort_keys=True)),
            },
        },
        "ApiUrlParameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": f"{parameter_path(stage)}/api-url",
                "Type": "String",
                "Description": "CareCue: the REST API's base URL",
                "Value": _sub("https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"),
            },
        },
    }


def _table_names() -> list[str]:
    from chalicelib.store.models import TABLES

    return list(TABLES)


def _functions(stage: str) -> dict[str, Any]:
    """Overrides of Chalice's resources: the fire function's fixed name (Scheduler targets it by ARN) and the
    functions' shared role, narrowed to this stage's resources."""
    prefix = resource_prefix(stage)
    tables = [{"Fn::GetAtt": [table_logical_id(name), "Arn"]} for name in _table_names()]
    indexes = [_sub(f"${{{table_logical_id(name)}.Arn}}/index/*") for name in _table_names()]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            # The log groups are the stack's own (Chalice's log_retention_in_days); the stack is named {prefix}.
            "Resource": _arn("logs", f"log-group:/aws/lambda/{prefix}-*:*"),
        },
        {
            "Sid": "Tables",
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeTable",
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
            ],
            "Resource": tables + indexes,
        },
        {
            "Sid": "Timers",
            "Effect": "Allow",
            "Action": [
                "scheduler:CreateSchedule",
                "scheduler:UpdateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
            ],
            "Resource": _arn("scheduler", f"schedule/{prefix}/*"),
        },
        {
            # The reconciler recreates the stage's group if it was deleted (chalicelib/arm/timers.py ensure_group).
            "Sid": "TimerGroup",
            "Effect": "Allow",
            "Action": ["scheduler:GetScheduleGroup", "scheduler:CreateScheduleGroup"],
            "Resource": _arn("scheduler", f"schedule-group/{prefix}"),
        },
        {
            # ListSchedules has no resource-level permission: AWS only accepts "*" for it.
            "Sid": "ListTimers",
            "Effect": "Allow",
            "Action": "scheduler:ListSchedules",
            "Resource": "*",
        },
        {
            "Sid": "HandTimersTheirRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        },
        {
            # An SMS to a phone number has no ARN to name: SNS only accepts "*" for direct publishing.
            "Sid": "Sms",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": "*",
        },
        {
            # Exactly the one WhatsApp call, from the stage's own senders; no statement when it has none.
            "Fn::If": [
                "HasWhatsApp",
                {
                    "Sid": "WhatsApp",
                    "Effect": "Allow",
                    "Action": "social-messaging:SendWhatsAppMessage",
                    "Resource": {"Ref": "WhatsAppPhoneNumberArns"},
                },
                {"Ref": "AWS::NoValue"},
            ]
        },
        {
            "Sid": "Email",
            "Effect": "Allow",
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": [_arn("ses", "identity/*"), _arn("ses", f"configuration-set/{prefix}")],
        },
        {
            # The API function queues a re-plan job and the replan function its next page; Lambda's event
            # source mapping receives and deletes them with the same role.
            "Sid": "ReplanJobs",
            "Effect": "Allow",
            "Action": [
                "sqs:GetQueueUrl",
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            "Resource": {"Fn::GetAtt": ["ReplanQueue", "Arn"]},
        },
        {
            # The fire_batch function's event source mapping takes reminder timers with the function's role; the
            # function itself only delays a failed one's next attempt (ChangeMessageVisibility).
            "Sid": "FireQueue",
            "Effect": "Allow",
            "Action": [
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            "Resource": {"Fn::GetAtt": ["FireQueue", "Arn"]},
        },
        {
            # Lambda's dead-letter queues of the asynchronously invoked functions, sent with the function's role.
            "Sid": "DeadLetters",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": [
                {"Fn::GetAtt": ["RemindersDeadLetterQueue", "Arn"]},
                {"Fn::GetAtt": ["AsyncFailuresQueue", "Arn"]},
            ],
        },
        {
            "Sid": "Parameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
            "Resource": _arn("ssm", f"parameter{parameter_path(stage)}/*"),
        },
        {
            # SecureString parameters are encrypted with the account's aws/ssm key; decrypt only through SSM.
            "Sid": "DecryptParameters",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": _arn("kms", "key/*"),
            "Condition": {"StringEquals": {"kms:ViaService": _sub("ssm.${AWS::Region}.amazonaws.com")}},
        },
    ]
    return {
        FIRE_FUNCTION: {
            "Properties": {
                "FunctionName": fire_function_name(stage),
                "ReservedConcurrentExecutions": FIRE_RESERVED_CONCURRENCY,
                # A timer event the function failed on three times (Lambda's async retries) joins the events
                # Scheduler could not deliver: one queue, one alarm, one `redrive-dlq`, which sends it at most once.
                "DeadLetterQueue": _dead_letter_queue("RemindersDeadLetterQueue"),
            }
        },
        RECONCILE_FUNCTION: {
            "Properties": {
                "ReservedConcurrentExecutions": RECONCILE_RESERVED_CONCURRENCY,
                "DeadLetterQueue": _dead_letter_queue("AsyncFailuresQueue"),
            }
        },
        # Chalice 1.34 names the REST handler's log group after `ApiHandler`, a resource that does not exist
        # (the function is `APIHandler`); without this the stack fails to create.
        "ApiHandlerLogGroup": {"Properties": {"LogGroupName": _sub(f"/aws/lambda/${{{API_FUNCTION}}}")}},
        # app.py subscribes by a fixed topic name; each stage has its own topic, so point the event at it. The
        # merge replaces only the Fn::Sub string inside Chalice's Topic, and "${EmailFeedbackTopic}" is its Ref.
        EMAIL_FEEDBACK_FUNCTION: {
            "Properties": {
                "DeadLetterQueue": _dead_letter_queue("AsyncFailuresQueue"),
                "Events": {
                    f"{EMAIL_FEEDBACK_FUNCTION}SnsSubscription": {
                        "Type": "SNS",
                        "Properties": {"Topic": _sub("${EmailFeedbackTopic}")},
                    }
                },
            }
        },
        # The same for the patients' SMS replies: the stage's own inbound-SMS topic.
        INBOUND_SMS_FUNCTION: {
            "Properties": {
                "DeadLetterQueue": _dead_letter_queue("AsyncFailuresQueue"),
                "Events": {
                    f"{INBOUND_SMS_FUNCTION}SnsSubscription": {
                        "Type": "SNS",
                        "Properties": {"Topic": _sub("${InboundSmsTopic}")},
                    }
                },
            }
        },
        # And for the WhatsApp Business Account's events.
        WHATSAPP_EVENTS_FUNCTION: {
            "Properties": {
                "DeadLetterQueue": _dead_letter_queue("AsyncFailuresQueue"),
                "Events": {
                    f"{WHATSAPP_EVENTS_FUNCTION}SnsSubscription": {
                        "Type": "SNS",
                        "Properties": {"Topic": _sub("${WhatsAppEventsTopic}")},
                    }
                },
            }
        },
        # The queue of reminder timers, as the re-plan queue below; each failed message reported by the function
        # alone (ReportBatchItemFailures), so that one send's fault does not send the batch's others again.
        FIRE_BATCH_FUNCTION: {
            "Properties": {
                "Events": {
                    f"{FIRE_BATCH_FUNCTION}SqsEventSource": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": _sub("${FireQueue.Arn}"),
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        },
                    }
                }
            }
        },
        # app.py takes re-plan jobs from a fixed queue name; each stage has its own queue. As for the topics,
        # the merge replaces the Fn::Sub string inside Chalice's Queue.
        REPLAN_FUNCTION: {
            "Properties": {
                "Events": {
                    f"{REPLAN_FUNCTION}SqsEventSource": {
                        "Type": "SQS",
                        "Properties": {"Queue": _sub("${ReplanQueue.Arn}")},
                    }
                }
            }
        },
        "DefaultRole": {
            "Properties": {
                "Policies": [
                    {
                        "PolicyName": "carecue-least-privilege",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                    }
                ]
            }
        },
    }


def _dead_letter_queue(queue: str) -> dict[str, Any]:
    return {"Type": "SQS", "TargetArn": {"Fn::GetAtt": [queue, "Arn"]}}


def _metric(name: str, *dimensions: str) -> list[str]:
    return [NAMESPACE, name, *dimensions]


def _alarms(stage: str) -> dict[str, Any]:
    prefix = resource_prefix(stage)

    def alarm(description: str, metric: dict[str, Any], *, threshold: float = 0, period: int = 300) -> dict[str, Any]:
        return {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"CareCue {stage}: {description}",
                "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": threshold,
                "EvaluationPeriods": 1,
                "Period": period,
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": "AlarmTopic"}],
                "OKActions": [{"Ref": "AlarmTopic"}],
                **metric,
            },
        }

    def carecue_count(name: str, channel: str) -> dict[str, Any]:
        return {
            "Namespace": NAMESPACE,
            "MetricName": name,
            "Dimensions": [{"Name": "service", "Value": SERVICE}, {"Name": "channel", "Value": channel}],
            "Statistic": "Sum",
        }

    resources: dict[str, Any] = {
        "DeadLetterAlarm": alarm(
            "reminder timers could not reach the fire function (run redrive-dlq)",
            {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": f"{prefix}-reminders-dlq"}],
                "Statistic": "Maximum",
            },
        ),
        "ReplanDeadLetterAlarm": alarm(
            "a clinic's re-plan failed for good (its appointments keep their old reminders; the clinic shows why)",
            {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": f"{prefix}-replan-dlq"}],
                "Statistic": "Maximum",
            },
        ),
        # Reminder timers waiting in the fire queue for more than 5 minutes: the fire_batch function is failing,
        # throttled or held back by its concurrency, and reminders are going out late.
        "FireQueueAgeAlarm": alarm(
            "reminders are waiting in the fire queue for more than 5 minutes (they are going out late)",
            {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": f"{prefix}-fire"}],
                "Statistic": "Maximum",
            },
            threshold=FIRE_QUEUE_AGE_ALARM_SECONDS,
        ),
        "AsyncFailuresAlarm": alarm(
            "an SMS reply, an email bounce or a reconcile run failed for good (kept in the async-failures queue)",
            {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": f"{prefix}-async-failures"}],
                "Statistic": "Maximum",
            },
        ),
        "FireErrorsAlarm": alarm(
            "the fire function failed (Lambda retries an event twice, then it joins the reminders dead-letter queue)",
            {
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": fire_function_name(stage)}],
                "Statistic": "Sum",
            },
            threshold=5,
        ),
        "ApiErrorsAlarm": alarm(
            "the REST API answered with server errors",
            {
                "Namespace": "AWS/ApiGateway",
                "MetricName": "5XXError",
                "Dimensions": [{"Name": "ApiName", "Value": "carecue"}, {"Name": "Stage", "Value": "api"}],
                "Statistic": "Sum",
            },
            threshold=5,
        ),
    }
    for channel in CHANNELS:
        title = channel.title()
        resources[f"{title}FailedAlarm"] = alarm(
            f"{channel} reminders failed for good", carecue_count("RemindersFailed", channel), threshold=5, period=3600
        )
        resources[f"{title}TimersFailedAlarm"] = alarm(
            f"{channel} reminder timers could not be armed (the reconciler re-arms them hourly)",
            carecue_count("TimersFailed", channel),
        )
        resources[f"{title}MissedAlarm"] = alarm(
            f"{channel} reminders passed their time with nothing sent", carecue_count("RemindersMissed", channel)
        )
        resources[f"{title}SpendCapAlarm"] = alarm(
            f"{channel} messages held back: a clinic reached its monthly spend cap (set-spend-cap releases them)",
            carecue_count("SpendCapReached", channel),
            period=3600,
        )
        resources[f"{title}UnmeteredAlarm"] = alarm(
            f"{channel} messages sent but not counted in a clinic's usage (reconcile it from the deliveries table)",
            carecue_count("UsageNotMetered", channel),
            period=3600,
        )
    return resources


def _dashboard(stage: str) -> dict[str, Any]:
    prefix = resource_prefix(stage)

    def by_channel(name: str) -> list[list[Any]]:
        return [[*_metric(name, "service", SERVICE, "channel", channel), {"label": channel}] for channel in CHANNELS]

    def widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum", period: int = 3600) -> Any:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 8,
            "height": 6,
            "properties": {
                "title": title,
                "region": "${AWS::Region}",
                "metrics": metrics,
                "stat": stat,
                "period": period,
                "view": "timeSeries",
            },
        }

    lateness = _metric("ReminderLatenessSeconds", "service", SERVICE)
    widgets = [
        widget("Reminders armed", by_channel("RemindersArmed"), 0, 0),
        widget("Reminders sent", by_channel("RemindersSent"), 8, 0),
        widget("Reminders failed", by_channel("RemindersFailed"), 16, 0),
        widget(
            "Lateness (seconds after the planned time)",
            [[*lateness, {"stat": "p50", "label": "p50"}], [*lateness, {"stat": "p99", "label": "p99"}]],
            0,
            6,
            stat="p50",
            period=300,
        ),
        widget(
            "Dead-letter queue depth",
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"{prefix}-reminders-dlq"]],
            8,
            6,
            stat="Maximum",
            period=300,
        ),
        widget(
            "Timers not armed, reminders missed or skipped",
            by_channel("TimersFailed") + by_channel("RemindersMissed") + by_channel("RemindersSkipped"),
            16,
            6,
        ),
        widget(
            "Usage: function invocations",
            [
                ["AWS/Lambda", "Invocations", "FunctionName", fire_function_name(stage), {"label": "fire"}],
                ["AWS/ApiGateway", "Count", "ApiName", "carecue", "Stage", "api", {"label": "API requests"}],
            ],
            0,
            12,
        ),
        widget(
            "Usage: SMS spend this month (USD)",
            [["AWS/SNS", "SMSMonthToDateSpentUSD"]],
            8,
            12,
            stat="Maximum",
        ),
        widget("Usage: emails sent", [["AWS/SES", "Send"]], 16, 12),
    ]
    # The body is a Fn::Sub string so that ${AWS::Region} resolves; it holds no other ${...}.
    return {
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {"DashboardName": prefix, "DashboardBody": _sub(json.dumps({"widgets": widgets}))},
        }
    }


def _saved_queries(stage: str) -> dict[str, Any]:
    """CloudWatch Logs Insights queries an admin opens by name; they read the Powertools JSON log lines."""
    prefix = resource_prefix(stage)
    fire_logs = [f"/aws/lambda/{fire_function_name(stage)}"]
    api_logs = [_sub(f"/aws/lambda/${{{API_FUNCTION}}}")]
    queries = {
        "FailuresByClinicQuery": (
            "failures by clinic",
            fire_logs + api_logs,
            'fields clinic_id, reason\n| filter message = "reminder delivery" and result = "failed"\n'
            "| stats count(*) as failures by clinic_id, reason\n| sort failures desc",
        ),
        "LateRemindersQuery": (
            "late reminders",
            fire_logs,
            'fields @timestamp, clinic_id, owner_id, reminder_id, lateness_seconds\n| filter message = "reminder '
            'delivery" and result = "sent" and lateness_seconds > 60\n| sort lateness_seconds desc\n| limit 200',
        ),
        "WebhookRejectionsQuery": (
            "webhook rejections",
            api_logs,
            "fields @timestamp, route, level, message\n| filter route like /webhooks/ and level in "
            '["WARNING", "ERROR"]\n| stats count(*) as rejections by message\n| sort rejections desc',
        ),
    }
    return {
        logical_id: {
            "Type": "AWS::Logs::QueryDefinition",
            "Properties": {"Name": f"{prefix}/{name}", "LogGroupNames": groups, "QueryString": query},
        }
        for logical_id, (name, groups, query) in queries.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.aws.template", description=__doc__)
    parser.add_argument("--stage", required=True, choices=STAGES)
    parser.add_argument("--out", required=True, type=Path, help="where to write the JSON template")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(merge_template(args.stage), indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
