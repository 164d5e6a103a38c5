"""A clinic's form mapping: which field of its form holds the patient's name, phone, email, the start (one
date-time field, or a date field and a time field) and the time zone. For `form` the names are the form's
own field names (a dotted path into JSON); for Typeform they are the questions' `ref`s.

    {"name": "full_name", "phone": "phone", "email": "email",
     "date": "visit_date", "time": "visit_time", "timezone": "tz", "id": "submission_id"}

A start without an offset is read in the time zone field's zone, else the mapping's `default_timezone`, else
the clinic's. In a DST gap or overlap the earlier reading (fold 0) is taken, as `zoneinfo` does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from msgspec import Struct

from chalicelib.core.errors import FieldProblem, InvalidRequest
from chalicelib.core.timezones import is_known_timezone, phone_region
from chalicelib.intake import payload as read
from chalicelib.intake.events import BookingEvent, EventKind

FIELDS = ("name", "phone", "email", "start", "date", "time", "timezone", "language", "location", "id")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p")


class FormMapping(Struct, frozen=True):
    fields: Mapping[str, str]
    default_timezone: str | None = None

    def to_json(self) -> str:
        document = dict(self.fields)
        if self.default_timezone:
            document["default_timezone"] = self.default_timezone
        return json.dumps(document, sort_keys=True)


def parse_mapping(text: str | bytes) -> FormMapping:
    """Validates a mapping file; every problem is named by its key."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise InvalidRequest.single("mapping", "is not valid JSON") from None
    if not isinstance(raw, dict):
        raise InvalidRequest.single("mapping", "must be a JSON object")
    problems = []
    default_timezone = raw.pop("default_timezone", None)
    if default_timezone is not None and not (isinstance(default_timezone, str) and is_known_timezone(default_timezone)):
        problems.append(FieldProblem("default_timezone", "is not an IANA time zone such as Europe/Berlin"))
    for key, value in raw.items():
        if key not in FIELDS:
            problems.append(FieldProblem(key, f"is not a known key; use {', '.join(FIELDS)} or default_timezone"))
        elif not isinstance(value, str) or not value.strip():
            problems.append(FieldProblem(key, "must name a field"))
    if "name" not in raw:
        problems.append(FieldProblem("name", "is required"))
    if "start" not in raw and not ("date" in raw and "time" in raw):
        problems.append(FieldProblem("start", "is required, or both date and time"))
    if "phone" not in raw and "email" not in raw:
        problems.append(FieldProblem("phone", "or email is required: reminders need one"))
    if problems:
        raise InvalidRequest(problems)
    return FormMapping({k: v.strip() for k, v in raw.items()}, default_timezone)


def mapping_from_settings(settings: Mapping[str, str]) -> FormMapping:
    text = settings.get("mapping")
    if not text:
        raise InvalidRequest.single("mapping", "no form mapping is set for this clinic (set-form-mapping)")
    return parse_mapping(text)


def mapped_start(values: Mapping[str, Any], mapping: FormMapping, clinic_timezone: str) -> tuple[datetime, str]:
    """The start as an aware instant, and the zone the patient reads it in."""
    zone_value = values.get(mapping.fields.get("timezone", "\x00"))
    zone = read.timezone(zone_value) or mapping.default_timezone or clinic_timezone
    if "start" in mapping.fields:
        text = read.required_text(values.get(mapping.fields["start"]), mapping.fields["start"])
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidRequest.single(mapping.fields["start"], "must be an ISO 8601 date and time") from None
    else:
        day = _date(values.get(mapping.fields["date"]), mapping.fields["date"])
        moment = datetime.combine(day, _time(values.get(mapping.fields["time"]), mapping.fields["time"]))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment, zone


def mapped_event(
    values: Mapping[str, Any], mapping: FormMapping, clinic_timezone: str, external_id: str, sequence: int
) -> BookingEvent:
    """A form submission as a new booking: forms create bookings; moving or cancelling one is the clinic's job."""
    start, zone = mapped_start(values, mapping, clinic_timezone)

    def value(key: str) -> Any:
        return values.get(mapping.fields[key]) if key in mapping.fields else None

    location = value("location")
    return BookingEvent(
        kind=EventKind.CREATED,
        external_id=external_id,
        sequence=sequence,
        patient=read.patient(
            value("name"),
            value("phone"),
            value("email"),
            zone,
            value("language"),
            field=mapping.fields["name"],
            region=phone_region(clinic_timezone),  # the clinic's country, not the patient's zone
        ),
        start=start,
        location=location[:200] if isinstance(location, str) and location else None,
    )


def _date(value: Any, field: str) -> date:
    text = read.required_text(value, field)
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InvalidRequest.single(field, "must be a date such as 2026-12-02") from None


def _time(value: Any, field: str) -> time:
    text = read.required_text(value, field).upper()
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern).time()
        except ValueError:
            continue
    raise InvalidRequest.single(field, "must be a time such as 14:30 or 2:30 PM")
