"""The JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) of every request body the API validates, generated from
the request models themselves (`chalicelib.core.validation` and each domain's `bodies.py`), so the schema and
the validator cannot drift apart. Keyed by route, for the OpenAPI document to come.

It lives here, above the domain packages, because it reads all their models; `chalicelib.edge` sits below them.
The generation imports pydantic and every model: call it from a tool or a docs route, never on a hot path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.core.validation import Body


def request_schemas() -> dict[str, dict[str, Any]]:
    """Route ("POST /v1/appointments") → the JSON Schema of its body."""
    return {route: model.model_json_schema() for route, model in request_models().items()}


def request_models() -> dict[str, type[Body]]:
    """Route → the model that validates its body (and whose JSON Schema `request_schemas` gives)."""
    from chalicelib.appointments.bodies import AppointmentChangeBody, NewAppointmentBody
    from chalicelib.clinics.bodies import ClinicSettingsBody
    from chalicelib.inbox.bodies import StaffAnswerBody
    from chalicelib.patients.bodies import PatientUpdateBody
    from chalicelib.regimens.bodies import NewRegimenBody, RegimenStatusBody

    models: dict[str, type[Body]] = {
        "POST /v1/appointments": NewAppointmentBody,
        "PATCH /v1/appointments/{appointment_id}": AppointmentChangeBody,
        "PUT /v1/clinic": ClinicSettingsBody,
        "PUT /v1/patients/{patient_id}": PatientUpdateBody,
        "POST /v1/regimens": NewRegimenBody,
        "PATCH /v1/regimens/{regimen_id}": RegimenStatusBody,
        "POST /v1/conversations/{patient_id}/messages": StaffAnswerBody,
    }
    return models
