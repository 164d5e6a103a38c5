"""Signed Messenger events of odd shapes (found by the fuzz in tests/e2e/test_openapi_fuzz.py): Meta signs them, so
they pass the signature, and each must be answered 200 with nothing linked, nothing sent and nothing stored, never a
500 (Meta would retry a 500 for hours). The first one is the fuzz's own falsifying example."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from chalicelib.store.models import Patient
from tests.conftest import ClinicKeys, World
from tests.messenger_support import PAGE_ID, PSID, connect_messenger, page_event, post_event

ODD_EVENTS: list[Any] = [
    {"sender": {}, "recipient": 1339},
    {"sender": "0000000000000101", "recipient": {"id": PAGE_ID}, "message": {"mid": "m_1", "text": "C"}},
    {"sender": {"id": PSID}, "recipient": [PAGE_ID], "message": {"mid": "m_2", "text": "C"}},
    {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "postback": "GET_STARTED"},
    {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "postback": {"referral": ["ref"]}},
    {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "referral": "ref", "optin": 7},
    {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "message": ["C"]},
    "a text where an event should be",
]


@pytest.mark.parametrize("event", ODD_EVENTS, ids=range(len(ODD_EVENTS)))
def test_a_signed_event_of_an_odd_shape_is_answered_200_and_changes_nothing(
    api: Client,
    aws: World,
    clinic: ClinicKeys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    event: Any,
) -> None:
    connect_messenger(api, clinic, monkeypatch, capsys)
    patients_before = sorted(p.patient_id for p in Patient.scan())

    response = post_event(api, page_event(event))

    assert response.status_code == 200, response.json_body
    assert response.json_body["linked"] == 0 and response.json_body["messages"] == 0
    assert sorted(p.patient_id for p in Patient.scan()) == patients_before
    assert aws.sent("sms") == [] and aws.sent("messenger") == []
