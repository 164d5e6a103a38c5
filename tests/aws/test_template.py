"""The AWS stack's template, as `make package` merges it into Chalice's: least privilege, the settings every
function needs, prod's protection. `make test` also lints the packaged template with cfn-lint."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.settings import Settings, local_environment
from infra.aws.deploy import DeployError, parameter_values, point_at_uploads
from infra.aws.template import merge_template

PROJECT_DIR = Path(__file__).resolve().parents[2]


def statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every policy statement, a conditional one (`Fn::If`) as the statement it grants when its condition holds."""
    found = []
    for resource in template["Resources"].values():
        for policy in resource.get("Properties", {}).get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                found.append(statement["Fn::If"][1] if "Fn::If" in statement else statement)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_policy_grants_every_action_and_only_unscopable_actions_get_every_resource(stage: str) -> None:
    for statement in statements(merge_template(stage)):
        actions = as_list(statement["Action"])
        assert all(action != "*" and not action.endswith(":*") for action in actions), statement
        if "*" in as_list(statement["Resource"]):
            # The two actions AWS offers no resource-level permission for.
            assert actions in (["scheduler:ListSchedules"], ["sns:Publish"]), statement


def test_the_scheduler_role_may_invoke_the_fire_function_and_dead_letter_and_nothing_more() -> None:
    role = merge_template("prod")["Resources"]["SchedulerRole"]["Properties"]

    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]
    granted = [(s["Action"], s["Resource"]) for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert granted == [
        (
            "lambda:InvokeFunction",
            {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:carecue-prod-fire"},
        ),
        (
            "sqs:SendMessage",
            [{"Fn::GetAtt": ["FireQueue", "Arn"]}, {"Fn::GetAtt": ["RemindersDeadLetterQueue", "Arn"]}],
        ),
    ]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_function_gets_the_settings_it_reads_from_the_stacks_own_resources(stage: str) -> None:
    template = merge_template(stage)
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    resources = template["Resources"]

    # Lambda sets AWS_REGION itself; everything else comes from the template. Intrinsics stand in as text.
    settings = Settings.from_env(
        {"AWS_REGION": "eu-west-1", **{k: v if isinstance(v, str) else json.dumps(v) for k, v in variables.items()}}
    )

    assert settings.stage == stage
    assert variables["CARECUE_SES_SENDER"] == {"Ref": "SesSender"}
    assert variables["CARECUE_SES_CONFIGURATION_SET"] == {"Ref": "EmailConfigurationSet"}
    assert variables["CARECUE_SCHEDULER_ROLE_ARN"]["Fn::GetAtt"][0] in resources
    assert variables["CARECUE_DEAD_LETTER_QUEUE_ARN"]["Fn::GetAtt"][0] in resources
    assert variables["CARECUE_FIRE_FUNCTION_ARN"]["Fn::Sub"].endswith(f":function:carecue-{stage}-fire")
    assert resources["Fire"]["Properties"]["FunctionName"] == f"carecue-{stage}-fire"


def test_prod_tables_are_protected_from_deletion_and_dev_tables_are_not() -> None:
    for stage, protected in (("prod", True), ("dev", False)):
        tables = [r for r in merge_template(stage)["Resources"].values() if r.get("Type") == "AWS::DynamoDB::Table"]
        assert len(tables) >= 5
        for table in tables:
            properties = table["Properties"]
            assert properties["DeletionProtectionEnabled"] is protected
            assert (table["DeletionPolicy"] == "Retain") is protected
            assert properties["BillingMode"] == "PAY_PER_REQUEST"
            assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
            assert properties["SSESpecification"] == {"SSEEnabled": True}
            assert properties["TableName"].startswith(f"carecue-{stage}-")


def test_alarms_reach_the_admin_email_given_at_deploy() -> None:
    resources = merge_template("dev")["Resources"]
    alarms = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Alarm"]

    assert resources["AlarmEmail"]["Properties"]["Endpoint"] == {"Ref": "AdminEmail"}
    assert alarms and all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)
    assert {"RemindersFailed", "RemindersMissed", "TimersFailed", "ApproximateNumberOfMessagesVisible"} <= {
        a["MetricName"] for a in alarms
    }


def test_the_packaged_template_carries_the_merge_and_ships_no_test_or_local_stack_code() -> None:
    package = PROJECT_DIR / "build" / "dev" / "package"
    if not (package / "sam.json").exists():
        pytest.skip("run `make package` (make test does) to build the dev package")
    import zipfile

    from infra.aws.bytecode import bytecode_share
    from infra.aws.package_contents import forbidden_entries

    template = json.loads((package / "sam.json").read_text())
    functions = {k: r for k, r in template["Resources"].items() if r.get("Type") == "AWS::Serverless::Function"}
    assert {"APIHandler", "Fire", "Reconcile", "EmailFeedback"} <= set(functions)
    feedback_events = functions["EmailFeedback"]["Properties"]["Events"]
    assert [e["Properties"]["Topic"] for e in feedback_events.values()] == [{"Fn::Sub": "${EmailFeedbackTopic}"}]
    assert template["Globals"] == merge_template("dev")["Globals"]
    assert functions["Reconcile"]["Properties"]["Events"]["ReconcileEvent"]["Properties"]["Schedule"] == "rate(1 hour)"
    for zip_path in package.glob("*.zip"):
        assert forbidden_entries(zip_path) == []
        with_bytecode, modules = bytecode_share(zip_path)  # every module imports on Lambda without compiling
        assert modules > 0 and with_bytecode == modules, zip_path.name
    code = zipfile.ZipFile(package / "deployment.zip").namelist()
    assert "app.py" in code and "chalicelib/reconcile/reminders.py" in code
    assert not any(name.startswith(("tests/", "infra/")) for name in code)


def test_deploy_points_the_template_at_the_uploaded_zips() -> None:
    template = {
        "Resources": {
            "Fire": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "./deployment.zip"}},
            "Layer": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "./layer-deployment.zip"}},
        }
    }
    uploads = {
        "deployment.zip": ("bucket", "carecue-dev/aa.zip"),
        "layer-deployment.zip": ("bucket", "carecue-dev/bb.zip"),
    }

    pointed = point_at_uploads(template, uploads)

    assert pointed["Resources"]["Fire"]["Properties"]["CodeUri"] == {"Bucket": "bucket", "Key": "carecue-dev/aa.zip"}
    assert pointed["Resources"]["Layer"]["Properties"]["ContentUri"] == {
        "Bucket": "bucket",
        "Key": "carecue-dev/bb.zip",
    }


def test_a_first_deploy_needs_the_admin_email_and_the_sender_and_an_update_keeps_them() -> None:
    with pytest.raises(DeployError, match="--admin-email"):
        parameter_values(False, {"admin_email": None, "ses_sender": "reminders@example.org"})

    assert parameter_values(True, {"admin_email": None, "ses_sender": "reminders@example.org"}) == [
        {"ParameterKey": "AdminEmail", "UsePreviousValue": True},
        {"ParameterKey": "SesSender", "ParameterValue": "reminders@example.org"},
        {"ParameterKey": "PublicUrl", "UsePreviousValue": True},
        {"ParameterKey": "WhatsAppPhoneNumberArns", "UsePreviousValue": True},
        {"ParameterKey": "TopicsKeyArn", "UsePreviousValue": True},
    ]
    # The patients' link address is optional on a first deploy: without it messages go out without links.
    assert parameter_values(False, {"admin_email": "ops@example.org", "ses_sender": "reminders@example.org"}) == [
        {"ParameterKey": "AdminEmail", "ParameterValue": "ops@example.org"},
        {"ParameterKey": "SesSender", "ParameterValue": "reminders@example.org"},
    ]


def test_deploy_passes_the_whatsapp_senders_and_an_update_without_them_keeps_the_stacks() -> None:
    arn = "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/0123456789abcdef"
    given: dict[str, str | None] = {"whatsapp_phone_number_arns": f"{arn}, {arn}0"}

    assert parameter_values(True, given)[-2] == {
        "ParameterKey": "WhatsAppPhoneNumberArns",
        "ParameterValue": f"{arn},{arn}0",
    }
    assert {"ParameterKey": "WhatsAppPhoneNumberArns", "UsePreviousValue": True} in parameter_values(True, {})
    # A stack deployed before the template had the parameter cannot keep it: it takes the template's default.
    older = frozenset({"AdminEmail", "SesSender", "PublicUrl"})
    assert all(v["ParameterKey"] != "WhatsAppPhoneNumberArns" for v in parameter_values(True, {}, older))
    with pytest.raises(DeployError, match="--whatsapp-phone-number-arns"):
        parameter_values(True, {"whatsapp_phone_number_arns": "phone-number-id-0123456789abcdef"})


def test_the_functions_read_only_the_stages_parameters_where_the_messenger_secrets_are() -> None:
    template = merge_template("prod")
    ssm = [s for s in statements(template) if "ssm:GetParametersByPath" in as_list(s["Action"])]

    assert [s["Resource"] for s in ssm] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/carecue/prod/*"}
    ]


def test_every_sns_handler_listens_to_its_own_stages_topic() -> None:
    from infra.aws.template import merge_template

    template = merge_template("dev")
    topics = {
        name: resource["Properties"]["Events"][f"{name}SnsSubscription"]["Properties"]["Topic"]
        for name, resource in template["Resources"].items()
        if name in ("EmailFeedback", "InboundSms", "WhatsappEvents")
    }
    assert topics == {
        "EmailFeedback": {"Fn::Sub": "${EmailFeedbackTopic}"},
        "InboundSms": {"Fn::Sub": "${InboundSmsTopic}"},
        "WhatsappEvents": {"Fn::Sub": "${WhatsAppEventsTopic}"},
    }
    assert template["Globals"]["Function"]["Environment"]["Variables"]["CARECUE_PUBLIC_URL"] == {"Ref": "PublicUrl"}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_clinic_replans_run_from_the_stages_own_queue_with_a_dead_letter_queue(stage: str) -> None:
    from chalicelib.clinics.replan import MAX_RECEIVES

    resources = merge_template(stage)["Resources"]
    queue, dead_letters = resources["ReplanQueue"]["Properties"], resources["ReplanDeadLetterQueue"]["Properties"]
    settings = Settings.from_env(local_environment(stage))
    assert (queue["QueueName"], dead_letters["QueueName"]) == (
        settings.replan_queue_name,
        settings.replan_dead_letter_queue_name,
    )
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["ReplanDeadLetterQueue", "Arn"]},
        "maxReceiveCount": MAX_RECEIVES,
    }
    # A job hidden for less than the function may run would be taken twice while the first is still at work.
    assert queue["VisibilityTimeout"] >= 6 * 30
    source = resources["Replan"]["Properties"]["Events"]["ReplanSqsEventSource"]
    assert (source["Type"], source["Properties"]["Queue"]) == ("SQS", {"Fn::Sub": "${ReplanQueue.Arn}"})
    granted = [s for s in statements(merge_template(stage)) if s.get("Sid") == "ReplanJobs"]
    assert [s["Resource"] for s in granted] == [{"Fn::GetAtt": ["ReplanQueue", "Arn"]}]
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= set(granted[0]["Action"])
    assert "ReplanDeadLetterAlarm" in resources


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_reminder_timers_queue_for_the_fire_batch_function_and_dead_letter_where_redrive_reads(stage: str) -> None:
    from chalicelib.fire.queue import FIRE_ATTEMPTS

    template = merge_template(stage)
    resources = template["Resources"]
    queue = resources["FireQueue"]["Properties"]
    assert queue["QueueName"] == Settings.from_env(local_environment(stage)).fire_queue_name
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["RemindersDeadLetterQueue", "Arn"]},
        "maxReceiveCount": FIRE_ATTEMPTS,
    }
    assert queue["VisibilityTimeout"] >= 6 * 30  # never handed out again while a batch may still be at work
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["CARECUE_FIRE_QUEUE_ARN"] == {"Fn::GetAtt": ["FireQueue", "Arn"]}
    source = resources["FireBatch"]["Properties"]["Events"]["FireBatchSqsEventSource"]
    assert source["Properties"] == {
        "Queue": {"Fn::Sub": "${FireQueue.Arn}"},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],  # a failed send is tried again alone
    }
    (granted,) = [s for s in statements(template) if s.get("Sid") == "FireQueue"]
    assert granted["Resource"] == {"Fn::GetAtt": ["FireQueue", "Arn"]}
    assert "sqs:SendMessage" not in granted["Action"]  # only Scheduler queues timers
    age = resources["FireQueueAgeAlarm"]["Properties"]
    assert (age["MetricName"], age["Dimensions"], age["Threshold"]) == (
        "ApproximateAgeOfOldestMessage",
        [{"Name": "QueueName", "Value": queue["QueueName"]}],
        300,
    )


def test_the_packaged_fire_batch_function_takes_reminder_timers_ten_at_a_time() -> None:
    package = PROJECT_DIR / "build" / "dev" / "package"
    if not (package / "sam.json").exists():
        pytest.skip("run `make package` (make test does) to build the dev package")
    function = json.loads((package / "sam.json").read_text())["Resources"]["FireBatch"]["Properties"]

    (source,) = function["Events"].values()
    assert source["Type"] == "SQS"
    assert source["Properties"]["Queue"] == {"Fn::Sub": "${FireQueue.Arn}"}
    assert source["Properties"]["BatchSize"] == 10
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert function["Handler"] == "app.fire_batch"


def test_the_packaged_replan_function_takes_its_jobs_from_the_replan_queue_in_batches_of_one() -> None:
    package = PROJECT_DIR / "build" / "dev" / "package"
    if not (package / "sam.json").exists():
        pytest.skip("run `make package` (make test does) to build the dev package")
    function = json.loads((package / "sam.json").read_text())["Resources"]["Replan"]["Properties"]

    (source,) = function["Events"].values()
    assert source == {
        "Type": "SQS",
        "Properties": {"Queue": {"Fn::Sub": "${ReplanQueue.Arn}"}, "BatchSize": 1, "MaximumBatchingWindowInSeconds": 0},
    }
    assert function["Handler"] == "app.replan"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_gateways_own_refusals_answer_in_the_apps_error_envelope(stage: str) -> None:
    api = merge_template(stage)["Resources"]["RestAPI"]
    # Merged into the definition Chalice writes for its RestAPI, so every deployment of it carries them.
    assert set(api["Properties"]["DefinitionBody"]) == {"x-amazon-apigateway-gateway-responses"}
    responses = api["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]

    statuses = {kind: response.get("statusCode") for kind, response in responses.items()}
    assert statuses == {
        "UNAUTHORIZED": "401",
        "ACCESS_DENIED": "403",
        "MISSING_AUTHENTICATION_TOKEN": "404",
        "INVALID_SIGNATURE": "404",
        "UNSUPPORTED_MEDIA_TYPE": "415",
        "REQUEST_TOO_LARGE": "413",
        "THROTTLED": "429",
        "QUOTA_EXCEEDED": "429",
        "AUTHORIZER_FAILURE": "500",
        "AUTHORIZER_CONFIGURATION_ERROR": "500",
        "INTEGRATION_TIMEOUT": "504",
        "DEFAULT_4XX": None,  # the status of whatever the gateway refused
        "DEFAULT_5XX": None,
    }

    def body(kind: str) -> Any:
        (template,) = responses[kind]["responseTemplates"].values()
        assert set(responses[kind]["responseTemplates"]) == {"application/json"}
        return json.loads(template)

    def envelope(code: str, message: str) -> dict[str, Any]:
        return {"error": {"code": code, "message": message, "fields": []}}

    bearer = "send Authorization: Bearer <key>"
    assert body("UNAUTHORIZED") == envelope("unauthorized", f"the API key is missing: {bearer}")
    assert body("ACCESS_DENIED") == envelope("forbidden", f"the API key is wrong or not a Bearer key: {bearer}")
    assert body("MISSING_AUTHENTICATION_TOKEN") == envelope(
        "no_such_route", "no such route: check the path and the method"
    )
    assert body("REQUEST_TOO_LARGE") == envelope("payload_too_large", "the request is over API Gateway's 10 MB limit")
    assert body("THROTTLED") == envelope("throttled", "too many requests: wait a moment and retry")
    # Fixed words, never API Gateway's own message ($context.error.messageString), which can quote the API key.
    assert body("DEFAULT_4XX") == envelope(
        "request_refused", "the request was refused before it reached CareCue: check its path and headers"
    )
    assert body("DEFAULT_5XX") == envelope("internal_error", "something went wrong")
    for kind in responses:
        assert set(body(kind)["error"]) == {"code", "message", "fields"}, kind


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_queue_is_encrypted_at_rest_without_a_paid_key(stage: str) -> None:
    queues = {
        k: r["Properties"] for k, r in merge_template(stage)["Resources"].items() if r.get("Type") == "AWS::SQS::Queue"
    }

    assert {
        "FireQueue",
        "RemindersDeadLetterQueue",
        "ReplanQueue",
        "ReplanDeadLetterQueue",
        "AsyncFailuresQueue",
    } <= set(queues)
    for name, queue in queues.items():
        assert queue.get("SqsManagedSseEnabled") is True, name
        assert "KmsMasterKeyId" not in queue, name  # a customer-managed key would cost $1 a month


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_topic_is_encrypted_with_the_stages_own_key_when_it_is_given_one(stage: str) -> None:
    template = merge_template(stage)
    topics = {k: r["Properties"] for k, r in template["Resources"].items() if r.get("Type") == "AWS::SNS::Topic"}
    pattern = re.compile(template["Parameters"]["TopicsKeyArn"]["AllowedPattern"])

    assert set(topics) == {"InboundSmsTopic", "WhatsAppEventsTopic", "EmailFeedbackTopic", "AlarmTopic"}
    for name, topic in topics.items():
        assert topic["KmsMasterKeyId"] == {
            "Fn::If": ["EncryptTopics", {"Ref": "TopicsKeyArn"}, {"Ref": "AWS::NoValue"}]
        }, name
    assert template["Conditions"]["EncryptTopics"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "TopicsKeyArn"}, ""]}]}
    assert template["Parameters"]["TopicsKeyArn"]["Default"] == ""
    # The AWS-managed key would drop what the services publish (docs/security.md): only a key ARN is taken.
    assert pattern.match("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    assert not pattern.match("alias/aws/sns")
    assert not pattern.match("arn:aws:kms:us-east-1:123456789012:alias/aws/sns")


def test_deploy_passes_the_topics_key_and_an_update_without_it_keeps_the_stacks() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    assert {"ParameterKey": "TopicsKeyArn", "ParameterValue": key} in parameter_values(True, {"topics_key_arn": key})
    assert {"ParameterKey": "TopicsKeyArn", "UsePreviousValue": True} in parameter_values(True, {})
    older = frozenset({"AdminEmail", "SesSender", "PublicUrl", "WhatsAppPhoneNumberArns"})
    assert all(v["ParameterKey"] != "TopicsKeyArn" for v in parameter_values(True, {}, older))


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_api_writes_an_access_log_with_a_retention_and_without_paths_queries_or_addresses(stage: str) -> None:
    resources = merge_template(stage)["Resources"]
    setting = resources["RestAPI"]["Properties"]["AccessLogSetting"]
    group = resources["ApiAccessLogGroup"]

    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"dev": 30, "prod": 365}[stage]
    fields = json.loads(setting["Format"])
    # Who, what, when and how it ended: the clinic the key belongs to and the route's template.
    assert fields["clinic_id"] == "$context.authorizer.principalId"
    assert fields["route"] == "$context.resourcePath"
    assert {"time", "method", "status", "request_id"} <= set(fields)
    # Never the path itself (patient-link and board tokens), a query string (a form webhook's ?token= secret),
    # the gateway's error text (it can quote the Authorization header) or the caller's address.
    for leaky in ("$context.path", "$context.identity", "$context.error.message", "querystring", "$input"):
        assert leaky not in setting["Format"], leaky
    # API Gateway writes access logs only once the account's logging role is set; the stage waits for it.
    assert resources["RestAPI"]["DependsOn"] == ["ApiGatewayAccount"]
    assert resources["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]
    }
    # Shared by both stages' stacks: deleting one must not unset the other's logging.
    assert resources["ApiGatewayAccount"]["DeletionPolicy"] == resources["ApiGatewayLogsRole"]["DeletionPolicy"]
    assert resources["ApiGatewayAccount"]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_fire_function_has_reserved_concurrency_within_the_sms_throughput(stage: str) -> None:
    resources = merge_template(stage)["Resources"]
    reserved = resources["Fire"]["Properties"]["ReservedConcurrentExecutions"]

    # SNS sends 20 SMS a second per account by default; one fire sends one message in about half a second.
    assert 1 <= reserved <= 20 * 0.5
    assert resources["Reconcile"]["Properties"]["ReservedConcurrentExecutions"] == 1


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_asynchronously_invoked_function_keeps_what_it_failed_on_in_an_alarmed_queue(stage: str) -> None:
    template = merge_template(stage)
    resources = template["Resources"]
    alarmed = {
        dimension["Value"]
        for r in resources.values()
        if r.get("Type") == "AWS::CloudWatch::Alarm"
        for dimension in r["Properties"]["Dimensions"]
        if dimension["Name"] == "QueueName"
    }
    sendable = [s["Resource"] for s in statements(template) if s.get("Sid") == "DeadLetters"]

    # Scheduler, EventBridge and SNS invoke these asynchronously: without a queue a failed event is dropped.
    queues = {
        name: resources[name]["Properties"]["DeadLetterQueue"]
        for name in ("Fire", "Reconcile", "EmailFeedback", "InboundSms", "WhatsappEvents")
    }
    # A timer the fire function failed on lands where `redrive-dlq` reads, next to those Scheduler could not deliver.
    assert queues["Fire"] == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["RemindersDeadLetterQueue", "Arn"]}}
    for name, queue in queues.items():
        logical_id = queue["TargetArn"]["Fn::GetAtt"][0]
        assert resources[logical_id]["Properties"]["QueueName"] in alarmed, name
        assert {"Fn::GetAtt": [logical_id, "Arn"]} in sendable[0], name


def test_every_checkov_skip_gives_its_reason_and_docs_security_lists_each_check() -> None:
    security = (PROJECT_DIR / "docs" / "security.md").read_text()
    skipped: set[str] = set()
    for stage in ("dev", "prod"):
        for name, resource in merge_template(stage)["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert skip["id"].startswith("CKV_AWS_") and len(skip["comment"]) > 40, (name, skip)
                skipped.add(skip["id"])
    assert skipped
    assert {check for check in skipped if check not in security} == set()


def test_the_packaged_templates_carry_the_skips_onto_chalices_own_resources() -> None:
    package = PROJECT_DIR / "build" / "prod" / "package"
    if not (package / "sam.json").exists():
        pytest.skip("run `make lint-templates` (make test does) to build the prod package")
    resources = json.loads((package / "sam.json").read_text())["Resources"]

    for name in ("APIHandler", "Fire", "FireLogGroup", "RestAPI", "DefaultRole"):
        assert resources[name]["Metadata"]["checkov"]["skip"], name
    # A skip on an id Chalice does not write would create a resource with no type: cfn-lint and this catch it.
    assert all("Type" in resource for resource in resources.values())


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_whatsapp_may_send_exactly_from_the_stages_own_senders_and_its_events_topic_takes_only_the_service(
    stage: str,
) -> None:
    template = merge_template(stage)
    role = template["Resources"]["DefaultRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]

    conditional = [s["Fn::If"] for s in role if "Fn::If" in s]
    assert conditional == [
        [
            "HasWhatsApp",
            {
                "Sid": "WhatsApp",
                "Effect": "Allow",
                "Action": "social-messaging:SendWhatsAppMessage",
                "Resource": {"Ref": "WhatsAppPhoneNumberArns"},
            },
            {"Ref": "AWS::NoValue"},
        ]
    ]
    assert template["Parameters"]["WhatsAppPhoneNumberArns"]["Default"] == ""
    assert not any("social-messaging" in str(s["Action"]) for s in role if "Fn::If" not in s)
    policy = template["Resources"]["WhatsAppEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Principal"], s["Action"]) for s in policy] == [
        ({"Service": "social-messaging.amazonaws.com"}, "sns:Publish")
    ]
    events_topic = template["Resources"]["WhatsAppEventsTopic"]["Properties"]
    assert events_topic["TopicName"] == f"carecue-{stage}-whatsapp-events"
    assert "FifoTopic" not in events_topic  # the service refuses FIFO topics


def test_the_stage_throttle_is_the_one_the_local_stack_applies() -> None:
    from chalicelib.edge.gateway import API_BURST_LIMIT, API_RATE_LIMIT
    from infra.aws.template import merge_template

    settings = merge_template("prod")["Resources"]["RestAPI"]["Properties"]["MethodSettings"]

    assert settings == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": API_RATE_LIMIT,
            "ThrottlingBurstLimit": API_BURST_LIMIT,
        }
    ]
