"""The booking's plain reader (`chalicelib.appointments.request.plain_booking`, no pydantic) against the model it
stands in for (`NewAppointmentBody`, through `model_booking`): on any body, the plain reader either declines
(None: the model then answers, naming every problem) or reads exactly what the model reads. It must never accept
a body the model refuses, and never read one differently. The bodies are generated: every field of a booking and
of its patient, present or absent, each with values of the shapes clients send, right and wrong, and now and then
a field no booking has. A plain reader that declined everything would pass that property, so the common bodies
a clinic's system sends are checked to be taken by the plain reader itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.appointments.bodies import NewAppointmentBody
from chalicelib.appointments.request import _BOOKING_FIELDS, model_booking, plain_booking
from chalicelib.core.errors import InvalidRequest
from chalicelib.patients.bodies import PatientBody
from chalicelib.patients.details import _PATIENT_FIELDS

NOW = datetime(2030, 3, 4, 12, 0, tzinfo=UTC)  # an instant of the tests' own; the readers take "now" as given


def _instant(delta: timedelta, offset: str) -> str:
    return (NOW + delta).strftime("%Y-%m-%dT%H:%M:%S") + offset


_WRONG = st.one_of(st.integers(-2, 2), st.floats(allow_nan=False), st.lists(st.integers(), max_size=1), st.just({}))
_TEXT = st.one_of(
    st.none(),
    st.sampled_from(["Room 2", "  Dr. Example  ", "", "   ", "x" * 200, "x" * 201, "follow-up", "ext-0001"]),
    st.text(max_size=12),
    _WRONG,
    st.booleans(),
)
_PATIENT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": _TEXT,
    "phone": st.one_of(
        st.sampled_from(
            [
                "+14155550109",
                "+1 (415) 555-0109",
                "415-555-0109",
                "00 44 20 7946 0958",
                "020 7946 0958",
                "+4930123456",
                "+1 415 555 01",
                "12",
                "not a phone",
                "",
                " ",
                "+" + "1" * 40,
            ]
        ),
        _WRONG,
        st.none(),
    ),
    "email": st.one_of(
        st.sampled_from(["pat@example.com", "Pat@EXAMPLE.COM", " pat@example.org ", "no at sign", "a@b", ""]),
        _WRONG,
        st.none(),
    ),
    "timezone": st.one_of(
        st.sampled_from(["Europe/Madrid", "America/New_York", " UTC ", "Mars/Olympus_Mons", "", "europe/madrid"]),
        _WRONG,
        st.none(),
    ),
    "language": st.one_of(st.sampled_from(["en", "es", "es-MX", "ar", "EN", "e", "toolonglanguage", ""]), st.none()),
    "whatsapp_opt_in": st.one_of(st.booleans(), st.none(), st.sampled_from(["true", 1, 0])),
    "preferred_channel": st.one_of(
        st.sampled_from(["sms", "email", "whatsapp", "messenger", "SMS", "fax", ""]), st.none(), _WRONG
    ),
}
_START = st.one_of(
    st.builds(
        _instant,
        st.sampled_from(
            [
                timedelta(seconds=1),
                timedelta(days=2),
                timedelta(days=3 * 365),
                timedelta(days=3 * 365, seconds=1),
                timedelta(0),
                timedelta(hours=-1),
            ]
        ),
        st.sampled_from(["Z", "+00:00", "-05:00", "+05:30", ""]),
    ),
    st.sampled_from(["2030-03-06", "tomorrow", "2030-13-01T10:00:00Z", ""]),
    _WRONG,
    st.none(),
)
_BOOKING_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "start": _START,
    "duration_minutes": st.one_of(st.sampled_from([0, 1, 30, 1440, 1441, 30.0, "30", True]), st.none()),
    "provider": _TEXT,
    "location": _TEXT,
    "external_id": _TEXT,
    "event_type": _TEXT,
}
_UNKNOWN = {"notes": st.just("bring the letter")}
_PATIENTS = st.one_of(st.fixed_dictionaries({}, optional={**_PATIENT_VALUES, **_UNKNOWN}), _WRONG, st.none())
_REGIONS = st.sampled_from([None, "US", "GB"])


_VALID_TEXT = st.sampled_from(["Room 2", "  Dr. Example  ", "", "x" * 200, None])
_VALID_PATIENT: dict[str, st.SearchStrategy[Any]] = {
    "email": st.sampled_from(["pat@example.com", "Pat@EXAMPLE.COM", " pat@example.org ", None]),
    "timezone": st.sampled_from(["Europe/Madrid", "America/New_York", " UTC ", None]),
    "language": st.sampled_from(["en", "es", "es-MX", "ar", None]),
    "whatsapp_opt_in": st.booleans(),
    "preferred_channel": st.sampled_from(["sms", "email", "whatsapp", "messenger", None]),
}
_VALID_BOOKING: dict[str, st.SearchStrategy[Any]] = {
    "duration_minutes": st.sampled_from([1, 30, 1440, None]),
    "provider": _VALID_TEXT,
    "location": _VALID_TEXT,
    "external_id": _VALID_TEXT,
    "event_type": _VALID_TEXT,
}


@st.composite
def _bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A booking a client could send: a valid one (any of its optional fields), then up to three of its fields or
    its patient's given any value above, removed, or joined by a field no booking has."""
    patient = draw(
        st.fixed_dictionaries(
            {
                "name": st.sampled_from(["Pat Example", " Pat "]),
                "phone": st.sampled_from(["+14155550109", "+4930123456"]),
            },
            optional=_VALID_PATIENT,
        )
    )
    start = st.builds(
        _instant, st.sampled_from([timedelta(seconds=1), timedelta(days=2)]), st.sampled_from(["Z", "-05:00"])
    )
    body = draw(st.fixed_dictionaries({"patient": st.just(patient), "start": start}, optional=_VALID_BOOKING))
    for _ in range(draw(st.integers(0, 3))):
        part = draw(st.sampled_from([body, patient]))
        values = {**(_BOOKING_VALUES | {"patient": _PATIENTS} if part is body else _PATIENT_VALUES), **_UNKNOWN}
        name = draw(st.sampled_from(sorted(values)))
        if draw(st.booleans()):
            part.pop(name, None)
        else:
            part[name] = draw(values[name])
    return body


def _by_model(body: dict[str, Any], region: str | None) -> Any:
    try:
        return model_booking(body, NOW, region)
    except InvalidRequest as refused:
        return refused


@settings(max_examples=500)
@given(body=_bodies(), region=_REGIONS)
def test_the_plain_reader_takes_only_what_the_model_takes_and_reads_it_the_same(
    body: dict[str, Any], region: str | None
) -> None:
    plain = plain_booking(body, NOW, region)
    by_model = _by_model(body, region)

    if isinstance(by_model, InvalidRequest):
        assert plain is None, f"the plain reader took a body the model refuses: {by_model.problems}"
    else:
        assert plain is None or plain == by_model


def _booking(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient": {"name": "Pat Example", "phone": "+1 415 555 0109"},
        "start": _instant(timedelta(days=2), "-05:00"),
    }
    body.update(changes)
    return body


COMMON_BODIES = {
    "phone only": _booking(),
    "email only": _booking(patient={"name": "Pat Example", "email": "Pat@Example.com"}),
    "every field": _booking(
        patient={
            "name": " Pat Example ",
            "phone": "415-555-0109",
            "email": "pat@example.com",
            "timezone": "America/New_York",
            "language": "es-MX",
            "whatsapp_opt_in": True,
            "preferred_channel": "whatsapp",
        },
        duration_minutes=45,
        provider="Dr. Example",
        location="Room 2",
        external_id="ext-0001",
        event_type="new patient",
    ),
    "nulls for the optional fields": _booking(
        patient={"name": "Pat Example", "phone": "+14155550109", "email": None, "language": None},
        duration_minutes=None,
        provider=None,
        location="",
    ),
}


@pytest.mark.parametrize("body", COMMON_BODIES.values(), ids=COMMON_BODIES.keys())
def test_the_plain_reader_takes_the_bodies_clinics_send(body: dict[str, Any]) -> None:
    plain = plain_booking(body, NOW, "US")

    assert plain is not None
    assert plain == model_booking(body, NOW, "US")


def test_a_body_the_plain_reader_declines_still_names_every_problem() -> None:
    body = _booking(patient={"name": "", "phone": "12"}, start="tomorrow", duration_minutes=0, notes="x")

    assert plain_booking(body, NOW, "US") is None
    with pytest.raises(InvalidRequest) as refused:
        model_booking(body, NOW, "US")
    assert {(p.field, p.problem) for p in refused.value.problems} == {
        ("notes", "is not a known field"),
        ("patient.name", "must not be empty"),
        ("patient.phone", "is not a valid phone number"),
        ("start", "must be an ISO 8601 date and time such as 2026-12-01T09:00:00-05:00"),
        ("duration_minutes", "must be a whole number of minutes from 1 to 1440"),
    }


def test_the_plain_reader_knows_the_models_fields() -> None:
    assert set(NewAppointmentBody.model_fields) == _BOOKING_FIELDS
    assert set(PatientBody.model_fields) == _PATIENT_FIELDS
