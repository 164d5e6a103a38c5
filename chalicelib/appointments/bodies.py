"""The appointment request bodies as models of the validation kit (`chalicelib.core.validation`): what
`POST /v1/appointments` and `PATCH /v1/appointments/{id}` accept, every problem named by its field, and the
API's JSON Schema of both (`chalicelib.schemas`). pydantic models: imported by the routes only, never on
the fire path. A new field: declare it on the model, then carry it into `NewAppointment` (`request.py`)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field

from chalicelib.core.validation import Body, FutureInstant, Loc, Text, whole_number
from chalicelib.patients.bodies import PatientBody

_MINUTES = whole_number(1, 24 * 60, "must be a whole number of minutes from 1 to 1440")


def _minutes(value: Any) -> int | None:
    return None if value is None else _MINUTES(value)


Minutes = Annotated[Annotated[int, Field(ge=1, le=24 * 60)] | None, BeforeValidator(_minutes)]


class NewAppointmentBody(Body):
    """`POST /v1/appointments`."""

    patient: PatientBody
    start: FutureInstant
    duration_minutes: Minutes = 30
    provider: Text = None
    location: Text = None
    external_id: Text = None
    # The kind of visit as the clinic's system names it ("new patient", "follow-up"): picks the pre-visit form.
    event_type: Text = None


class AppointmentChangeBody(Body):
    """`PATCH /v1/appointments/{id}`: the fields present are changed; a text present and empty is removed."""

    start: FutureInstant = None  # type: ignore[assignment]  # absent: unchanged; null: "is required"
    duration_minutes: Minutes = None
    provider: Text = None
    location: Text = None
    changeable: ClassVar[tuple[str, ...]] = ("duration_minutes", "location", "provider", "start")

    @classmethod
    def cross_problems(cls, data: dict[str, Any], failed: set[str]) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        if not data:
            problems.append((("body",), f"names nothing to change; send one of {', '.join(cls.changeable)}"))
        if "duration_minutes" in data and data["duration_minutes"] is None:
            problems.append((("duration_minutes",), "cannot be removed"))
        return problems
