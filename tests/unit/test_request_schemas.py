"""The JSON Schema of every request body (`chalicelib.schemas.request_schemas`) is the validator's own: a body
the schema describes in full is accepted, every field the schema names is one the validator reads, and a bad
body is refused by the validator naming the same fields the schema finds wrong."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from chalicelib.core.errors import InvalidRequest
from chalicelib.core.validation import Context, read_body
from chalicelib.schemas import request_models, request_schemas

NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
CONTEXT = Context(region="US", now=NOW, clinic_name="Example Clinic")
TIMING = {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00", "20:00:00"]}}
PATIENT = {
    "name": "Pat Example",
    "phone": "+1 415 555 0101",
    "email": "pat@example.com",
    "timezone": "America/New_York",
    "language": "es-MX",
}

# Bodies that, together, use every field of each route (exclusive alternatives in separate bodies).
VALID: dict[str, list[dict[str, Any]]] = {
    "POST /v1/appointments": [
        {
            "patient": PATIENT,
            "start": "2026-12-01T09:00:00-05:00",
            "duration_minutes": 45,
            "provider": "Dr. Example",
            "location": "Room 1",
            "external_id": "ehr-1",
            "event_type": "New patient",
        },
        {
            "patient": {**PATIENT, "whatsapp_opt_in": True, "preferred_channel": "whatsapp"},
            "start": "2026-12-01T09:00:00-05:00",
        },
    ],
    "PATCH /v1/appointments/{appointment_id}": [
        {"start": "2026-12-02T09:00:00Z", "duration_minutes": 20, "provider": "Dr. Example", "location": ""}
    ],
    "PUT /v1/clinic": [
        {
            "timezone": "America/Chicago",
            "reminders": [{"before": "P1D", "channel": "sms"}, {"days_before": 1, "at": "18:00", "channel": "email"}],
            "quiet_hours": {"start": "21:30", "end": "07:00"},
            "frequency_caps": True,
            "patients_may_cancel": False,
            "sms_segment_limit": 3,
            "sender_name": "Example Clinic",
            "reply_to": "desk@example.com",
            "contact_phone": "(415) 555-0199",
            "booking_url": "https://book.example.com/clinic",
            "templates": {"es": {"reminder": "{clinic}: su cita es {when}. {link}"}},
            "medication": {
                "when_times": {"MORN": "07:30"},
                "names_in_sms": True,
                "snooze_minutes": 10,
                "follow_up_minutes": 20,
                "caregiver_minutes": 45,
                "refill_days": 5,
                "min_interval_minutes": 120,
            },
            "opening_hours": {"open": "09:00", "close": "17:00"},
            "board_labels": "tickets",
            "check_in_window_minutes": 45,
            "delivery_window_minutes": 30,
            "channel_order": ["whatsapp", "email", "sms"],
            "notice_channel": "both",
            "whatsapp": {
                "templates": {
                    "reminder": {
                        "es": {
                            "name": "carecue_reminder",
                            "body": "{{1}} le recuerda su cita el {{2}} a las {{3}}. Confirme: {{4}}",
                            "parameters": ["clinic", "day", "time", "link"],
                            "language_code": "es",
                        }
                    }
                }
            },
            "messenger": {
                "templates": {
                    "reminder": {
                        "en": {
                            "name": "carecue_reminder",
                            "body": "{{1}}: your appointment is on {{2}} at {{3}}.",
                            "parameters": ["clinic", "day", "time"],
                            "language_code": "en_US",
                        }
                    }
                }
            },
        },
        {"quiet_hours": None, "opening_hours": None, "medication": None, "reminders": None},
        {"forms": [{"questionnaire": "intake", "providers": ["Dr. Example"], "event_types": ["New patient"]}]},
        {"inbox": {"hours": "Mon-Fri 8 AM to 6 PM", "urgent_phone": "911", "notice_email": "desk@example.com"}},
    ],
    "PUT /v1/patients/{patient_id}": [
        {"preferred_channel": "email", "language": "es", "timezone": "Europe/Madrid", "opt_out": {"sms": True}},
        {"preferred_channel": None, "timezone": None, "opt_out": {"email": False}},
        {"preferred_channel": "whatsapp", "opt_out": {"whatsapp": True}},
        {"preferred_channel": "messenger", "opt_out": {"messenger": True}},
    ],
    "POST /v1/regimens": [
        {
            "patient": PATIENT,
            "medication": "Examplamab 10 mg",
            "dose": "1 tablet",
            "timing": TIMING,
            "caregiver": {"first_name": "Pat", "phone": "+1 415 555 0102", "email": "care@example.com"},
            "supply": 30,
            "external_id": "rx-1",
        },
        {
            "patient": {**PATIENT, "whatsapp_opt_in": True, "preferred_channel": "whatsapp"},
            "medication": "Examplamab 10 mg",
            "timing": TIMING,
        },
        {
            "patient_id": "pat_1",
            "medication": "Examplamab 10 mg",
            "instructions": [
                {"sequence": 1, "text": "twice a day", "patientInstruction": "with food", "timing": TIMING}
            ],
        },
    ],
    "PATCH /v1/regimens/{regimen_id}": [{"status": "paused"}],
    "POST /v1/conversations/{patient_id}/messages": [{"text": "Yes, 3 PM works.", "external_id": "ehr-msg-1"}],
}

# A bad body per route, wrong only in ways a JSON Schema can say, and the fields at fault.
BAD: dict[str, dict[str, Any]] = {
    "POST /v1/appointments": {
        "patient": {"name": 7, "email": "pat@example.com", "language": "EN", "age": 40, "whatsapp_opt_in": "yes"},
        "start": 12,
        "duration_minutes": 0,
        "colour": "blue",
    },
    "PATCH /v1/appointments/{appointment_id}": {"duration_minutes": 1441, "provider": 3},
    "PUT /v1/clinic": {
        "reminders": [{"before": 5, "channel": "fax"}],
        "frequency_caps": "yes",
        "sms_segment_limit": 11,
        "sender_name": "",
        "channel_order": ["sms", "sms"],
        "medication": {"refill_days": 0, "colour": "blue"},
        "opening_hours": {"open": "8am", "close": "18:00", "lunch": "12:00"},
        "whatsapp": {
            "templates": {
                "reminder": {"es": {"name": "Not A Name", "body": "{{1}}", "parameters": ["clinic"], "colour": 1}}
            }
        },
        "forms": [
            {"questionnaire": "intake", "providers": [], "colour": 1},
            {"questionnaire": 5, "event_types": "New patient"},
        ],
        "colour": 1,
    },
    "PUT /v1/patients/{patient_id}": {"preferred_channel": "fax", "language": "english!", "opt_out": "yes", "age": 3},
    "POST /v1/regimens": {
        "patient": PATIENT,
        "medication": 5,
        "supply": 0,
        "caregiver": {"first_name": "Pat", "email": "care@example.com", "age": 1},
        "instructions": [{"timing": TIMING, "route": "oral"}],
    },
    "PATCH /v1/regimens/{regimen_id}": {"status": "gone"},
    "POST /v1/conversations/{patient_id}/messages": {"text": "", "channel": "sms"},
}


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """The schema itself: a $ref followed, an optional value's non-null branch taken."""
    if "$ref" in schema:
        return resolve(root["$defs"][schema["$ref"].rsplit("/", 1)[-1]], root)
    branches = [branch for branch in schema.get("anyOf", []) if branch.get("type") != "null"]
    return resolve(branches[0], root) if len(branches) == 1 else schema


def schema_paths(schema: dict[str, Any], root: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every field the schema names, as a path (a list's items under "[]")."""
    schema = resolve(schema, root)
    if schema.get("type") == "array" and "items" in schema:
        yield from schema_paths(schema["items"], root, f"{prefix}[]")
    for name, part in schema.get("properties", {}).items():
        yield f"{prefix}.{name}" if prefix else name
        yield from schema_paths(part, root, f"{prefix}.{name}" if prefix else name)


def used_paths(value: Any, schema: dict[str, Any], root: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """The fields of `value` the schema describes, as paths, in the same form as `schema_paths`."""
    schema = resolve(schema, root)
    if isinstance(value, list) and "items" in schema:
        for item in value:
            yield from used_paths(item, schema["items"], root, f"{prefix}[]")
    if isinstance(value, dict) and "properties" in schema:
        for name, part in value.items():
            path = f"{prefix}.{name}" if prefix else name
            yield path
            yield from used_paths(part, schema["properties"][name], root, path)


def deepest(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """An optional value's errors are its non-null branch's: where inside it the value is wrong."""
    for error in errors:
        if error.validator == "anyOf":
            yield from deepest(e for e in error.context or [] if e.validator_value != "null")
        else:
            yield error


def schema_problems(schema: dict[str, Any], body: dict[str, Any]) -> set[str]:
    """The fields JSON Schema validation finds wrong, named as the validator names them."""
    found: set[str] = set()
    for error in deepest(Draft202012Validator(schema).iter_errors(body)):
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
        if error.validator == "additionalProperties":
            known = set(error.schema.get("properties", {}))
            found |= {f"{path}.{name}" for name in error.instance if name not in known}
        else:
            found.add(path)
    return {path.lstrip(".") for path in found}


def test_every_route_that_validates_a_body_has_a_schema() -> None:
    assert set(request_schemas()) == set(VALID) == set(BAD)
    for schema in request_schemas().values():
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("route", sorted(VALID))
def test_bodies_the_schema_describes_are_accepted_and_use_every_field_it_names(route: str) -> None:
    schema, model = request_schemas()[route], request_models()[route]
    used: set[str] = set()
    for body in VALID[route]:
        assert list(Draft202012Validator(schema).iter_errors(body)) == []
        read_body(model, body, CONTEXT)  # accepted: InvalidRequest otherwise
        used |= set(used_paths(body, schema, schema))

    assert used == set(schema_paths(schema, schema))


@pytest.mark.parametrize("route", sorted(BAD))
def test_a_bad_body_is_refused_naming_the_fields_the_schema_finds_wrong(route: str) -> None:
    schema, model = request_schemas()[route], request_models()[route]

    with pytest.raises(InvalidRequest) as refused:
        read_body(model, BAD[route], CONTEXT)

    named = {problem.field for problem in refused.value.problems}
    assert named == schema_problems(schema, BAD[route])
    assert len(named) >= 2 or route == "PATCH /v1/regimens/{regimen_id}"
