"""Which pre-visit form an appointment gets (`chalicelib.clinics.form_settings`), and the setting kept in the
clinic's stored policy as it was saved."""

from __future__ import annotations

import json

import pytest

from chalicelib.clinics.form_settings import FormRule, form_for
from chalicelib.clinics.policy import ClinicPolicy, policy_from_json, policy_json

RULES = (
    FormRule("new-patient", event_types=("New patient",)),
    FormRule("cardio", providers=("Dr. Rivera", "Dr. Chen"), event_types=("Follow-up",)),
    FormRule("general"),
)


def test_the_first_entry_an_appointment_matches_is_its_form() -> None:
    assert form_for(RULES, "Dr. Rivera", "new patient ") == "new-patient"  # case and spaces do not matter
    assert form_for(RULES, "dr. chen", "Follow-up") == "cardio"
    assert form_for(RULES, "Dr. Rivera", None) == "general"  # a filter needs a value to match
    assert form_for(RULES, None, "Follow-up") == "general"


def test_an_appointment_no_entry_matches_has_no_form() -> None:
    assert form_for(RULES[:2], "Dr. Patel", "Follow-up") is None
    assert form_for((), "Dr. Rivera", "New patient") is None


def test_the_setting_is_stored_and_read_back_as_saved_and_a_bad_hand_edit_falls_back() -> None:
    stored = json.loads(json.dumps(policy_json(ClinicPolicy(forms=RULES))))

    assert stored["forms"][0] == {"questionnaire": "new-patient", "event_types": ["New patient"]}
    assert stored["forms"][2] == {"questionnaire": "general"}
    assert policy_from_json(stored, "Example Clinic").forms == RULES
    for bad in ({"questionnaire": ""}, {"questionnaire": "x", "providers": "Dr. Rivera"}, "general"):
        with pytest.raises((ValueError, TypeError)):
            policy_from_json({**stored, "forms": [bad]}, "Example Clinic")
