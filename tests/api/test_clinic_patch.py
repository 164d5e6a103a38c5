"""`PATCH /v1/clinic`: a JSON merge patch (RFC 7396) of the clinic's settings as GET shows them, saved the way
`PUT /v1/clinic` saves a body. What a clinic admin sees: only the settings named change (the WhatsApp templates
stay when only the channel order is sent), `null` puts a setting back to its default, a wrong value is a 400
naming it with nothing stored, a change of reminder timing re-plans as a PUT does, and `{}` changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalice.test import Client

from chalicelib.clinics.settings_service import ClinicSettingsService
from chalicelib.core.clock import Clock
from chalicelib.store.clinics import set_whatsapp_phone_number_id
from tests.conftest import ClinicKeys, World
from tests.replan_support import run_replan_jobs, take_replan_jobs
from tests.unit.test_questionnaire import FORM
from tests.whatsapp_support import ENGLISH_CONFIRMATION_TEMPLATES, SENDER

PHONE = "+14155550141"
EMAIL = "pat141@example.com"
MERGE_PATCH = "application/merge-patch+json"
# As GET shows it: with Meta's language code, which the clinic left to its default.
CONFIRMATION = {**ENGLISH_CONFIRMATION_TEMPLATES["confirmation"]["en"], "language_code": "en"}
REMINDER = {
    "name": "carecue_reminder",
    "body": "{{1}}: see you on {{2}} at {{3}}.",
    "parameters": ["clinic", "day", "time"],
    "language_code": "en",
}
# A clinic that set every kind of setting: what a PATCH of one of them must leave as it is.
SETTINGS: dict[str, Any] = {
    "reminders": [{"before": "P1D", "channel": "order"}, {"days_before": 0, "at": "07:30", "channel": "sms"}],
    "quiet_hours": {"start": "22:00", "end": "07:00"},
    "frequency_caps": True,
    "patients_may_cancel": False,
    "sms_segment_limit": 3,
    "sender_name": "Riverside Desk",
    "reply_to": "desk@example.com",
    "contact_phone": "(415) 555-0199",
    "booking_url": "https://book.example.com/riverside",
    "templates": {"es": {"reminder": "{clinic}: su cita es {when}."}},
    "medication": {"when_times": {"MORN": "07:15"}, "snooze_minutes": 20, "refill_days": 5},
    "opening_hours": {"open": "09:00", "close": "17:30"},
    "board_labels": "tickets",
    "check_in_window_minutes": 45,
    "whatsapp": {"templates": {**ENGLISH_CONFIRMATION_TEMPLATES, "reminder": {"en": REMINDER}}},
    "forms": [{"questionnaire": "intake", "providers": ["Dr. Rivera"]}],
    "messenger": {"templates": {"reminder": {"en": REMINDER}}},
    "inbox": {"hours": "Mon-Fri 9 AM to 5 PM", "urgent_phone": "911", "notice_email": "inbox@example.com"},
    "channel_order": ["sms", "whatsapp", "email"],
    "notice_channel": "order",
    "delivery_window_minutes": 30,
}


def request(api: Client, clinic: ClinicKeys, method: str, body: Any, content_type: str = MERGE_PATCH) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.http.request(method, "/v1/clinic", headers={**clinic.headers, "Content-Type": content_type}, body=raw)


def patch(api: Client, clinic: ClinicKeys, body: Any, content_type: str = MERGE_PATCH) -> Any:
    return request(api, clinic, "PATCH", body, content_type)


def shown(api: Client, clinic: ClinicKeys) -> dict[str, Any]:
    response = api.http.get("/v1/clinic", headers=clinic.headers)
    assert response.status_code == 200
    return dict(response.json_body)


def set_up(api: Client, aws: World, clinic: ClinicKeys, **changes: Any) -> dict[str, Any]:
    """The clinic connected to WhatsApp, with its questionnaire and every setting of SETTINGS (PUT), the re-plan
    the PUT queued done; GET's view."""
    set_whatsapp_phone_number_id(clinic.clinic_id, SENDER)
    created = api.http.post("/v1/questionnaires", headers=clinic.headers, body=json.dumps(FORM))
    assert created.status_code == 201, created.json_body
    saved = request(api, clinic, "PUT", {**SETTINGS, **changes}, "application/json")
    assert saved.status_code == 200, saved.json_body
    run_replan_jobs(aws)
    assert shown(api, clinic)["replan"]["status"] == "done"
    return shown(api, clinic)


def book(api: Client, clinic: ClinicKeys, start: str = "2026-12-02T10:00:00-05:00", **patient: Any) -> dict[str, Any]:
    who = {"name": "Pat Example", "phone": PHONE, "email": EMAIL, **patient}
    response = api.http.post(
        "/v1/appointments", headers=clinic.headers, body=json.dumps({"patient": who, "start": start})
    )
    assert response.status_code == 201, response.json_body
    return dict(response.json_body)


def scheduled(api: Client, clinic: ClinicKeys, appointment_id: str) -> dict[str, str]:
    body = api.http.get(f"/v1/appointments/{appointment_id}", headers=clinic.headers).json_body
    return {r["id"]: r["send_at"] for r in body["reminders"] if r["status"] == "scheduled"}


def test_a_patch_of_the_channel_order_keeps_the_whatsapp_templates_and_every_other_setting(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    # GIVEN a clinic with WhatsApp templates and every other setting, SMS first: an opted-in patient gets an SMS
    before = set_up(api, aws, clinic)
    book(api, clinic, whatsapp_opt_in=True)
    assert [m["channel"] for m in aws.sent()] == ["sms"]

    # WHEN the admin saves only a new channel order, WhatsApp first
    response = patch(api, clinic, {"channel_order": ["whatsapp", "sms", "email"]})

    # THEN only the order changed: the templates and every other setting are as they were
    assert response.status_code == 200, response.json_body
    assert response.json_body == {**before, "channel_order": ["whatsapp", "sms", "email"], "replanned_appointments": 0}
    assert shown(api, clinic) == {**before, "channel_order": ["whatsapp", "sms", "email"]}
    assert shown(api, clinic)["whatsapp"]["templates"]["confirmation"]["en"] == CONFIRMATION

    # AND the new order is used, with the template kept: the next opted-in patient's confirmation is on WhatsApp
    book(api, clinic, "2026-12-03T10:00:00-05:00", phone="+14155550142", whatsapp_opt_in=True)
    latest = aws.sent()[-1]
    assert (latest["channel"], latest["to"]) == ("whatsapp", "+14155550142")
    assert latest["body"] == "Riverside Family Clinic: your appointment is on Thu 3 Dec at 10:00 AM."


def test_a_put_of_the_same_body_drops_what_it_leaves_out_which_is_why_patch_exists(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    set_up(api, aws, clinic)

    response = request(api, clinic, "PUT", {"channel_order": ["whatsapp", "sms", "email"]}, "application/json")

    assert response.status_code == 200
    assert (response.json_body["whatsapp"], response.json_body["sender_name"]) == ({"templates": {}}, None)


def test_null_puts_a_setting_back_to_its_default_at_any_depth(api: Client, aws: World, clinic: ClinicKeys) -> None:
    before = set_up(api, aws, clinic)

    response = patch(
        api,
        clinic,
        {
            "sender_name": None,
            "sms_segment_limit": None,
            "opening_hours": None,
            "medication": {"snooze_minutes": None, "when_times": {"MORN": None}},
            "whatsapp": {"templates": {"confirmation": None}},
            "timezone": None,  # no default: an absent time zone stays as it is, as in a PUT
        },
    )

    assert response.status_code == 200, response.json_body
    after = shown(api, clinic)
    assert after["sender_name"] is None
    assert after["sms_segment_limit"] == 2
    assert after["opening_hours"] == {"open": "08:00", "close": "18:00"}
    assert after["medication"]["snooze_minutes"] == 15
    assert after["medication"]["when_times"]["MORN"] == "08:00"
    assert after["medication"]["refill_days"] == 5  # the medication settings not named stay
    assert after["whatsapp"] == {"templates": {"reminder": {"en": REMINDER}}}
    assert after["timezone"] == "America/New_York"
    untouched = {"sender_name", "sms_segment_limit", "opening_hours", "medication", "whatsapp"}
    assert {k: v for k, v in after.items() if k not in untouched} == {
        k: v for k, v in before.items() if k not in untouched
    }


def test_wrong_values_are_a_400_naming_each_field_as_put_names_it_and_nothing_is_stored(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    before = set_up(api, aws, clinic)

    response = patch(
        api,
        clinic,
        {
            "channel_order": ["sms", "whatsapp"],
            "medication": {"refill_days": 0},
            "reminders": [{"before": "soon"}],
            "colour": "blue",
        },
    )

    assert response.status_code == 400
    error = response.json_body["error"]
    assert error["code"] == "invalid_request"
    assert [f["field"] for f in error["fields"]] == [
        "colour",
        "reminders[0].before",
        "medication.refill_days",
        "channel_order",
    ]
    assert "must include sms and email" in error["fields"][-1]["problem"]
    assert shown(api, clinic) == before


def test_the_merged_whole_is_checked_so_a_setting_can_refuse_what_another_already_holds(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    # GIVEN a Spanish reminder SMS that fits in 3 segments, with its limit at 3, not at 1
    before = set_up(api, aws, clinic, templates={"es": {"reminder": "{clinic}: su cita es {when}. " + "x" * 150}})

    # WHEN only the limit is lowered to one segment, the stored template is named, not stored, as a PUT would
    response = patch(api, clinic, {"sms_segment_limit": 1})

    assert response.status_code == 400
    assert [f["field"] for f in response.json_body["error"]["fields"]] == ["templates.es.reminder"]
    assert shown(api, clinic) == before


def test_a_patch_that_is_not_a_json_object_is_a_400_in_the_envelope(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    before = set_up(api, aws, clinic)
    json_patch = [{"op": "replace", "path": "/channel_order", "value": ["email", "sms"]}]  # RFC 6902, not taken

    for body, problem in ((json_patch, "must be a JSON object"), (b"{not json", None), (b"", "is empty")):
        response = patch(api, clinic, body)

        assert response.status_code == 400, body
        (field,) = response.json_body["error"]["fields"]
        assert field["field"] == "body"
        assert problem is None or problem in field["problem"]
    assert shown(api, clinic) == before


def test_application_json_is_taken_too_and_another_content_type_is_a_415_in_the_envelope(
    api: Client, clinic: ClinicKeys
) -> None:
    assert patch(api, clinic, {"board_labels": "tickets"}, "application/json").status_code == 200
    assert patch(api, clinic, {"check_in_window_minutes": 30}, f"{MERGE_PATCH}; charset=utf-8").status_code == 200

    refused = patch(api, clinic, {"frequency_caps": True}, "text/plain")

    assert refused.status_code == 415
    assert set(refused.json_body["error"]) == {"code", "message", "fields"}
    after = shown(api, clinic)
    assert (after["board_labels"], after["check_in_window_minutes"], after["frequency_caps"]) == ("tickets", 30, False)


def test_a_patch_of_reminder_timing_queues_the_replan_as_a_put_does(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    # GIVEN an appointment on Wed 2 Dec at 10:00 New York with the default 24 h and 2 h reminders
    appointment_id = book(api, clinic)["id"]
    assert set(scheduled(api, clinic, appointment_id)) == {"reminder-24h.sms", "reminder-2h.sms"}

    # WHEN the clinic patches its reminders to one SMS the day before at 18:00
    response = patch(api, clinic, {"reminders": [{"days_before": 1, "at": "18:00", "channel": "sms"}]})

    # THEN the answer counts the appointment to re-plan and shows the re-plan pending; the job moves the reminder
    assert response.status_code == 200, response.json_body
    assert response.json_body["replanned_appointments"] == 1
    assert response.json_body["replan"]["status"] == "pending"
    assert run_replan_jobs(aws) == 1
    assert scheduled(api, clinic, appointment_id) == {"reminder-d1-1800.sms": "2026-12-01T23:00:00Z"}
    assert shown(api, clinic)["replan"]["status"] == "done"


def test_a_patch_merged_into_quiet_hours_is_a_timing_change_and_one_elsewhere_is_not(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    book(api, clinic)

    later_morning = patch(api, clinic, {"quiet_hours": {"end": "09:00"}})  # the start is kept: 21:00

    assert later_morning.status_code == 200, later_morning.json_body
    assert later_morning.json_body["quiet_hours"] == {"start": "21:00", "end": "09:00"}
    assert later_morning.json_body["replanned_appointments"] == 1
    assert run_replan_jobs(aws) == 1
    assert shown(api, clinic)["replan"]["status"] == "done"

    not_timing = patch(api, clinic, {"sender_name": "Riverside Desk"})

    assert (not_timing.status_code, not_timing.json_body["replanned_appointments"]) == (200, 0)
    assert take_replan_jobs(aws) == []


def test_an_empty_patch_changes_nothing_for_a_new_clinic_or_one_with_every_setting(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    book(api, clinic)
    fresh = shown(api, clinic)

    first = patch(api, clinic, {})

    assert (first.status_code, first.json_body) == (200, {**fresh, "replanned_appointments": 0})
    assert shown(api, clinic) == fresh

    # A clinic with quiet hours off (null in GET, which a merge patch keeps) and every other setting of its own
    before = set_up(api, aws, clinic, quiet_hours=None)
    assert before["quiet_hours"] is None

    second = patch(api, clinic, {})

    assert (second.status_code, second.json_body) == (200, {**before, "replanned_appointments": 0})
    assert shown(api, clinic) == before
    assert take_replan_jobs(aws) == []


class AnotherSaveMeanwhile:
    """The clock of a settings service that, at its first reading, lets another request save the clinic's
    settings first. The service reads the clock once, after it read the clinic and before it writes: this is
    two admins saving at the same moment, the other one's write landing between this one's read and write."""

    def __init__(self, clock: Clock, meanwhile: Callable[[], object]) -> None:
        self._clock, self._meanwhile = clock, meanwhile
        self.ran = False

    def now(self) -> datetime:
        if not self.ran:
            self.ran = True
            self._meanwhile()
        return self._clock.now()


def another_save_meanwhile(aws: World, clinic: ClinicKeys, changes: dict[str, Any]) -> AnotherSaveMeanwhile:
    """The settings service the API uses from now on lets another admin PUT GET's body with `changes` between this
    request's read and its write; returns its clock, whose `ran` says the other save happened."""
    other_admin = aws.services.clinic_settings
    settable = {k: v for k, v in other_admin.view(clinic.clinic_id).items() if k not in {"id", "name", "replan"}}
    body = json.dumps({**settable, **changes}).encode()
    clock = AnotherSaveMeanwhile(aws.services.clock, lambda: other_admin.replace(clinic.clinic_id, body))
    services = aws.services
    services.__dict__["clinic_settings"] = ClinicSettingsService(clock, services.appointments, services.clinic_replans)
    return clock


def test_a_patch_merged_onto_settings_another_request_changed_meanwhile_is_a_409_and_overwrites_nothing(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    before = set_up(api, aws, clinic)
    clock = another_save_meanwhile(aws, clinic, {"sender_name": "Front Desk"})

    refused = patch(api, clinic, {"channel_order": ["whatsapp", "sms", "email"]})

    # The other admin's change stands, and this patch (merged onto what it read before it) is not stored over it
    assert clock.ran
    assert refused.status_code == 409
    assert refused.json_body["error"]["code"] == "conflict"
    after = shown(api, clinic)
    assert (after["sender_name"], after["channel_order"]) == ("Front Desk", ["sms", "whatsapp", "email"])

    # Sent again, the patch merges onto the settings as they are now: both changes are kept
    again = patch(api, clinic, {"channel_order": ["whatsapp", "sms", "email"]})

    assert again.status_code == 200, again.json_body
    assert shown(api, clinic) == {**before, "sender_name": "Front Desk", "channel_order": ["whatsapp", "sms", "email"]}


def test_a_save_that_changes_nothing_writes_nothing_so_another_admins_patch_meanwhile_still_lands(
    api: Client, aws: World, clinic: ClinicKeys
) -> None:
    before = set_up(api, aws, clinic)
    clock = another_save_meanwhile(aws, clinic, {})  # the other admin saves GET's own body: a change of nothing

    patched = patch(api, clinic, {"channel_order": ["whatsapp", "sms", "email"]})

    assert clock.ran
    assert patched.status_code == 200, patched.json_body
    assert shown(api, clinic) == {**before, "channel_order": ["whatsapp", "sms", "email"]}
