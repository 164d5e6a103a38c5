"""The examples of the OpenAPI document: one request body per route that reads one, and one answer per route and
2xx status, written once here and typed by the very TypedDicts the views return, so mypy --strict refuses an
example that no longer has a view's shape; tests/api/test_openapi.py validates each against its generated schema,
and a real answer of each route against the same schema. Values are obviously fake (555-01xx, example.org)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.appointments.views import AppointmentPage, AppointmentSummary, AppointmentView
    from chalicelib.board.views import BoardLinkView
    from chalicelib.clinics.views import ClinicSettingsView
    from chalicelib.forms.views import QuestionnaireList
    from chalicelib.inbox.views import AnswerView, ConversationList, MessageView, ThreadView
    from chalicelib.intake.views import WebhookIgnoredView, WebhookResultView
    from chalicelib.meter.views import UsageView
    from chalicelib.patients.views import PatientChangePage, PatientView
    from chalicelib.regimens.views import AdherenceView, RegimenView
    from chalicelib.visits.views import QueueView, VisitView

SUMMARY: AppointmentSummary = {
    "id": "apt_3f2a9c1e5b7d4a60",
    "status": "booked",
    "start": "2026-12-02T15:00:00Z",
    "start_local": "2026-12-02T10:00:00-05:00",
    "timezone": "America/New_York",
    "duration_minutes": 30,
    "provider": "Dr. Rivera",
    "location": "Room 2",
    "source": "api",
    "external_id": "ehr-1001",
    "event_type": None,
    "version": 1,
    "confirmed_at": None,
    "confirmed_via": None,
    "cancelled_via": None,
    "patient": {
        "id": "pat_8e1d2c3b4a596877",
        "name": "Pat Example",
        "phone": "+14155550101",
        "email": "pat@example.org",
        "timezone": None,
        "language": "en",
        "matched": None,
    },
}

APPOINTMENT: AppointmentView = {
    **SUMMARY,
    "reminders": [
        {"id": "confirmation.sms", "kind": "confirmation", "channel": "sms", "send_at": "2026-11-30T14:00:00Z",
         "status": "sent", "sent_at": "2026-11-30T14:00:01Z"},
        {"id": "reminder-24h.sms", "kind": "reminder", "channel": "sms", "send_at": "2026-12-01T15:00:00Z",
         "status": "scheduled"},
        {"id": "reminder-2h.email", "kind": "reminder", "channel": "email", "send_at": "2026-12-02T13:00:00Z",
         "status": "skipped", "reason": "send_time_passed"},
    ],
    # Running late, told by WhatsApp, which reported it failed: it went again by SMS.
    "waiting_texts": [
        {"id": "late.1", "kind": "running_late", "number": 1, "status": "sent", "channel": "whatsapp",
         "receipt": "failed", "sent_at": "2026-12-02T14:20:00Z", "failure": "whatsapp_131026",
         "fallback": {"channel": "sms", "status": "sent", "reason": "whatsapp_131026",
                      "sent_at": "2026-12-02T14:20:04Z"}},
    ],
}  # fmt: skip

PAGE: AppointmentPage = {
    "appointments": [SUMMARY],
    "next": "eyJzdGFydCI6IjIwMjYtMTItMDJUMTU6MDA6MDBaIn0",
}

VISIT: VisitView = {
    "id": "apt_3f2a9c1e5b7d4a60",
    "status": "arrived",
    "start": "2026-12-02T15:00:00Z",
    "start_local": "2026-12-02T10:00:00-05:00",
    "duration_minutes": 30,
    "provider": "Dr. Rivera",
    "version": 2,
    "arrived_at": "2026-12-02T14:52:00Z",
    "checked_in_by": "front_desk",
    "started_at": None,
    "finished_at": None,
    "noshow_at": None,
    "closed_by": None,
}

QUEUE: QueueView = {
    "clinic_id": "cln_5a4b3c2d1e",
    "date": "2026-12-02",
    "timezone": "America/New_York",
    "providers": [
        {
            "provider": "Dr. Rivera",
            "now_seeing": None,
            "lag_minutes": 5,
            "visit_length_ratio": 1.1,
            "appointments": [
                {
                    **VISIT,
                    "patient": {"id": "pat_8e1d2c3b4a596877", "name": "Pat Example"},
                    "ticket": 1,
                    "form": {"questionnaire": "intake-v1", "done": False},
                    "estimated_call_at": "2026-12-02T15:05:00Z",
                    "estimated_wait_minutes": 13,
                    "ahead": 0,
                }
            ],
        }
    ],
}

BOARD_LINK: BoardLinkView = {"token": "brd_Zm9yLWV4YW1wbGUtb25seQ", "path": "/board/brd_Zm9yLWV4YW1wbGUtb25seQ"}

USAGE: UsageView = {
    "clinic_id": "cln_5a4b3c2d1e",
    "month": "2026-12",
    "messages": {"sms": 120, "email": 40, "whatsapp": 0, "messenger": 0},
    "sms_segments": 131,
    "emails": 40,
    "estimated_cost_usd": 1.03,
    "spend_cap": {"usd": 50.0, "reached": False, "reminders_skipped": 0},
}

CLINIC: ClinicSettingsView = {
    "id": "cln_5a4b3c2d1e",
    "name": "Riverside Family Clinic",
    "timezone": "America/New_York",
    "reminders": [{"before": "P1D", "channel": "sms"}, {"before": "PT2H", "channel": "sms"}],
    "quiet_hours": {"start": "21:00", "end": "08:00"},
    "frequency_caps": False,
    "sender_name": None,
    "reply_to": None,
    "contact_phone": "+14155550100",
    "booking_url": None,
    "patients_may_cancel": True,
    "sms_segment_limit": 2,
    "templates": {},
    "medication": {},
    "opening_hours": {"open": "08:00", "close": "18:00"},
    "board_labels": "initials",
    "check_in_window_minutes": 60,
    "whatsapp": {},
    "forms": [{"questionnaire": "intake-v1"}],
    "messenger": {},
    "inbox": {"hours": "Mon-Fri 8 AM to 6 PM", "urgent_phone": "911", "notice_email": "desk@example.com"},
    "channel_order": ["whatsapp", "sms", "messenger", "email"],
    "notice_channel": "both",
    "delivery_window_minutes": 15,
    "replan": {"status": "done", "settings_version": 2, "requested_at": "2026-11-30T14:00:00Z",
               "finished_at": "2026-11-30T14:00:03Z", "appointments": 12},
    "replanned_appointments": 12,
}  # fmt: skip

_PATIENT_MESSAGE: MessageView = {
    "id": "2026-12-01T14:02:00+00:00#in-example-1",
    "direction": "in",
    "sender": "patient",
    "channel": "sms",
    "text": "Can I come at 3 instead?",
    "at": "2026-12-01T14:02:00Z",
    "sms_segments": None,
}
_STAFF_MESSAGE: MessageView = {
    "id": "2026-12-01T14:10:00+00:00#sns-example-1",
    "direction": "out",
    "sender": "staff",
    "channel": "sms",
    "text": "Yes, 3 PM works. See you then.",
    "at": "2026-12-01T14:10:00Z",
    "sms_segments": 1,
}
CONVERSATIONS: ConversationList = {
    "conversations": [
        {
            "patient_id": "pat_8e1d2c3b4a596877",
            "unread": 1,
            "last_message_at": "2026-12-01T14:02:00Z",
            "last_direction": "in",
            "channel": "sms",
        }
    ],
    "next": None,
}
THREAD: ThreadView = {
    "patient_id": "pat_8e1d2c3b4a596877",
    "unread": 0,
    "channel": "sms",
    "messages": [_STAFF_MESSAGE, _PATIENT_MESSAGE],
    "next": None,
}
ANSWER: AnswerView = {"patient_id": "pat_8e1d2c3b4a596877", "message": _STAFF_MESSAGE}

PATIENT: PatientView = {
    "id": "pat_8e1d2c3b4a596877",
    "name": "Pat Example",
    "phone": "+14155550101",
    "email": "pat@example.org",
    "preferred_channel": "sms",
    "language": "en",
    "timezone": None,
    "opt_out": {
        "sms": None,
        "email": {"at": "2026-11-30T14:00:00Z", "source": "link"},
        "whatsapp": None,
        "messenger": None,
    },
    "shares_contact_with": [],
    "merged_into": None,
    "whatsapp_opt_in": None,
    "messenger": None,
}

REGIMEN: RegimenView = {
    "id": "rgm_0a1b2c3d4e5f6a7b8c9d",
    "patient_id": "pat_8e1d2c3b4a596877",
    "medication": "Example medicine 10 mg",
    "dose": "1 tablet",
    "status": "active",
    "version": 1,
    "timezone": "America/New_York",
    "instructions": [{"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00"]},
                      "schedule": {"cron": ["cron(0 8 * * ? *)"], "timezone": "America/New_York"}}],
    "timers": [{"name": "dose.rgm_0a1b2c3d4e5f6a7b8c9d.0", "expression": "cron(0 8 * * ? *)",
                "timezone": "America/New_York"}],
    "next_doses": ["2026-12-01T08:00:00-05:00", "2026-12-02T08:00:00-05:00"],
    "caregiver": None,
    "supply": None,
    "notes": [],
}  # fmt: skip

ADHERENCE: AdherenceView = {
    "regimen_id": "rgm_0a1b2c3d4e5f6a7b8c9d",
    "doses": [
        {"due": "2026-12-01T08:00:00-05:00", "status": "taken", "taken_at": "2026-12-01T08:05:00-05:00",
         "taken_via": "link"},
        {"due": "2026-12-02T08:00:00-05:00", "status": "missed", "taken_at": None, "taken_via": None},
    ],
    "taken_percent": 50.0,
}  # fmt: skip

QUESTIONNAIRES: QuestionnaireList = {
    "questionnaires": [{"id": "intake-v1", "title": "Before your visit", "version": 1}]
}

QUESTIONNAIRE: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "id": "intake-v1",
    "status": "active",
    "title": "Before your visit",
    "item": [{"linkId": "1", "text": "Anything we should know before your visit?", "type": "text"}],
}

STORED_QUESTIONNAIRE = {**QUESTIONNAIRE, "meta": {"versionId": "1", "lastUpdated": "2026-11-30T14:00:00Z"}}

REPLACED_QUESTIONNAIRE = {**QUESTIONNAIRE, "meta": {"versionId": "2", "lastUpdated": "2026-11-30T15:00:00Z"}}

QUESTIONNAIRE_RESPONSE: dict[str, Any] = {
    "resourceType": "QuestionnaireResponse",
    "questionnaire": "Questionnaire/intake-v1",
    "status": "completed",
    "item": [{"linkId": "1", "answer": [{"valueString": "example answer"}]}],
}

WEBHOOK_APPLIED: WebhookResultView = {
    "appointment_id": "apt_calcom_0f1e2d3c4b5a6978",
    "outcome": "created",
    "status": "booked",
    "start": "2026-12-03T20:30:00Z",
    "timezone": "America/New_York",
    "version": 1,
}

WEBHOOK_IGNORED: WebhookIgnoredView = {"ignored": "event_type"}

CALCOM_EVENT: dict[str, Any] = {
    "triggerEvent": "BOOKING_CREATED",
    "createdAt": "2026-11-30T14:10:00.000Z",
    "payload": {
        "uid": "example-booking-uid",
        "startTime": "2026-12-03T20:30:00Z",
        "endTime": "2026-12-03T21:00:00Z",
        "organizer": {"name": "Riverside Family Clinic", "timeZone": "America/New_York"},
        "attendees": [{"name": "Pat Example", "email": "pat@example.org", "timeZone": "America/New_York"}],
        "responses": {"attendeePhoneNumber": {"label": "phone_number", "value": "+14155550101"}},
    },
}

PATIENT_CHANGES: PatientChangePage = {
    "changes": [
        {"at": "2026-12-01T15:04:10Z", "field": "phone", "old": "+14155550101", "new": "+14155550102",
         "by": "patient", "actor": "patient_link", "proof": "sms_code"},
        {"at": "2026-11-30T14:00:00Z", "field": "preferred_channel", "old": None, "new": "email",
         "by": "clinic", "actor": "api_key:3f2a9c1e5b7d", "proof": None},
    ],
    "next": None,
}  # fmt: skip

# Route → the example request body.
REQUESTS: dict[str, Any] = {
    "POST /v1/appointments": {
        "patient": {"name": "Pat Example", "phone": "+1 415 555 0101", "email": "pat@example.org"},
        "start": "2026-12-02T10:00:00-05:00",
        "duration_minutes": 30,
        "provider": "Dr. Rivera",
        "external_id": "ehr-1001",
    },
    "PATCH /v1/appointments/{appointment_id}": {"start": "2026-12-02T11:00:00-05:00"},
    "PUT /v1/clinic": {
        "reminders": [{"before": "P1D", "channel": "sms"}, {"before": "PT2H", "channel": "sms"}],
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "board_labels": "tickets",
        "inbox": {"hours": "Mon-Fri 8 AM to 6 PM", "urgent_phone": "911", "notice_email": "desk@example.com"},
    },
    "POST /v1/conversations/{patient_id}/messages": {
        "text": "Yes, 3 PM works. See you then.",
        "external_id": "ehr-msg-1",
    },
    "PATCH /v1/clinic": {"channel_order": ["whatsapp", "sms", "messenger", "email"], "sender_name": None},
    "PUT /v1/patients/{patient_id}": {"preferred_channel": "email", "opt_out": {"sms": True}},
    "POST /v1/regimens": {
        "patient": {"name": "Pat Example", "phone": "+14155550101"},
        "medication": "Example medicine 10 mg",
        "dose": "1 tablet",
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00"]}},
    },
    "PATCH /v1/regimens/{regimen_id}": {"status": "paused"},
    "POST /v1/questionnaires": QUESTIONNAIRE,
    "PUT /v1/questionnaires/{questionnaire_id}": QUESTIONNAIRE,
    "POST /webhooks/{provider}/{clinic_id}": CALCOM_EVENT,
}

# Route → status → the example answer.
RESPONSES: dict[str, dict[str, Any]] = {
    "POST /v1/appointments": {"201": APPOINTMENT, "200": APPOINTMENT},
    "GET /v1/appointments": {"200": PAGE},
    "GET /v1/appointments/{appointment_id}": {"200": APPOINTMENT},
    "PATCH /v1/appointments/{appointment_id}": {"200": APPOINTMENT},
    "DELETE /v1/appointments/{appointment_id}": {"200": {**APPOINTMENT, "status": "cancelled"}},
    "POST /v1/appointments/{appointment_id}/check-in": {"200": VISIT},
    "POST /v1/appointments/{appointment_id}/start": {"200": VISIT},
    "POST /v1/appointments/{appointment_id}/finish": {"200": VISIT},
    "POST /v1/appointments/{appointment_id}/no-show": {"200": VISIT},
    "GET /v1/queue": {"200": QUEUE},
    "POST /v1/board-link": {"201": BOARD_LINK},
    "GET /v1/usage": {"200": USAGE},
    "GET /v1/clinic": {"200": {k: v for k, v in CLINIC.items() if k != "replanned_appointments"}},
    "PUT /v1/clinic": {"200": CLINIC},
    "PATCH /v1/clinic": {"200": {**CLINIC, "replanned_appointments": 0}},
    "GET /v1/patients/{patient_id}": {"200": PATIENT},
    "PUT /v1/patients/{patient_id}": {"200": PATIENT},
    "GET /v1/patients/{patient_id}/changes": {"200": PATIENT_CHANGES},
    "POST /v1/regimens": {"201": REGIMEN, "200": REGIMEN},
    "GET /v1/regimens/{regimen_id}": {"200": REGIMEN},
    "PATCH /v1/regimens/{regimen_id}": {"200": {**REGIMEN, "status": "paused"}},
    "GET /v1/regimens/{regimen_id}/adherence": {"200": ADHERENCE},
    "GET /v1/questionnaires": {"200": QUESTIONNAIRES},
    "GET /v1/conversations": {"200": CONVERSATIONS},
    "GET /v1/conversations/{patient_id}": {"200": THREAD},
    "POST /v1/conversations/{patient_id}/messages": {"201": ANSWER, "200": ANSWER},
    "POST /v1/questionnaires": {"201": STORED_QUESTIONNAIRE},
    "GET /v1/questionnaires/{questionnaire_id}": {"200": STORED_QUESTIONNAIRE},
    "PUT /v1/questionnaires/{questionnaire_id}": {"200": REPLACED_QUESTIONNAIRE},
    "GET /v1/appointments/{appointment_id}/questionnaire-response": {"200": QUESTIONNAIRE_RESPONSE},
    "POST /webhooks/{provider}/{clinic_id}": {"200": WEBHOOK_APPLIED, "202": WEBHOOK_IGNORED},
}  # fmt: skip
