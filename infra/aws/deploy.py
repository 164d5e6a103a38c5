"""`make deploy STAGE=dev|prod`: deploys the template `make package` built as one CloudFormation stack,
`carecue-{stage}`, with boto3 alone (no AWS CLI, SAM CLI, Docker or Node).

What `aws cloudformation package` + `deploy` would do, in the open: upload the code zips (named by their SHA-256,
so an unchanged dependency layer is never uploaded twice) and the template to an S3 bucket, point the template
at them, create a change set, print what it changes, execute it and wait. The first deploy of a stage creates
the stack; later ones update it. Prod gets termination protection.

Needs AWS credentials allowed to run CloudFormation with IAM (CAPABILITY_NAMED_IAM) and to write the bucket.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chalicelib.settings import parameter_path, resource_prefix

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The SAM transform (AWS::Serverless-2016-10-31) expands macros; the scheduler role has a fixed name.
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
PARAMETERS = {
    "admin_email": "AdminEmail",
    "ses_sender": "SesSender",
    "public_url": "PublicUrl",
    "whatsapp_phone_number_arns": "WhatsAppPhoneNumberArns",
    "topics_key_arn": "TopicsKeyArn",
}
# Parameters with a default in the template: a first deploy may leave them out.
OPTIONAL_PARAMETERS = {"public_url", "whatsapp_phone_number_arns", "topics_key_arn"}
_WHATSAPP_ARN = re.compile(r"^arn:aws[a-z-]*:social-messaging:[a-z0-9-]+:\d{12}:phone-number-id/[0-9a-zA-Z]+$")


class DeployError(RuntimeError):
    """The deploy cannot go on; the message says why in one line."""


def stack_name(stage: str) -> str:
    return resource_prefix(stage)


def package_dir(stage: str) -> Path:
    return PROJECT_DIR / "build" / stage / "package"


def point_at_uploads(template: dict[str, Any], uploads: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The template with each local zip (`./deployment.zip`) replaced by its S3 bucket and key."""
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            local = properties.get(key)
            if isinstance(local, str) and local.startswith("./"):
                bucket, object_key = uploads[local.removeprefix("./")]
                properties[key] = {"Bucket": bucket, "Key": object_key}
    return template


def parameter_values(
    stack_exists: bool, given: dict[str, str | None], previous: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """Given values win; an update without one keeps the stack's (`previous`, when known, names the parameters the
    stack has: one added to the template since takes its default, as CloudFormation cannot keep what it never had);
    a first deploy needs them all but the optional ones."""
    arns = given.get("whatsapp_phone_number_arns")
    if arns and not all(_WHATSAPP_ARN.match(arn.strip()) for arn in arns.split(",")):
        raise DeployError(
            "--whatsapp-phone-number-arns must be phone number ARNs, comma separated: "
            "arn:aws:social-messaging:REGION:ACCOUNT:phone-number-id/ID"
        )
    values: list[dict[str, Any]] = []
    for option, name in PARAMETERS.items():
        value = given.get(option)
        if value:
            if option == "whatsapp_phone_number_arns":
                value = ",".join(arn.strip() for arn in value.split(","))
            values.append({"ParameterKey": name, "ParameterValue": value})
        elif stack_exists and (previous is None or name in previous):
            values.append({"ParameterKey": name, "UsePreviousValue": True})
        elif stack_exists and option in OPTIONAL_PARAMETERS:
            continue
        elif option in OPTIONAL_PARAMETERS:
            continue
        else:
            raise DeployError(f"--{option.replace('_', '-')} is needed for the first deploy of a stage")
    return values


class Deployer:
    def __init__(self, session: Any, stage: str, bucket: str | None) -> None:
        self._stage = stage
        self._session = session
        self._s3 = session.client("s3")
        self._cloudformation = session.client("cloudformation")
        account = session.client("sts").get_caller_identity()["Account"]
        self._bucket = bucket or f"carecue-deploy-{account}-{session.region_name}"

    def deploy(self, given: dict[str, str | None]) -> dict[str, str]:
        directory = package_dir(self._stage)
        template_path = directory / "sam.json"
        if not template_path.exists():
            raise DeployError(f"{template_path} is missing: run `make package STAGE={self._stage}` first")
        self._ensure_bucket()
        self._ensure_link_signing_key()
        template = json.loads(template_path.read_text())
        uploads = {zip_path.name: self._upload(zip_path) for zip_path in sorted(directory.glob("*.zip"))}
        body = json.dumps(point_at_uploads(template, uploads), sort_keys=True).encode()
        # Templates over 51,200 bytes must come from S3; ours always does.
        bucket, key = self._upload_bytes(body, "json")
        template_url = f"https://{bucket}.s3.{self._session.region_name}.amazonaws.com/{key}"
        return self._apply(template_url, given)

    def _ensure_link_signing_key(self) -> None:
        """The key that signs patient links: a SecureString, which CloudFormation cannot create. Made once; a
        later deploy keeps it (replacing it would break every link already sent)."""
        import secrets

        from botocore.exceptions import ClientError

        try:
            self._session.client("ssm").put_parameter(
                Name=f"{parameter_path(self._stage)}/link-signing-key",
                Value=secrets.token_urlsafe(32),
                Type="SecureString",
                Overwrite=False,
                Description="CareCue patient link signing key",
            )
        except ClientError as e:
            if e.response["Error"]["Code"] != "ParameterAlreadyExists":
                raise

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self._s3.head_bucket(Bucket=self._bucket)
            return
        except ClientError as e:
            if e.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
                raise DeployError(
                    f"the deploy bucket {self._bucket} is not usable: {e.response['Error']['Code']}"
                ) from e
        region = self._session.region_name
        options: dict[str, Any] = {"Bucket": self._bucket}
        if region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        self._s3.create_bucket(**options)
        self._s3.put_public_access_block(
            Bucket=self._bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        print(f"created the deploy bucket {self._bucket}", file=sys.stderr)

    def _upload(self, path: Path) -> tuple[str, str]:
        return self._upload_bytes(path.read_bytes(), "zip")

    def _upload_bytes(self, data: bytes, extension: str) -> tuple[str, str]:
        from botocore.exceptions import ClientError

        key = f"{stack_name(self._stage)}/{hashlib.sha256(data).hexdigest()}.{extension}"
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ServerSideEncryption="AES256")
        return self._bucket, key

    def _stack_exists(self) -> bool:
        from botocore.exceptions import ClientError

        try:
            stacks = self._cloudformation.describe_stacks(StackName=stack_name(self._stage))["Stacks"]
        except ClientError as e:
            if "does not exist" in e.response["Error"].get("Message", ""):  # CloudFormation gives no code for it
                return False
            raise
        status = stacks[0]["StackStatus"] if stacks else "REVIEW_IN_PROGRESS"
        if status == "ROLLBACK_COMPLETE":
            # A first deploy that failed leaves a stack CloudFormation can neither update nor re-create.
            raise DeployError(
                f"{stack_name(self._stage)} failed to create (see its Events tab); delete it in the CloudFormation "
                "console, then deploy again"
            )
        if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
            raise DeployError(f"{stack_name(self._stage)} is busy ({status}); deploy again when it is done")
        return status != "REVIEW_IN_PROGRESS"

    def _apply(self, template_url: str, given: dict[str, str | None]) -> dict[str, str]:
        from botocore.exceptions import WaiterError

        name = stack_name(self._stage)
        exists = self._stack_exists()
        change_set = self._cloudformation.create_change_set(
            StackName=name,
            ChangeSetName=f"{name}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}",
            ChangeSetType="UPDATE" if exists else "CREATE",
            TemplateURL=template_url,
            Parameters=parameter_values(exists, given, self._previous_parameters() if exists else None),
            Capabilities=CAPABILITIES,
            Tags=[{"Key": "application", "Value": "carecue"}, {"Key": "stage", "Value": self._stage}],
        )
        change_set_id = change_set["Id"]
        try:
            self._cloudformation.get_waiter("change_set_create_complete").wait(
                ChangeSetName=change_set_id, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
            )
        except WaiterError as e:
            described = self._cloudformation.describe_change_set(ChangeSetName=change_set_id)
            reason = described.get("StatusReason", "")
            if "didn't contain changes" in reason or "No updates" in reason:
                self._cloudformation.delete_change_set(ChangeSetName=change_set_id)
                print(f"{name} is up to date", file=sys.stderr)
                return self._outputs()
            raise DeployError(f"the change set failed: {reason}") from e
        for change in self._cloudformation.describe_change_set(ChangeSetName=change_set_id)["Changes"]:
            detail = change["ResourceChange"]
            replacement = " (REPLACED)" if detail.get("Replacement") == "True" else ""
            print(f"{detail['Action']:>8} {detail['LogicalResourceId']} {detail['ResourceType']}{replacement}")
        self._cloudformation.execute_change_set(ChangeSetName=change_set_id)
        waiter = "stack_update_complete" if exists else "stack_create_complete"
        try:
            self._cloudformation.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
        except WaiterError as e:
            raise DeployError(f"{name} did not deploy: see its Events tab in the CloudFormation console") from e
        if self._stage == "prod":
            self._cloudformation.update_termination_protection(EnableTerminationProtection=True, StackName=name)
        return self._outputs()

    def _previous_parameters(self) -> frozenset[str]:
        stack = self._cloudformation.describe_stacks(StackName=stack_name(self._stage))["Stacks"][0]
        return frozenset(parameter["ParameterKey"] for parameter in stack.get("Parameters", []))

    def _outputs(self) -> dict[str, str]:
        stack = self._cloudformation.describe_stacks(StackName=stack_name(self._stage))["Stacks"][0]
        return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.aws.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, choices=("dev", "prod"))
    parser.add_argument("--region", help="AWS region (default: the usual AWS configuration)")
    parser.add_argument("--admin-email", help="where alarms go (needed on a stage's first deploy)")
    parser.add_argument("--ses-sender", help="the SES-verified From address (needed on a stage's first deploy)")
    parser.add_argument("--public-url", help="where patients open their links, e.g. https://api.clinic.example")
    parser.add_argument(
        "--whatsapp-phone-number-arns",
        help="the stage's WhatsApp senders, comma separated (arn:aws:social-messaging:…:phone-number-id/…); "
        "an update without it keeps the stack's",
    )
    parser.add_argument(
        "--topics-key-arn",
        help="a customer-managed KMS key ARN to encrypt the SNS topics with (docs/security.md); "
        "an update without it keeps the stack's",
    )
    parser.add_argument("--bucket", help="S3 bucket for the code and template (default: carecue-deploy-ACCOUNT-REGION)")
    args = parser.parse_args(argv)
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.Session(region_name=args.region)
    if not session.region_name:
        print("error: no AWS region: pass --region or set AWS_REGION", file=sys.stderr)
        return 1
    try:
        outputs = Deployer(session, args.stage, args.bucket).deploy(
            {
                "admin_email": args.admin_email,
                "ses_sender": args.ses_sender,
                "public_url": args.public_url,
                "whatsapp_phone_number_arns": args.whatsapp_phone_number_arns,
                "topics_key_arn": args.topics_key_arn,
            }
        )
    except DeployError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ClientError as e:
        print(
            f"error: AWS refused: {e.response['Error'].get('Code')}: {e.response['Error'].get('Message')}",
            file=sys.stderr,
        )
        return 1
    except BotoCoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(outputs, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
