"""SMS through Amazon SNS, sent as transactional messages (higher delivery priority than promotional)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.core.errors import ChannelError

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

# Codes after which sending the same message again cannot succeed.
_PERMANENT = {"InvalidParameter", "InvalidParameterValue", "OptedOut", "EndpointDisabled", "AuthorizationError"}


class SmsChannel:
    def __init__(self, sns: SNSClient) -> None:
        self._sns = sns

    def send(self, phone: str, body: str) -> str:
        """Publishes one SMS and returns SNS's message id."""
        try:
            response = self._sns.publish(
                PhoneNumber=phone,
                Message=body,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                },
            )
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "Unknown")
            raise ChannelError(code, permanent=code in _PERMANENT) from e
        return response["MessageId"]
