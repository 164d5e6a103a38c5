"""A clinic's policy from its JSON form (every wrong field named), and what a patient's SMS reply asks for."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest

from chalicelib.clinics.policy import DEFAULT_POLICY, parse_policy, policy_json
from chalicelib.core.errors import InvalidRequest
from chalicelib.plan.appointment_reminders import ChannelChoice, LocalClockRule, OffsetRule
from chalicelib.plan.quiet_hours import QuietHours
from chalicelib.replies.keywords import Intent, intent_of

CLINIC = "Riverside Family Clinic"


def problems(body: Any) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as raised:
        parse_policy(body, CLINIC)
    return {p.field: p.problem for p in raised.value.problems}


def test_an_empty_policy_is_the_default_confirm_24h_2h_quiet_21_to_8_no_caps() -> None:
    policy = parse_policy({}, CLINIC)

    assert policy == DEFAULT_POLICY
    assert policy.reminder_rules == (OffsetRule(timedelta(hours=24)), OffsetRule(timedelta(hours=2)))
    assert policy.quiet_hours == QuietHours(time(21, 0), time(8, 0))
    assert policy.frequency_caps is False


def test_offset_and_local_clock_rules_with_a_channel_each_round_trip() -> None:
    body = {
        "reminders": [
            {"before": "P2D", "channel": "email"},
            {"days_before": 1, "at": "18:00", "channel": "preferred"},
            {"before": "PT90M", "channel": "sms"},
        ],
        "quiet_hours": {"start": "22:00", "end": "07:30"},
        "frequency_caps": True,
    }

    policy = parse_policy(body, CLINIC)

    assert policy.reminder_rules == (
        OffsetRule(timedelta(days=2), ChannelChoice.EMAIL),
        LocalClockRule(1, time(18, 0), ChannelChoice.PREFERRED),
        OffsetRule(timedelta(minutes=90), ChannelChoice.SMS),
    )
    assert parse_policy(policy_json(policy), CLINIC) == policy


def test_every_wrong_field_is_named() -> None:
    found = problems(
        {
            "reminders": [
                {"before": "2 hours"},
                {"days_before": 1, "at": "25:00"},
                {"before": "PT2H", "channel": "fax"},
            ],
            "quiet_hours": {"start": "21:00"},
            "frequency_caps": "yes",
            "sms_segment_limit": 0,
            "booking_url": "http://insecure.example",
            "colour": "blue",
        }
    )

    assert set(found) == {
        "reminders[0].before",
        "reminders[1].at",
        "reminders[2].channel",
        "quiet_hours",
        "frequency_caps",
        "sms_segment_limit",
        "booking_url",
        "colour",
    }


def test_a_template_over_the_clinics_segment_limit_is_rejected_when_saved() -> None:
    long_text = "{clinic}: " + "please remember your appointment " * 9 + "on {when}."  # 349 characters: 3 segments
    found = problems({"templates": {"en": {"reminder": long_text}}})

    assert "templates.en.reminder" in found
    assert "3 SMS segments" in found["templates.en.reminder"]
    assert "limit is 2" in found["templates.en.reminder"]
    # The same text is fine for a clinic that allows three segments.
    assert parse_policy({"templates": {"en": {"reminder": long_text}}, "sms_segment_limit": 3}, CLINIC).templates


def test_a_template_with_an_unknown_placeholder_is_rejected() -> None:
    found = problems({"templates": {"es": {"reminder": "{clinic}: cita el {fecha}"}}})
    assert "fecha" in found["templates.es.reminder"]


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("STOP", Intent.STOP),
        (" stop. ", Intent.STOP),
        ("Unsubscribe", Intent.STOP),
        ("stopall", Intent.STOP),
        ("Cancel", Intent.STOP),
        ("end", Intent.STOP),
        ("QUIT!", Intent.STOP),
        ("start", Intent.START),
        ("Unstop", Intent.START),
        ("help?", Intent.HELP),
        ("c", Intent.CONFIRM),
        ("Yes!", Intent.CONFIRM),
        ("confirm", Intent.CONFIRM),
        ("C O N F I R M", Intent.CONFIRM),
        ("Can I come at 3?", Intent.OTHER),
        ("", Intent.OTHER),
    ],
)
def test_replies_are_understood_regardless_of_case_spacing_and_punctuation(body: str, intent: Intent) -> None:
    assert intent_of(body) is intent
