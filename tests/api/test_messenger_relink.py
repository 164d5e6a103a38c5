"""A PSID a new referral links to another patient of the clinic (the same Messenger account opened the other
patient's m.me link: a parent who books for two children, a shared account) is taken off the first patient's
record: the patient view no longer shows Messenger for them, and their reminder goes by SMS to their own phone
instead of to the Messenger account that now stands for someone else."""

from __future__ import annotations

import pytest
from chalice.test import Client

from chalicelib.store.models import Patient
from tests.api.test_messenger import linked_by_referral, patient_view
from tests.conftest import ClinicKeys, World
from tests.messenger_support import PSID, connect_messenger, m_me_ref, page_event, post_event, referral
from tests.timer_support import fire_when_due

FIRST_PHONE, SECOND_PHONE = "+14155550141", "+14155550142"


@pytest.fixture
def verify_token(
    api: Client, clinic: ClinicKeys, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    return connect_messenger(api, clinic, monkeypatch, capsys)


def test_a_psid_linked_to_another_patient_leaves_the_first_patients_record(
    api: Client, aws: World, clinic: ClinicKeys, verify_token: str
) -> None:
    first = linked_by_referral(api, aws, clinic, name="Pat Example", phone=FIRST_PHONE)
    second = linked_by_referral(api, aws, clinic, name="Sam Example", phone=SECOND_PHONE)  # the same PSID

    assert patient_view(api, clinic, first["patient"]["id"])["messenger"] is None
    assert patient_view(api, clinic, second["patient"]["id"])["messenger"]["source"] == "messenger_referral"
    assert Patient.get(clinic.clinic_id, first["patient"]["id"]).messenger_psid is None
    assert Patient.get(clinic.clinic_id, second["patient"]["id"]).messenger_psid == PSID

    assert fire_when_due(aws, first["id"], "reminder-24h.sms")["result"] == "sent"
    assert fire_when_due(aws, second["id"], "reminder-24h.sms")["result"] == "sent"
    assert [(m["channel"], m["to"]) for m in aws.sent()[-2:]] == [("sms", FIRST_PHONE), ("messenger", PSID)]


def test_the_same_referral_again_keeps_the_link(api: Client, aws: World, clinic: ClinicKeys, verify_token: str) -> None:
    booked = linked_by_referral(api, aws, clinic, phone=FIRST_PHONE)
    ref = m_me_ref(aws.sent("sms")[-1]["body"])

    again = post_event(api, page_event(referral(ref, aws.services.clock.now())))

    assert (again.status_code, again.json_body["linked"]) == (200, 1)
    assert Patient.get(clinic.clinic_id, booked["patient"]["id"]).messenger_psid == PSID
