"""The stored records as the domain sees them: plain, frozen msgspec Structs, one per DynamoDB item type, with the
same field names (and defaults) as the attributes of `chalicelib.store.models`, so that code reading
`clinic.timezone` reads the same whichever it holds.

The store converts at its boundary (`chalicelib.store.convert`): a repository returns these and takes these, and
no code above the store builds or receives a PynamoDB model (the `records` contract in `.importlinter`). A change
is a new record (`msgspec.structs.replace`), written by a repository. A number is a `float` as DynamoDB's are read
(`int()` where a whole number is meant, as before); an attribute that may be absent is `None` when it is.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.core.words import AppointmentStatus, ClinicStatus, DoseStatus, RegimenStatus


class Clinic(Struct, frozen=True, kw_only=True):
    """A clinic: the tenant. Its API key is stored only as a SHA-256 hash."""

    clinic_id: str
    name: str
    timezone: str
    status: str = ClinicStatus.ACTIVE
    api_key_hash: str
    created_at: datetime
    board_token_hash: str | None = None  # SHA-256 of the waiting-room board link; none: no board
    policy: str | None = None  # JSON; validated on read (chalicelib.clinics.policy), absent = defaults
    monthly_spend_cap_usd: float | None = None  # none: the stage's default cap
    settings_version: float | None = None
    replan_status: str | None = None  # a ReplanStatus
    replan_settings_version: float | None = None
    replan_requested_at: datetime | None = None
    replan_finished_at: datetime | None = None
    replan_appointments: float | None = None
    replan_reason: str | None = None
    whatsapp_phone_number_id: str | None = None
    messenger_page_id: str | None = None  # the clinic's Facebook Page (set-messenger)


class Patient(Struct, frozen=True, kw_only=True):
    """A clinic's patient and how to reach them. Health data: never logged, never in a metric."""

    clinic_id: str
    patient_id: str
    name: str
    phone: str | None = None  # E.164
    email: str | None = None
    timezone: str | None = None  # else the clinic's
    language: str = "en"
    created_at: datetime
    preferred_channel: str | None = None
    external_ref: str | None = None
    messenger_psid: str | None = None  # the patient's page-scoped id, once they linked Messenger
    merged_into: str | None = None


class PatientKey(Struct, frozen=True, kw_only=True):
    """A lookup row: the clinic's patient with one normalised contact and name (docs/patients.md). A booking or
    regimen claims its rows with a conditional put in its own transaction, so two racing bookings for a new
    number end with one patient. Health data (a phone or email and a name): never logged."""

    clinic_id: str
    lookup: str  # "sms/+14155550100/pat example", "email/pat@example.org/pat example"
    patient_id: str
    created_at: datetime


class Contact(Struct, frozen=True, kw_only=True):
    """What a clinic knows about one phone number or email address, whichever patient record it is on: its
    opt-out (kept per address, so a new booking cannot undo a STOP), recent SMS for the frequency caps, and when
    an unrecognised reply was last answered. Health data: never logged."""

    clinic_id: str
    address: str  # E.164 phone, email in lower case, or "whatsapp:" + E.164
    channel: str  # sms | email | whatsapp
    opted_out_at: datetime | None = None
    opt_out_source: str | None = None  # sms_reply | link | api | merge (merge-patients)
    recent_sends: list[datetime] | None = None  # the last 7 days, for the caps
    help_replied_at: datetime | None = None
    opted_in_at: datetime | None = None
    opt_in_source: str | None = None  # booking | regimen | api | whatsapp_inbound
    last_inbound_at: datetime | None = None
    patient_id: str | None = None  # Messenger only: the patient the PSID was linked to


class Appointment(Struct, frozen=True, kw_only=True):
    """A booked visit. `version` grows with every change; a timer armed for an older version never sends."""

    clinic_id: str
    appointment_id: str
    patient_id: str
    start: datetime
    timezone: str  # the zone the patient reads times in
    duration_minutes: float = 30
    provider: str | None = None
    location: str | None = None
    event_type: str | None = None  # the kind of visit, as the clinic's system names it
    source: str = "api"
    external_id: str | None = None
    status: str = AppointmentStatus.BOOKED
    version: float = 1
    created_at: datetime
    updated_at: datetime
    arrived_at: datetime | None = None
    checked_in_by: str | None = None  # front_desk | patient_link | sms | whatsapp | messenger
    started_at: datetime | None = None
    finished_at: datetime | None = None
    noshow_at: datetime | None = None
    closed_by: str | None = None
    wait_promised_at: datetime | None = None  # when the last wait text said the patient would be called
    wait_updates: float | None = None
    wait_next_texted: bool | None = None
    late_texts: float | None = None
    late_step: float | None = None
    provider_sequence: float | None = None
    replanned_for: float | None = None
    contactless: bool | None = None
    confirmed_at: datetime | None = None  # the patient confirmed (by link or SMS reply)
    confirmed_via: str | None = None  # link | sms
    cancelled_via: str | None = None  # api | link
    patient_matched: str | None = None
    clinic_provider: str | None = None  # the `by-provider` index's key, derived by the store on every save


class BookingLink(Struct, frozen=True, kw_only=True):
    """A booking tool's id for a booking that CareCue first knew by another id (Cal.com's new uid after a
    reschedule, Calendly's new invitee): it points at the appointment the first id created."""

    clinic_id: str
    link_key: str  # "{source}/{external_id}"
    appointment_id: str
    root_external_id: str  # the id the appointment's own id is derived from
    created_at: datetime


class Reminder(Struct, frozen=True, kw_only=True):
    """One message planned for an owner (an appointment today, a regimen later) on one channel."""

    owner_id: str
    reminder_id: str  # e.g. "reminder-24h.sms"
    owner_type: str = "appointment"
    clinic_id: str
    kind: str  # confirmation | reminder | reschedule_notice | cancellation_notice
    channel: str  # sms | email
    send_at: datetime
    status: str  # scheduled | sent | skipped | failed | cancelled | missed
    reason: str | None = None
    owner_version: float
    patient_id: str | None = None
    schedule_name: str | None = None
    sent_at: datetime | None = None
    updated_at: datetime
    arm_failed: bool | None = None
    due_key: str | None = None
    due_sort: str | None = None
    # The contact key of the address it was planned for: its timer carries it so that the fire reads the contact
    # record in its first round trip (`chalicelib.arm.envelope`); a hint, never trusted over the patient.
    contact: str | None = None


class Delivery(Struct, frozen=True, kw_only=True):
    """The claim and record of one send of one reminder occurrence; the claim makes a second fire a no-op."""

    reminder_key: str  # "{owner_id}/{reminder_id}"
    occurrence: str  # the scheduled time, ISO 8601 UTC
    clinic_id: str
    channel: str
    status: str  # a DeliveryStatus
    lease_until: datetime
    claimed_at: datetime
    attempts: float = 1
    message_id: str | None = None
    sent_at: datetime | None = None
    lateness_seconds: float | None = None
    sms_segments: float | None = None
    failure: str | None = None
    permanent_failure: bool = False
    expires_at: datetime | None = None
    receipt: str | None = None  # sent | delivered | read | failed
    receipt_rank: float | None = None  # 1 sent, 2 delivered, 3 read, 4 failed: a receipt only moves up
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    receipt_failure: str | None = None  # e.g. whatsapp_131026
    fallback_channel: str | None = None  # sms (or email)
    fallback_status: str | None = None  # claimed | sent | failed | skipped
    fallback_reason: str | None = None  # why the first channel did not do: e.g. whatsapp_131026
    fallback_message_id: str | None = None
    fallback_sent_at: datetime | None = None
    fallback_failure: str | None = None  # the next channel's refusal, or why nothing went
    chat_recipient: str | None = None  # `{page id}/{PSID}` of a message that went by Messenger
    notice: str | None = None  # a notice's facts (JSON: chalicelib.fire.notices); None for a reminder's delivery


class ListedReminder(Struct, frozen=True, kw_only=True):
    """A pending reminder as the `by-due` index lists it (its keys, send time and timer name, and no more): what
    the reconciler and the spend-cap release page through, each reading the reminder itself before deciding."""

    owner_id: str
    reminder_id: str
    send_at: datetime
    schedule_name: str | None = None
    due_key: str | None = None
    due_sort: str | None = None


class Regimen(Struct, frozen=True, kw_only=True):
    """A patient's medication regimen: one or more dosage instructions (several in a row make a taper), each
    armed as Scheduler cron schedules in the patient's zone or as chained one-time schedules. `version` grows
    with every pause, resume or stop; a timer armed for an older version sends nothing. The medication name is
    health data: never logged, and in an SMS only when the clinic opts in."""

    clinic_id: str
    regimen_id: str
    patient_id: str
    medication: str  # display name
    dose_text: str | None = None
    timezone: str  # the zone the patient reads dose times in
    instructions: str  # JSON list of normalised timings (chalicelib.regimens.timing.timing_json)
    starts_at: datetime  # when the first instruction begins
    status: str = RegimenStatus.ACTIVE
    version: float = 1
    timers: list[str] | None = None  # names of the schedules armed now
    caregiver_first_name: str | None = None  # the patient's first name, as the caregiver knows it
    caregiver_phone: str | None = None
    caregiver_email: str | None = None
    supply: float | None = None  # doses on hand when the regimen was created
    refill_notice_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    patient_matched: str | None = None  # as on an appointment: phone | email, absent: a new patient
    content_digest: str | None = None
    timer_check: str | None = None  # "<shard>"
    timers_checked_at: str | None = None  # ISO 8601 UTC, or NEVER_CHECKED


class Dose(Struct, frozen=True, kw_only=True):
    """One dose the patient was reminded of, and whether (and how) it was taken. Created when its timer fires."""

    regimen_id: str
    due_at: str  # ISO 8601 UTC: the timer's scheduled time
    clinic_id: str
    patient_id: str
    timezone: str
    status: str = DoseStatus.REMINDED  # a DoseStatus
    reason: str | None = None  # why a dose was skipped (opted out, no contact)
    taken_at: datetime | None = None
    taken_via: str | None = None  # link | sms | api
    snoozes: float = 0
    created_at: datetime


class ListedRegimen(Struct, frozen=True, kw_only=True):
    """An active regimen as the `by-timer-check` index lists it (its keys, and when its timers were last checked):
    what the reconciler pages through, reading the regimen itself before it re-arms anything."""

    clinic_id: str
    regimen_id: str
    timer_check: str | None = None
    timers_checked_at: str | None = None


class Usage(Struct, frozen=True, kw_only=True):
    """A clinic's metered use in one calendar month (UTC), every counter grown by an atomic ADD per send."""

    clinic_id: str
    month: str  # "2026-12", UTC
    sms_messages: float = 0
    sms_segments: float = 0
    emails: float = 0
    whatsapp_messages: float | None = None  # absent on months before WhatsApp: read as 0
    messenger_messages: float | None = None  # absent on months before Messenger: read as 0
    estimated_cost_usd: float = 0  # channel fees from the price table in settings
    spend_cap_skips: float = 0  # reminders not sent because the cap was reached
    updated_at: datetime | None = None


class QuestionnaireForm(Struct, frozen=True, kw_only=True):
    """A clinic's pre-visit form: the FHIR Questionnaire as the clinic sent it (`chalicelib.forms`)."""

    clinic_id: str
    questionnaire_id: str
    resource: str  # the Questionnaire's JSON
    title: str | None = None
    version: float = 1
    updated_at: datetime


class QuestionnaireAnswers(Struct, frozen=True, kw_only=True):
    """A patient's answers to one form for one appointment, as a FHIR QuestionnaireResponse. Health data: never
    logged, never in a metric or a message; encrypted at rest like every table."""

    clinic_id: str
    response_key: str  # "{appointment_id}/{questionnaire_id}"
    resource: str  # the QuestionnaireResponse's JSON
    status: str  # in-progress | completed
    updated_at: datetime


class AuditEntry(Struct, frozen=True, kw_only=True):
    """One change made through the API, a booking tool's webhook, a patient's link or the admin CLI: who (a key
    id, `admin`, `booking_tool:<tool>`, `patient_link`), what (the route or command and the ids it named), when.
    Ids only, never patient data; kept for `AUDIT_RETENTION` (`chalicelib.audit`), then DynamoDB's TTL drops it."""

    clinic_id: str  # "stage" for a change to no one clinic (e.g. a new clinic)
    entry: str  # "<ISO 8601 UTC>#<random>": in time order
    actor: str
    action: str  # "PATCH /v1/appointments/{appointment_id}", "admin rotate-api-key"
    target: str | None = None  # JSON object of the ids the change named
    status: float | None = None  # the HTTP status answered
    expires_at: datetime


class PatientChange(Struct, frozen=True, kw_only=True):
    """One change to a patient's contact details (phone, email, language, preferred channel, time zone): what it
    was and became, when, and who made it (the patient by their link, the clinic, a booking tool). The values are
    patient data, shown to the clinic by `GET /v1/patients/{id}/changes`: never logged."""

    clinic_id: str
    change_key: str  # "{patient_id}#{ISO 8601 UTC}#{sequence}": a patient's changes in time order
    patient_id: str
    field: str  # phone | email | language | preferred_channel | timezone
    old: str | None = None
    new: str | None = None
    by: str  # patient | clinic | booking_tool
    actor: str  # patient_link | api_key:<12 hex> | api | booking_tool:<tool>
    proof: str | None = None  # sms_code | email_code: how a new phone or email was proven
    at: datetime


class ContactProof(Struct, frozen=True, kw_only=True):
    """A new phone or email a patient asked for, waiting for the one-time code sent to it: only the code's HMAC,
    its expiry and the tries made; and the recent sends, for the rate limit (`chalicelib.links.contact_codes`).
    The address is patient data: never logged."""

    clinic_id: str
    proof_key: str  # "{patient_id}/{field}"
    patient_id: str
    field: str  # phone | email
    address: str | None = None  # the new phone (E.164) or email the code was sent to
    code_hash: str | None = None  # HMAC-SHA256 of the code and the address, under the stage's link key
    expires_at: datetime | None = None
    tries: float = 0
    sent_at: list[datetime] | None = None  # the codes sent in the last hour
    forget_at: datetime  # DynamoDB's TTL drops the item a day after the last code


class ClinicSummary(Struct, frozen=True, kw_only=True):
    """A clinic as the stage's list of clinics shows it (the attributes the listing reads, and no more)."""

    clinic_id: str
    name: str
    timezone: str
    status: str
    created_at: datetime


class Conversation(Struct, frozen=True, kw_only=True):
    """One patient's thread in the clinic's inbox (`chalicelib.inbox`). Health data (an address): never logged."""

    clinic_id: str
    patient_id: str
    recent: str  # "<last_at ISO 8601 UTC>#<patient_id>"
    last_at: datetime
    last_direction: str  # in | out
    channel: str  # sms | whatsapp | messenger: where the patient last wrote from
    address: str  # the phone (SMS, WhatsApp) or page-scoped id (Messenger) they wrote from
    last_inbound_at: datetime
    created_at: datetime
    unread: float = 0
    read_at: datetime | None = None
    notice_at: datetime | None = None
    auto_answered_at: datetime | None = None


class ListedConversation(Struct, frozen=True, kw_only=True):
    """A thread as the clinic's inbox lists it (the `by-recent` index's projection)."""

    clinic_id: str
    patient_id: str
    recent: str
    unread: float
    last_at: datetime
    last_direction: str
    channel: str
    last_inbound_at: datetime


class ConversationMessage(Struct, frozen=True, kw_only=True):
    """One message of a thread, either way. Health data: never logged, in a metric or in an email."""

    thread: str  # "<clinic_id>#<patient_id>"
    entry: str  # "<ISO 8601 UTC>#<message id>"
    direction: str  # in | out
    channel: str
    text: str
    at: datetime
    sender: str  # patient | staff
    message_id: str
    sms_segments: float | None = None
