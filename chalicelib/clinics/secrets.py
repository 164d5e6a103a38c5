"""Per-clinic secrets in SSM Parameter Store as SecureString parameters (free, encrypted with the account's
KMS key, readable by an admin with the right to decrypt)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


class ClinicSecrets:
    def __init__(self, ssm: SSMClient, path_prefix: str) -> None:
        self._ssm = ssm
        self._prefix = path_prefix.rstrip("/")

    def webhook_secret_name(self, clinic_id: str) -> str:
        return f"{self._prefix}/clinics/{clinic_id}/webhook-secret"

    def store_webhook_secret(self, clinic_id: str, secret: str) -> None:
        self._ssm.put_parameter(
            Name=self.webhook_secret_name(clinic_id),
            Value=secret,
            Type="SecureString",
            Overwrite=True,
            Description="CareCue webhook signing secret",
        )

    def delete_webhook_secret(self, clinic_id: str) -> None:
        self._ssm.delete_parameter(Name=self.webhook_secret_name(clinic_id))
