"""The JSON shape of `GET/PUT /v1/patients/{id}`: a TypedDict the patient service's view returns (mypy checks it;
the OpenAPI document's response schema is generated from it)."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict


class OptOutView(TypedDict):
    at: str
    source: str | None


class OptInView(TypedDict):
    at: str
    source: str | None


class PatientView(TypedDict):
    """A patient's preferences and, per channel (sms, email, whatsapp, messenger), the address's opt-out or null."""

    id: str
    name: str
    phone: str | None
    email: str | None
    preferred_channel: str | None
    language: str | None
    timezone: str | None
    opt_out: dict[str, OptOutView | None]
    shares_contact_with: list[dict[str, Any]]
    merged_into: str | None
    whatsapp_opt_in: OptInView | None
    messenger: OptInView | None  # when and how the patient linked Messenger (chalicelib.patients.messenger)


class PatientChangeView(TypedDict):
    """One change to a patient's details: the field, its value before and after (null: none), when, who made it
    (`by`: patient, clinic or booking_tool; `actor`: the link, the API key's id, the tool), and for a new phone
    or email how the patient proved it (`sms_code`, `email_code`)."""

    at: str
    field: str
    old: str | None
    new: str | None
    by: str
    actor: str
    proof: str | None


class PatientChangePage(TypedDict):
    """A page of `GET /v1/patients/{id}/changes`, newest first; `next` is null after the last page."""

    changes: list[PatientChangeView]
    next: str | None
