"""Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>` with the webhook's secret
(https://www.typeform.com/developers/webhooks/secure-your-webhooks/).

A `form_response` (https://www.typeform.com/developers/webhooks/example-payload/) carries `form_response.token`
(the submission's id), `submitted_at` and `answers`, each `{type, <type>: value, field: {id, ref, type}}`. The
clinic's mapping (set-form-mapping --provider typeform) names the questions by their `ref` (or `id`).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import InvalidRequest
from chalicelib.intake import payload as read
from chalicelib.intake.context import ProviderContext
from chalicelib.intake.events import BookingEvent, Ignored, WebhookRequest, millis
from chalicelib.intake.form_mapping import mapped_event, mapping_from_settings
from chalicelib.intake.signatures import check_base64

HEADER = "typeform-signature"


def verify(request: WebhookRequest, context: ProviderContext) -> None:
    check_base64(context.secret, request.body, request.headers.get(HEADER), prefix="sha256=")


def parse(request: WebhookRequest, context: ProviderContext) -> BookingEvent | Ignored:
    body = read.json_object(request.body)
    if body.get("event_type") != "form_response":
        return Ignored(f"Typeform {body.get('event_type')} is not a form response")
    response = body.get("form_response")
    if not isinstance(response, dict):
        raise InvalidRequest.single("form_response", "is required")
    mapping = mapping_from_settings(context.credentials.settings)
    return mapped_event(
        answers(response),
        mapping,
        context.clinic_timezone,
        external_id=read.required_text(response.get("token"), "form_response.token"),
        sequence=millis(read.instant(response.get("submitted_at"), "form_response.submitted_at")),
    )


def answers(response: dict[str, Any]) -> dict[str, Any]:
    """Each answer's value under its question's `ref` and `id`; a choice by its label."""
    values: dict[str, Any] = {}
    for answer in response.get("answers") or []:
        if not isinstance(answer, dict) or not isinstance(answer.get("field"), dict):
            continue
        value = answer.get(str(answer.get("type")))
        if isinstance(value, dict):
            value = value.get("label")
        for key in ("ref", "id"):
            name = answer["field"].get(key)
            if isinstance(name, str):
                values[name] = value
    return values
