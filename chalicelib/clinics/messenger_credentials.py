"""A clinic's Messenger secrets, SSM SecureString parameters under the stage's prefix (never in DynamoDB, never
logged), written by `set-messenger`:

    /carecue/{stage}/clinics/{clinic_id}/messenger/page-token     the Page access token the Send API takes
    /carecue/{stage}/clinics/{clinic_id}/messenger/app-secret     the Meta app's secret, which signs its webhooks
    /carecue/{stage}/clinics/{clinic_id}/messenger/verify-token   the token Meta's webhook subscription check echoes

Read as the booking tools' secrets are (`chalicelib.intake.credentials`): all of a clinic's in one call through
Powertools Parameters, cached for `max_age` seconds; a caller whose cached secret fails (a signature that does
not verify with it) asks once more past the cache (`fresh=True`), so a secret changed since works at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msgspec import Struct

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider
    from mypy_boto3_ssm import SSMClient

CACHE_SECONDS = 300
# The parameters' last path segments (names, not secrets).
PAGE_TOKEN = "page-token"  # noqa: S105
APP_SECRET = "app-secret"  # noqa: S105
VERIFY_TOKEN = "verify-token"  # noqa: S105


def messenger_path(path_prefix: str, clinic_id: str) -> str:
    return f"{path_prefix.rstrip('/')}/clinics/{clinic_id}/messenger"


def parameter_name(path_prefix: str, clinic_id: str, key: str) -> str:
    return f"{messenger_path(path_prefix, clinic_id)}/{key}"


class MessengerSecrets(Struct, frozen=True):
    page_token: str | None
    app_secret: str | None
    verify_token: str | None


class MessengerCredentials:
    def __init__(self, ssm: SSMClient, path_prefix: str, max_age: int = CACHE_SECONDS) -> None:
        self._ssm = ssm
        self._prefix = path_prefix
        self._max_age = max_age
        self._provider: SSMProvider | None = None

    def for_clinic(self, clinic_id: str, *, fresh: bool = False) -> MessengerSecrets:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        if self._provider is None:
            self._provider = SSMProvider(boto3_client=self._ssm)
        found = self._provider.get_multiple(
            messenger_path(self._prefix, clinic_id), max_age=self._max_age, decrypt=True, force_fetch=fresh
        )
        values = {str(k).lstrip("/"): str(v) for k, v in found.items()}
        return MessengerSecrets(values.get(PAGE_TOKEN), values.get(APP_SECRET), values.get(VERIFY_TOKEN))

    def page_token(self, clinic_id: str) -> str:
        """The clinic's Page access token ("" when none is stored: the send is refused as not connected)."""
        return self.for_clinic(clinic_id).page_token or ""
