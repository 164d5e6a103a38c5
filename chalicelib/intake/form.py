"""Any form tool (Jotform, Google Forms, Tally, a clinic's own page): a JSON, form-encoded or multipart body,
read through the clinic's form mapping (set-form-mapping).

Authenticity, in CareCue's own documented scheme: `X-CareCue-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256 of "<t>." + raw body>` with the clinic's secret for `form`, at most 5 minutes old; or, for a tool
that cannot sign, the secret itself in the query string (`?token=<secret>`), which is only as safe as the URL
is secret. The timestamp is checked against the real clock (`ProviderContext.transport_now`), not the local
stack's simulated one. The submission's id is the mapped `id` field, else a hash of the body, so a retried post
books once.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

from chalicelib.core.errors import InvalidRequest, SignatureMismatch
from chalicelib.intake import payload as read
from chalicelib.intake.context import ProviderContext
from chalicelib.intake.events import BookingEvent, Ignored, WebhookRequest
from chalicelib.intake.form_mapping import mapped_event, mapping_from_settings
from chalicelib.intake.signatures import check_timestamped

HEADER = "x-carecue-signature"
TOLERANCE = timedelta(minutes=5)


def verify(request: WebhookRequest, context: ProviderContext) -> None:
    token = request.query.get("token")
    if token is not None:
        if not hmac.compare_digest(token.encode("utf-8"), context.secret.encode("utf-8")):
            raise SignatureMismatch("the token does not match")
        return
    check_timestamped(context.secret, request.body, request.headers.get(HEADER), context.transport_now, TOLERANCE)


def parse(request: WebhookRequest, context: ProviderContext) -> BookingEvent | Ignored:
    values = fields(request)
    mapping = mapping_from_settings(context.credentials.settings)
    id_field = mapping.fields.get("id")
    submission = values.get(id_field) if id_field else None
    external_id = (
        str(submission).strip() if submission not in (None, "") else hashlib.sha256(request.body).hexdigest()[:32]
    )
    # Forms only create bookings, so every submission of one id is the same event: sequence 0.
    return mapped_event(values, mapping, context.clinic_timezone, external_id[:200], sequence=0)


def fields(request: WebhookRequest) -> dict[str, Any]:
    """The submitted fields by name: a JSON object (nested objects by dotted path), a form, or multipart."""
    kind = request.content_type
    if kind == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise InvalidRequest.single("body", "must be UTF-8 form data") from None
        return {name: values[0] for name, values in form.items()}
    if kind == "multipart/form-data":
        return _multipart(request)
    return _flatten(read.json_object(request.body))


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            flat.update(_flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def _multipart(request: WebhookRequest) -> dict[str, Any]:
    header = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(header + request.body)
    if not message.is_multipart():
        raise InvalidRequest.single("body", "is not multipart/form-data with a boundary")
    values: dict[str, Any] = {}
    for part in message.iter_parts() if hasattr(message, "iter_parts") else []:
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and part.get_filename() is None:
            content = part.get_payload(decode=True)
            if isinstance(content, bytes):
                values[name] = content.decode(part.get_content_charset() or "utf-8", "replace")
    return values
