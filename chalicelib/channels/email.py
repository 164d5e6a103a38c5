"""Email through Amazon SES (v1 API: moto implements its sending and templates; v2 templates it does not)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.errors import ChannelError

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

# Codes after which sending the same message again cannot succeed.
_PERMANENT = {"MessageRejected", "InvalidParameterValue", "MailFromDomainNotVerifiedException"}


class EmailChannel:
    def __init__(
        self,
        ses: SESClient,
        sender: str,
        *,
        configuration_set: str | None = None,
        undeliverable: Callable[[str], bool] | None = None,
    ) -> None:
        self._ses = ses
        self._sender = sender
        self._options: dict[str, Any] = {"ConfigurationSetName": configuration_set} if configuration_set else {}
        self._undeliverable = undeliverable

    def send(self, address: str, subject: str, body: str) -> str:
        """Sends one plain-text email and returns SES's message id."""
        if self._undeliverable is not None and self._undeliverable(address):
            # It bounced for good or its owner complained: sending again would only hurt the sender's reputation.
            raise ChannelError("AddressUndeliverable", permanent=True)
        try:
            response = self._ses.send_email(
                **self._options,
                Source=self._sender,
                Destination={"ToAddresses": [address]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
            )
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "Unknown")
            raise ChannelError(code, permanent=code in _PERMANENT) from e
        return response["MessageId"]
