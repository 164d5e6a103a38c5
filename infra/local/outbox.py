"""The local stack's outbox: every SMS and email that SNS or SES accepted (and every Messenger message the Send API's
fake took, `record`), with the simulated time it left.

It listens on the boto3 session the app's clients are made from (botocore's event hooks), so it records
exactly what the production channel code asked AWS to send and what AWS accepted, nothing the app reports
about itself.
"""

from __future__ import annotations

import html
import threading
from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.core.clock import Clock, iso_utc

_OPERATIONS = {
    "sns.Publish": "sms",
    "ses.SendEmail": "email",
    "ses.SendRawEmail": "email",
    "socialmessaging.SendWhatsAppMessage": "whatsapp",
}


@dataclass(frozen=True)
class SentMessage:
    channel: str
    to: str
    subject: str | None
    body: str
    sent_at: str
    message_id: str
    raw: str | None = None  # the whole MIME message, for an email sent raw (HTML, .ics, List-Unsubscribe)


class Outbox:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._messages: list[SentMessage] = []

    def attach(self, session: Any) -> None:
        for operation in _OPERATIONS:
            session.events.register(f"before-parameter-build.{operation}", self._remember_request)
            session.events.register(f"after-call.{operation}", self._record)

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(message) for message in self._messages]

    def since(self, count: int) -> tuple[list[dict[str, Any]], int]:
        """The messages after the first `count`, and how many there are now (the local stack's journal)."""
        with self._lock:
            return [asdict(message) for message in self._messages[count:]], len(self._messages)

    def record(self, channel: str, to: str, subject: str | None, body: str, message_id: str) -> None:
        """A message sent through an API that is not AWS's (Messenger's Send API, `infra.local.messenger_fake`)."""
        with self._lock:
            self._messages.append(SentMessage(channel, to, subject, body, iso_utc(self._clock.now()), message_id))

    def restore(self, messages: list[dict[str, Any]]) -> None:
        """The messages of a saved outbox (the local stack's snapshot), oldest first."""
        with self._lock:
            self._messages = [SentMessage(**message) for message in messages]

    def _remember_request(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["carecue_outbox_request"] = dict(params)

    def _record(self, parsed: dict[str, Any], context: dict[str, Any], model: Any, **_: Any) -> None:
        request = context.get("carecue_outbox_request")
        message_id = parsed.get("MessageId") or parsed.get("messageId")
        if request is None or not message_id:
            return  # AWS refused it: not sent
        if model.name == "SendWhatsAppMessage":
            # The emulator (infra/local/whatsapp_emulator.py) says to whom and with which words, template filled in.
            sent = context.get("carecue_whatsapp_sent")
            if sent is None:
                return
            message = SentMessage("whatsapp", sent["to"], None, sent["body"], "", message_id)
        elif model.name == "Publish":
            message = SentMessage("sms", request["PhoneNumber"], None, request["Message"], "", message_id)
        elif model.name == "SendRawEmail":
            message = _raw_email(request, message_id)
        else:
            content = request["Message"]
            message = SentMessage(
                "email",
                ", ".join(request["Destination"]["ToAddresses"]),
                content["Subject"]["Data"],
                content["Body"]["Text"]["Data"],
                "",
                message_id,
            )
        with self._lock:
            self._messages.append(SentMessage(**{**asdict(message), "sent_at": iso_utc(self._clock.now())}))


def outbox_html(messages: list[dict[str, Any]]) -> str:
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str(m[key] or ''))}</td>" for key in ("sent_at", "channel", "to", "subject"))
        + f"<td><pre>{html.escape(m['body'])}</pre></td></tr>"
        for m in reversed(messages)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>CareCue local outbox</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}pre{margin:0;white-space:pre-wrap}"
        "</style></head><body><h1>Outbox</h1>"
        f"<p>{len(messages)} message(s) sent through the local SNS and SES, newest first.</p>"
        "<table><tr><th>Sent (UTC)</th><th>Channel</th><th>To</th><th>Subject</th><th>Body</th></tr>"
        f"{rows}</table></body></html>"
    )


def _raw_email(request: dict[str, Any], message_id: str) -> SentMessage:
    from email import message_from_bytes, policy

    data = request["RawMessage"]["Data"]
    raw = data if isinstance(data, bytes) else str(data).encode("utf-8")
    mail: Any = message_from_bytes(raw, policy=policy.default)
    text = mail.get_body(preferencelist=("plain",))
    return SentMessage(
        "email",
        ", ".join(request.get("Destinations") or [str(mail["To"])]),
        str(mail["Subject"]),
        text.get_content().replace("\r\n", "\n") if text is not None else "",
        "",
        message_id,
        raw.decode("utf-8", errors="replace"),
    )
