"""Email through Amazon SES (v1 API: moto implements its sending and templates; v2 templates it does not)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.core.errors import ChannelError

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

    from chalicelib.render.templates import Message

# The message tag that carries the delivery's key; SES echoes a configuration set's tags in each of its events.
DELIVERY_TAG = "carecue-delivery"

# Codes after which sending the same message again cannot succeed.
# Refusals that are about this message or its recipient: sending it again would be refused again.
_PERMANENT = {"MessageRejected", "InvalidParameterValue"}
# Refusals that are about CareCue's own sending set-up, which an operator fixes (a sender identity not or no longer
# verified, sending paused): the same message goes when it is fixed, so they are retried, not failed for good.
_SET_UP = {"MailFromDomainNotVerifiedException", "ConfigurationSetDoesNotExist", "AccountSendingPausedException"}


def _channel_error(error: ClientError) -> ChannelError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    text = str(details.get("Message", "")).lower()
    # SES: "Email address is not verified. The following identities failed the check…"; moto's raw-email
    # emulation words the same refusal "Did not have authority to send from email …".
    unverified = "not verified" in text or "authority to send" in text
    if code in _SET_UP or (code == "MessageRejected" and unverified):
        return ChannelError(f"{code}_sender", permanent=False)
    return ChannelError(code, permanent=code in _PERMANENT)


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

    @property
    def reports_delivery(self) -> bool:
        """Whether SES publishes this channel's events (a configuration set): its `Delivery` is a receipt."""
        return bool(self._options)

    def _refuse_undeliverable(self, address: str) -> None:
        if self._undeliverable is not None and self._undeliverable(address):
            # It bounced for good or its owner complained: sending again would only hurt the sender's reputation.
            raise ChannelError("AddressUndeliverable", permanent=True)

    def _tagged(self, callback: str | None) -> dict[str, Any]:
        if callback is None:
            return self._options
        # Harmless without a configuration set (SES then publishes no events to echo them in).
        return {**self._options, "Tags": [{"Name": DELIVERY_TAG, "Value": delivery_tag_value(callback)}]}

    def send(self, address: str, subject: str, body: str, callback: str | None = None) -> str:
        """Sends one plain-text email and returns SES's message id; `callback`, the delivery's key, goes as the
        `carecue-delivery` message tag, so that SES's events find the delivery."""
        self._refuse_undeliverable(address)
        try:
            response = self._ses.send_email(
                **self._tagged(callback),
                Source=self._sender,
                Destination={"ToAddresses": [address]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
            )
        except ClientError as e:
            raise _channel_error(e) from e
        return response["MessageId"]

    def send_message(self, address: str, message: Message, callback: str | None = None) -> str:
        """Sends `message`: as MIME (text, HTML, .ics, List-Unsubscribe) when it has more than text."""
        if message.html is None and message.calendar is None and message.unsubscribe_url is None:
            return self.send(address, message.subject or "", message.body, callback)
        self._refuse_undeliverable(address)
        try:
            response = self._ses.send_raw_email(
                **self._tagged(callback),
                Source=self._sender,
                Destinations=[address],
                RawMessage={"Data": mime_message(self._sender, address, message)},
            )
        except ClientError as e:
            raise _channel_error(e) from e
        return response["MessageId"]


def delivery_tag_value(callback: str) -> str:
    """A delivery's key (`{owner_id}/{reminder_id}|{occurrence}`) as a message tag value, which SES allows only
    letters, digits, `_` and `-` in: base64url without padding."""
    return base64.urlsafe_b64encode(callback.encode()).decode().rstrip("=")


def delivery_of_tag(value: str) -> tuple[str, str] | None:
    """(reminder key, occurrence) from a tag value `delivery_tag_value` made; None for anything else."""
    try:
        callback = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    reminder_key, bar, occurrence = callback.rpartition("|")
    return (reminder_key, occurrence) if bar and "/" in reminder_key and occurrence else None


def mime_message(sender: str, address: str, message: Message) -> bytes:
    """multipart/mixed: (text/plain | text/html) alternatives, then the invitation as text/calendar."""
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import formataddr

    # Lines up to RFC 5322's hard limit: folding at 78 would split the List-Unsubscribe URL, which must stay whole.
    mail = EmailMessage(policy=SMTP.clone(max_line_length=998))
    mail["From"] = formataddr((message.sender_name, sender)) if message.sender_name else sender
    mail["To"] = address
    mail["Subject"] = message.subject or ""
    if message.reply_to:
        mail["Reply-To"] = message.reply_to
    if message.unsubscribe_url:
        # RFC 8058 one-click: the mail provider POSTs to the link, which opts out on POST only.
        mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(message.body)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
    if message.calendar is not None:
        method = "CANCEL" if b"METHOD:CANCEL" in message.calendar else "REQUEST"
        mail.add_attachment(
            message.calendar, maintype="text", subtype="calendar", filename="appointment.ics", params={"method": method}
        )
    return mail.as_bytes()
