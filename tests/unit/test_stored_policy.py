"""A stored clinic policy read back without pydantic (`chalicelib.clinics.policy.policy_from_json`, on the fire
path): what `PUT /v1/clinic` stored comes back as it was validated, and a hand edit out of that form is refused
(the caller then uses the defaults)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.clinics.policy import parse_policy, policy_from_json, policy_json

CLINIC = "Example Clinic"
SETTINGS: dict[str, Any] = {
    "reminders": [{"before": "P2D", "channel": "email"}, {"days_before": 1, "at": "18:00", "channel": "preferred"}],
    "quiet_hours": {"start": "22:00", "end": "07:30"},
    "frequency_caps": True,
    "sender_name": "Example Clinic",
    "reply_to": "desk@example.com",
    "contact_phone": "+14155550199",
    "booking_url": "https://book.example.com",
    "patients_may_cancel": False,
    "sms_segment_limit": 3,
    "templates": {"es": {"reminder": "{clinic}: su cita es {when}."}},
    "medication": {"when_times": {"MORN": "07:15"}, "names_in_sms": True, "refill_days": 5},
    "opening_hours": {"open": "09:00", "close": "17:30"},
    "whatsapp": {
        "templates": {
            "confirmation": {
                "es": {
                    "name": "carecue_confirmation",
                    "body": "{{1}}: su cita es el {{2}} a las {{3}}.",
                    "parameters": ["clinic", "day", "time"],
                }
            }
        }
    },
}


def test_a_stored_policy_reads_back_as_it_was_validated() -> None:
    validated = parse_policy(SETTINGS, CLINIC)

    assert policy_from_json(policy_json(validated), CLINIC) == validated
    template = policy_from_json(policy_json(validated), CLINIC).whatsapp.template("confirmation", "es-MX")
    assert template is not None and template.parameters == ("clinic", "day", "time")
    assert template.language_code == "es"
    assert policy_from_json({"quiet_hours": None}, CLINIC).quiet_hours is None


@pytest.mark.parametrize(
    "edit",
    [
        {"reminders": [{"before": "2 hours"}]},
        {"reminders": [{"before": "PT2H"}, {"before": "PT2H"}]},
        {"quiet_hours": {"start": "21:00"}},
        {"templates": {"en": {"reminder": "{clinic}: on {fecha}"}}},
        {"templates": {"en": {"postcard": "{clinic}"}}},
        {"opening_hours": {"open": "18:00", "close": "09:00"}},
        {"medication": {"caregiver_minutes": 20, "follow_up_minutes": 30}},
        {"sms_segment_limit": True},
        {"whatsapp": {"templates": {"reminder": {"es": {"name": "carecue_reminder", "body": "{{1}} {{2}}"}}}}},
        {"whatsapp": {"senders": []}},
        {"colour": "blue"},
    ],
)
def test_a_hand_edit_out_of_the_stored_form_is_refused(edit: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError, KeyError)):
        policy_from_json({**policy_json(parse_policy({}, CLINIC)), **edit}, CLINIC)
