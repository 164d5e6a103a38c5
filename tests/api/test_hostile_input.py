"""Hostile input at every route that reads a body or a path: generated bodies (a valid request with one part
replaced by something hostile, or hostile JSON of its own) and hostile path ids. Whatever arrives, the answer is
never a 5xx; a refusal is the one error envelope; and a refused request stores nothing.

The hostile parts are the ones a demanding auditor threw at the local stack: dates in year 1 and 9999, durations
of a billion days, lone UTF-16 surrogates and NULs, JSON nested thousands deep, format strings in templates,
numbers past any range, NaN, empty and huge ids, digits that `str.isdigit()` accepts and `int()` refuses."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.store.models import Appointment, Patient, Regimen, Reminder
from tests.conftest import ClinicKeys, World
from tests.webhook_support import fixture, signature_headers

HOSTILE_TEXT = [
    "\ud800",
    "a\x00b",
    "",
    " ",
    "x" * 5000,
    "{when:%Y}",
    "{clinic!z}",
    "{0}",
    "{clinic.__class__}",
    "²³¹",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31",
    "P1000000000D",
    "PT99999999999H",
    "-P1D",
    "+1 (415) 555-0109",
    "١٢٣",
    "NaN",
    "../../etc/passwd",
    "%00",
    "<script>alert(1)</script>",
]
HOSTILE_NUMBERS = [0, -1, 2**31, 2**63, 10**12, 10**400, 1.5, -0.0, 1e308, float("nan"), float("inf"), True, None]


def hostile_leaf() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.sampled_from(HOSTILE_NUMBERS),
        st.text(max_size=30),
        st.integers(),
        st.lists(st.sampled_from(HOSTILE_TEXT), max_size=3),
        st.just({}),
        st.just([]),
        st.just([["d"]]),
    )


def json_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        hostile_leaf(),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
        max_leaves=8,
    )


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value a hostile part can go (each key of each object, each item of each list)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_of(child, (*prefix, index))
    return found


def replaced(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(base)
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


@st.composite
def hostile_bodies(draw: st.DrawFn, base: dict[str, Any]) -> str:
    """A valid body with one or two parts made hostile, a part added, or hostile JSON of its own."""
    kind = draw(st.sampled_from(["replace", "replace", "add", "own", "deep"]))
    if kind == "deep":
        depth = draw(st.sampled_from([65, 1000, 10_000]))
        return '{"patient":' + "[" * depth + "]" * depth + "}"
    if kind == "own":
        return json.dumps(draw(json_values()))
    body = base
    for path in draw(st.lists(st.sampled_from(paths_of(base)), min_size=1, max_size=2)):
        if kind == "add":
            path = (*path[:-1], draw(st.sampled_from(["x", "\ud800", "version", "status"])))
        try:
            body = replaced(body, path, draw(json_values()))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this place, or it is a list that takes no named part
    return json.dumps(body)


def stored() -> dict[str, list[dict[str, Any]]]:
    return {
        model.__name__: sorted((item.to_simple_dict() for item in model.scan()), key=json.dumps)
        for model in (Appointment, Patient, Reminder, Regimen)
    }


@dataclass
class Target:
    api: Client
    clinic: ClinicKeys
    webhook_secret: str
    appointment_id: str
    patient_id: str
    regimen_id: str
    clock_now: Any

    def send(self, method: str, path: str, body: str | bytes, headers: dict[str, str] | None = None) -> Any:
        return self.api.http.request(method, path, headers=headers or self.clinic.headers, body=body)


BOOKING = {
    "patient": {"name": "Pat Example", "phone": "+14155550100", "email": "pat@example.org", "language": "es"},
    "start": "2026-12-02T10:00:00-05:00",
    "duration_minutes": 30,
    "provider": "Dr. Example",
    "location": "Room 4",
    "external_id": "ext-1",
}
CHANGE = {"start": "2026-12-03T10:00:00-05:00", "duration_minutes": 45, "location": "Room 5"}
CLINIC = {
    "reminders": [{"before": "P1D", "channel": "sms"}, {"days_before": 1, "at": "18:00"}],
    "templates": {"es": {"reminder": "{clinic}: cita {when}"}},
    "quiet_hours": {"start": "21:00", "end": "08:00"},
    "medication": {"snooze_minutes": 20, "when_times": {"MORN": "08:00"}},
    "patients_may_cancel": True,
}
REGIMEN = {
    "patient": {"name": "Pat Example", "phone": "+14155550100"},
    "medication": "Examplamab 10 mg",
    "dose": "1 tablet",
    "timing": {
        "repeat": {
            "frequency": 2,
            "period": 1,
            "periodUnit": "d",
            "timeOfDay": ["08:00:00", "20:00:00"],
            "boundsPeriod": {"start": "2026-12-01T00:00:00-05:00", "end": "2026-12-20T23:59:00-05:00"},
        }
    },
    "caregiver": {"first_name": "Pat", "phone": "+14155550101"},
    "external_id": "rx-1",
}
PATIENT = {"language": "es", "preferred_channel": "sms", "timezone": "America/Chicago", "opt_out": {"email": True}}


@pytest.fixture
def target(api: Client, aws: World) -> Target:
    made = aws.services.clinics.create("Riverside Family Clinic", "America/New_York")
    clinic = ClinicKeys(made.clinic_id, made.api_key)
    created = api.http.post("/v1/appointments", headers=clinic.headers, body=json.dumps(BOOKING)).json_body
    regimen = api.http.post("/v1/regimens", headers=clinic.headers, body=json.dumps(REGIMEN))
    assert regimen.status_code == 201, regimen.json_body
    return Target(
        api,
        clinic,
        made.webhook_secret,
        created["id"],
        created["patient"]["id"],
        regimen.json_body["id"],
        aws.services.clock.now(),
    )


def assert_refused_cleanly(answer: Any, before: dict[str, list[dict[str, Any]]]) -> None:
    assert answer.status_code < 500, answer.body
    if answer.status_code >= 400:
        error = json.loads(answer.body)["error"]
        assert set(error) == {"code", "message", "fields"}
        assert isinstance(error["fields"], list)
        assert stored() == before, "a refused request stored something"


HYPOTHESIS = settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROUTES = [
    ("POST", "/v1/appointments", BOOKING),
    ("PATCH", "/v1/appointments/{appointment_id}", CHANGE),
    ("PUT", "/v1/clinic", CLINIC),
    ("POST", "/v1/regimens", REGIMEN),
    ("PUT", "/v1/patients/{patient_id}", PATIENT),
]


@pytest.mark.parametrize(("method", "route", "base"), ROUTES, ids=[f"{m} {r}" for m, r, _ in ROUTES])
@HYPOTHESIS
@given(data=st.data())
def test_no_body_gets_a_5xx_or_stores_anything_when_refused(
    target: Target, method: str, route: str, base: dict[str, Any], data: st.DataObject
) -> None:
    path = route.format(appointment_id=target.appointment_id, patient_id=target.patient_id)
    body = data.draw(hostile_bodies(base))
    before = stored()

    answer = target.send(method, path, body)

    assert_refused_cleanly(answer, before)


SIGNED = [("calcom", "booking_created.json"), ("calendly", "invitee_created.json")]


@pytest.mark.parametrize(("provider", "example"), SIGNED, ids=[provider for provider, _ in SIGNED])
@HYPOTHESIS
@given(data=st.data())
def test_no_signed_webhook_gets_a_5xx_or_stores_anything_when_refused(
    target: Target, provider: str, example: str, data: st.DataObject
) -> None:
    body = data.draw(hostile_bodies(fixture(provider, example))).encode("utf-8", "surrogatepass")
    stamp = int(target.clock_now.timestamp())
    headers = {"Content-Type": "application/json", **signature_headers(provider, target.webhook_secret, body, stamp)}
    before = stored()

    answer = target.send("POST", f"/webhooks/{provider}/{target.clinic.clinic_id}", body, headers)

    assert_refused_cleanly(answer, before)


PATH_IDS = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40)).map(
    lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")
)


@HYPOTHESIS
@given(ident=PATH_IDS, action=st.sampled_from(["", "/check-in", "/start", "/finish", "/no-show"]))
def test_no_path_id_gets_a_5xx(target: Target, ident: str, action: str) -> None:
    before = stored()
    for method, path in [
        ("GET", f"/v1/appointments/{ident}"),
        ("POST" if action else "DELETE", f"/v1/appointments/{ident}{action}"),
        ("GET", f"/v1/patients/{ident}"),
        ("GET", f"/v1/regimens/{ident}/adherence"),
        ("GET", f"/p/{ident}"),
        ("POST", f"/d/{ident}"),
        ("GET", f"/board/{ident}"),
        ("GET", f"/v1/appointments?from={ident}&to={ident}"),
    ]:
        answer = target.send(method, path, "{}")
        assert answer.status_code < 500, (method, path, answer.body)
    assert stored() == before


# --- the auditor's own requests, each with the answer a client should get ------------------------------------

NAMED = [
    ("POST", "/v1/appointments", {**BOOKING, "start": "9999-12-02T10:00:00-05:00"}, 400, "start"),
    ("POST", "/v1/appointments", {**BOOKING, "external_id": "\ud800"}, 400, "external_id"),
    ("POST", "/v1/appointments", {**BOOKING, "patient": {**BOOKING["patient"], "name": "\ud800"}}, 400, "patient.name"),
    ("POST", "/v1/appointments", {**BOOKING, "location": "Room\x004"}, 400, "location"),
    ("POST", "/v1/appointments", '{"patient":' + "[" * 10_000 + "]" * 10_000 + "}", 400, "body"),
    ("POST", "/v1/appointments", '{"duration_minutes": NaN}', 400, "body"),
    ("PUT", "/v1/clinic", {"reminders": [{"before": "P1000000000D"}]}, 400, "reminders[0].before"),
    ("PUT", "/v1/clinic", {"templates": {"en": {"reminder": "{clinic}: {when:%Y}"}}}, 400, "templates.en.reminder"),
    ("PUT", "/v1/clinic", {"templates": {"en": {"reminder": "{clinic!z}: {when}"}}}, 400, "templates.en.reminder"),
    ("POST", "/v1/appointments//check-in", {}, 404, None),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), NAMED, ids=[str(i) for i in range(len(NAMED))])
def test_the_auditors_requests_are_refused_naming_the_field_and_store_nothing(
    target: Target, method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    before = stored()

    answer = target.send(method, path, body if isinstance(body, str) else json.dumps(body))

    assert answer.status_code == status
    error = json.loads(answer.body)["error"]
    assert [problem["field"] for problem in error["fields"]] == ([field] if field else [])
    assert stored() == before


def test_a_form_signature_whose_time_is_not_ascii_digits_is_a_401(target: Target) -> None:
    body = json.dumps({"name": "Pat Example"}).encode()
    headers = {"Content-Type": "application/json", "X-CareCue-Signature": "t=²³¹,v1=00"}

    answer = target.send("POST", f"/webhooks/form/{target.clinic.clinic_id}", body, headers)

    assert answer.status_code == 401
    assert "t=<unix time>" in json.loads(answer.body)["error"]["message"]


def test_an_inbound_sms_from_a_sender_that_is_not_text_is_dropped(target: Target, aws: World) -> None:
    from infra.local.stack import sns_event

    sent_before = len(aws.sent())
    event = sns_event("\ud800", None, "C", "msg-hostile-1", aws.services.clock.now())

    target.api.lambda_.invoke("inbound_sms", event)

    assert len(aws.sent()) == sent_before
