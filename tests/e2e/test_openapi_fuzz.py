"""The API against its own OpenAPI document, fuzzed by schemathesis on a running local stack: for every operation,
data the document allows and data it does not, with a real API key. No 5xx; every answer's status, content type
and body conform to the document (its answer schemas are closed objects, so an undeclared field fails); data the
document does not allow is refused, in the error envelope.

Webhooks are fuzzed signed, too: for each booking tool, generated bodies and mutations of the tool's documented
events (tests/fixtures/webhooks), each signed over its final bytes the way that tool signs (a requests `auth`
that runs after the body is serialized), to a clinic connected to all six tools. A signed body the tool's reader
cannot use is a 4xx in the envelope, never a 5xx. Messenger's webhook is fuzzed the same way: mutations of Meta's
documented Page events (a message, an m.me referral, a delivery, a read), signed `X-Hub-Signature-256` with the
clinic's app secret; the mutations stay inside `entry[].messaging[]`, since the Page id is what names the clinic
whose secret checks the signature (a body naming no connected Page is rightly a 401). Acuity is connected
without a user id and Square without an access token, so no delivery reaches their APIs (no network but 127.0.0.1).

Bounded: a few examples per operation and per tool, derandomized, so `make test` stays short and a failure reruns
the same way."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import app
from chalicelib.openapi import openapi_document
from tests.e2e.conftest import (
    READY_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    LocalStack,
    StackProcess,
    address,
    free_ports,
)
from tests.messenger_support import signature as messenger_signature
from tests.webhook_support import FIXTURES, fixture, signature_headers

EXAMPLES_PER_OPERATION = 6
GENERATED_PER_TOOL = 8  # schemathesis' own bodies for the webhook operation, per tool
MUTATED_PER_TOOL = 25  # mutations of the tool's documented events, per tool
WEBHOOK = "/webhooks/{provider}/{clinic_id}"
TOOLS = ("calcom", "calendly", "square", "acuity", "typeform", "form")
MESSENGER_APP_SECRET, MESSENGER_PAGE = "fuzz-app-secret-not-a-real-one", "000000000000002"  # the fixtures' Page
SQUARE_KEY, ACUITY_KEY = "sq-fuzz-signature-key", "acuity-fuzz-api-key"
EVENTS: dict[str, list[Any]] = {
    "calcom": [fixture("calcom", f"booking_{n}.json") for n in ("created", "rescheduled", "cancelled")],
    "calendly": [fixture("calendly", n) for n in ("invitee_created.json", "invitee_canceled.json")],
    "square": [fixture("square", n) for n in ("booking_created.json", "booking_updated_moved.json")],
    "acuity": [{"action": "appointment.scheduled", "id": "400123", "calendarID": "5501"}],
    "typeform": [fixture("typeform", "form_response.json")],
    "form": [
        {"full_name": "Pat Example", "phone": "+14155550141", "visit_date": "2026-12-03", "visit_time": "10:00",
         "tz": "America/New_York", "submission_id": "fuzz-1"}
    ],
    "messenger": [
        fixture("messenger", n)
        for n in ("message_text.json", "messaging_referral.json", "message_delivery.json", "message_read.json")
    ],
}  # fmt: skip
MUTATED_UNDER: dict[str, tuple[Any, ...]] = {"messenger": ("entry", 0, "messaging")}  # where mutations may land

document = openapi_document(app.routes)
schema = schemathesis.openapi.from_dict(document)
webhooks = schemathesis.openapi.from_dict(document).include(path=WEBHOOK)
OPERATION = schema[WEBHOOK]["POST"]
MESSENGER = schema["/webhooks/messenger"]["POST"]
ANSWERS: Counter[tuple[str, str, int]] = Counter()  # (test, tool, status): printed at the end (pytest -s)
SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@dataclass(frozen=True)
class Target:
    base_url: str
    headers: dict[str, str]
    clinic_id: str
    secrets: dict[str, str]
    square_url: str


class Signed(requests.auth.AuthBase):
    """Signs a webhook delivery over the body exactly as sent, the way its tool does (tests/webhook_support)."""

    def __init__(self, tool: str, target: Target) -> None:
        self.tool, self.target = tool, target

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        secret = self.target.secrets[self.tool]
        if self.tool == "messenger":
            request.headers["X-Hub-Signature-256"] = messenger_signature(raw, secret)
        else:
            request.headers.update(signature_headers(self.tool, secret, raw, int(time.time()), self.target.square_url))
        return request


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    # A stack of its own, with the gateway's throttle opened wide: the fuzzer's burst is not what is tested here.
    api_port, aws_port = free_ports(2)
    process = StackProcess(api_port, aws_port, tmp_path_factory.mktemp("carecue-fuzz"))
    process.command += ["--throttle", "100000,100000"]
    process.start()
    try:
        process.wait_ready(READY_TIMEOUT_SECONDS)
        stack = LocalStack(address(process.output, "CareCue API:"), address(process.output, "Local AWS:"), process)
        clinic = stack.create_clinic()
        cid = clinic.clinic_id
        for tool, key in (("square", SQUARE_KEY), ("acuity", ACUITY_KEY)):
            run = stack.admin("set-webhook-secret", "--clinic", cid, "--provider", tool, "--secret", key)
            assert run.returncode == 0, run.stderr
        for tool in ("typeform", "form"):
            mapping = FIXTURES / tool / "mapping.json"
            run = stack.admin("set-form-mapping", "--clinic", cid, "--provider", tool, "--file", str(mapping))
            assert run.returncode == 0, run.stderr
        url = stack.admin("webhook-url", "--clinic", cid, "--provider", "square")
        assert url.returncode == 0, url.stderr
        secrets = {
            "CARECUE_MESSENGER_PAGE_TOKEN": "fuzz-page-token",
            "CARECUE_MESSENGER_APP_SECRET": MESSENGER_APP_SECRET,
        }
        run = stack.admin("set-messenger", "--clinic", cid, "--page-id", MESSENGER_PAGE, env=secrets)
        assert run.returncode == 0, run.stderr
        chosen = {tool: clinic.webhook_secret for tool in ("calcom", "calendly", "typeform", "form")}
        yield Target(
            stack.api_url,
            {"Authorization": f"Bearer {clinic.api_key}"},
            cid,
            {**chosen, "square": SQUARE_KEY, "acuity": ACUITY_KEY, "messenger": MESSENGER_APP_SECRET},
            json.loads(url.stdout)["url"],
        )
    finally:
        print("\nfuzz answers (test, tool, status): count", dict(sorted(ANSWERS.items())), sum(ANSWERS.values()))
        process.terminate(STOP_TIMEOUT_SECONDS)
        process.kill()


@schema.parametrize()
@settings(SETTINGS, max_examples=EXAMPLES_PER_OPERATION)
def test_every_operation_holds_to_the_document(case: Any, target: Target) -> None:
    # Every check but "schema-valid data is accepted": the document states shapes, and the API rightly refuses
    # some well-shaped requests for reasons the shape cannot say (a start in the past, no way to reach the patient).
    # Webhooks here go unsigned (a 401 in the envelope); signed ones are the two tests below.
    response = case.call_and_validate(
        base_url=target.base_url, headers=target.headers, excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )
    ANSWERS["operations", case.operation.label, response.status_code] += 1


def _refused_in_the_envelope(response: requests.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "fields"} and error["code"] != "unauthorized", error


@pytest.mark.parametrize("tool", TOOLS)
@webhooks.parametrize()
@settings(SETTINGS, max_examples=GENERATED_PER_TOOL)
def test_signed_generated_webhooks_hold_to_the_document(case: Any, tool: str, target: Target) -> None:
    case.path_parameters = {"provider": tool, "clinic_id": target.clinic_id}
    case.query = {}  # the form token would authenticate instead of the signature
    response = case.call_and_validate(
        base_url=target.base_url,
        auth=Signed(tool, target),
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
    ANSWERS["generated", tool, response.status_code] += 1
    _refused_in_the_envelope(response)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, tool: str) -> Any:
    """One of the tool's documented events with a few leaves or branches replaced or removed."""
    event = json.loads(json.dumps(draw(st.sampled_from(EVENTS[tool]))))
    under = MUTATED_UNDER.get(tool, ())
    for _ in range(draw(st.integers(1, 3))):
        paths = [path for path in _paths(event)[1:] if path[: len(under)] == under and len(path) > len(under)]
        path = draw(st.sampled_from(paths or [()]))
        if not path:
            break
        parent = event
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return event


@pytest.mark.parametrize("tool", (*TOOLS, "messenger"))
def test_signed_mutations_of_each_tools_events_are_applied_or_refused_in_the_envelope(
    tool: str, target: Target
) -> None:
    @given(event=mutated(tool))
    @settings(SETTINGS, max_examples=MUTATED_PER_TOOL)
    def deliver(event: Any) -> None:
        if tool == "acuity":  # Acuity posts a form: its fields, each a text
            body: Any = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in event.items()}
            media = "application/x-www-form-urlencoded"
        else:
            body, media = event, "application/json"
        if tool == "messenger":
            case = MESSENGER.Case(body=body, media_type=media)
        else:
            case = OPERATION.Case(
                path_parameters={"provider": tool, "clinic_id": target.clinic_id}, body=body, media_type=media
            )
        response = case.call_and_validate(
            base_url=target.base_url,
            auth=Signed(tool, target),
            excluded_checks=[schemathesis.checks.positive_data_acceptance, schemathesis.checks.negative_data_rejection],
        )
        ANSWERS["mutated", tool, response.status_code] += 1
        _refused_in_the_envelope(response)

    deliver()
    # The signature held (no 401) and some mutations still carried a booking the tool's reader took (2xx).
    assert any(200 <= status < 300 for (test, name, status) in ANSWERS if test == "mutated" and name == tool)
