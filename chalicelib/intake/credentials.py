"""Each clinic's credentials for each booking tool, in SSM Parameter Store under the clinic's path:

    /carecue/{stage}/clinics/{clinic_id}/webhook-secret             SecureString, made by create-clinic
    /carecue/{stage}/clinics/{clinic_id}/webhooks/{provider}        SecureString, set-webhook-secret
    /carecue/{stage}/clinics/{clinic_id}/webhooks/{provider}-{key}  e.g. square-notification-url, acuity-user-id,
                                                                   square-access-token, form-mapping

A tool whose secret CareCue may choose (Cal.com, Calendly, Typeform, forms) falls back to the clinic's
`webhook-secret`, so a new clinic can connect such a tool with the secret create-clinic printed. Acuity signs
with the account's API key and Square with a key Square generates: those need their own.

All of a clinic's parameters are read in one call through Powertools Parameters and cached for `max_age`
seconds, so the common case (a delivery signed with the secret already cached) costs no SSM call. A secret or
setting changed since (set-webhook-secret, or an edit in the SSM console) works on the very next delivery all
the same: a tool with no secret in the cache is read again at once (`for_tool`), and a delivery whose signature
the cached credentials do not verify is verified once more with credentials read past the cache
(`for_tool(..., fresh=True)`, called by the intake on a `SignatureMismatch`). A fresh read refills the cache.
A forged delivery therefore costs one SSM read before it is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.intake.context import ProviderContext, ProviderCredentials

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider
    from mypy_boto3_ssm import SSMClient

__all__ = ["ProviderContext", "ProviderCredentials", "WebhookCredentials", "parameter_name"]

CACHE_SECONDS = 300
CHOSEN_SECRET_PROVIDERS = frozenset({"calcom", "calendly", "typeform", "form"})


def clinic_path(path_prefix: str, clinic_id: str) -> str:
    return f"{path_prefix.rstrip('/')}/clinics/{clinic_id}"


def parameter_name(path_prefix: str, clinic_id: str, provider: str, key: str | None = None) -> str:
    suffix = f"-{key}" if key else ""
    return f"{clinic_path(path_prefix, clinic_id)}/webhooks/{provider}{suffix}"


class WebhookCredentials:
    def __init__(self, ssm: SSMClient, path_prefix: str, max_age: int = CACHE_SECONDS) -> None:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        self._provider: SSMProvider = SSMProvider(boto3_client=ssm)
        self._prefix = path_prefix
        self._max_age = max_age

    def for_tool(self, clinic_id: str, provider: str, *, fresh: bool = False) -> ProviderCredentials:
        """The tool's secret and settings: from the cache, or with `fresh` from SSM itself (refilling the cache)."""
        credentials = self._read(clinic_id, provider, force_fetch=fresh)
        if credentials.secret is None and not fresh:
            # A tool connected since the cache was filled would otherwise be refused for up to `max_age`.
            credentials = self._read(clinic_id, provider, force_fetch=True)
        return credentials

    def _read(self, clinic_id: str, provider: str, *, force_fetch: bool) -> ProviderCredentials:
        found = self._provider.get_multiple(
            clinic_path(self._prefix, clinic_id),
            max_age=self._max_age,
            decrypt=True,
            recursive=True,
            force_fetch=force_fetch,
        )
        values = {str(k).lstrip("/"): str(v) for k, v in found.items()}
        secret = values.get(f"webhooks/{provider}")
        if secret is None and provider in CHOSEN_SECRET_PROVIDERS:
            secret = values.get("webhook-secret")
        own = f"webhooks/{provider}-"
        settings = {k.removeprefix(own): v for k, v in values.items() if k.startswith(own)}
        return ProviderCredentials(secret, settings)

    def clear_cache(self) -> None:
        self._provider.clear_cache()  # type: ignore[no-untyped-call]
