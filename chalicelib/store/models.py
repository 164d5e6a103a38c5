"""CareCue's DynamoDB tables, one PynamoDB model each, laid out for an admin reading them in the console:
attributes named in words, instants as ISO 8601 UTC next to the IANA zone they are shown in, enums as words.

The models are defined unbound; `bind_tables` gives them the stage's table names and region. PynamoDB reads
`Meta.table_name` when it first opens a connection (and reopens when the name changes), so binding at the
composition root works and keeps settings out of import time.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core.words import AppointmentStatus, ClinicStatus, DoseStatus, RegimenStatus
from chalicelib.store import appointment_keys, due_keys

if TYPE_CHECKING:
    import botocore.session
    from pynamodb.connection._botocore_private import BotocoreBaseClientPrivate


class HandEditedText(UnicodeAttribute):
    """Text an admin may edit in the console: a value of the wrong DynamoDB type reads as a marker string instead of
    failing the whole item, so the reader's own validation (which logs and falls back) decides what to do."""

    def get_value(self, value: dict[str, Any]) -> Any:
        if self.attr_type in value:
            return value[self.attr_type]
        return f"<not text: {sorted(value)}>"


class ClinicsByApiKey(GlobalSecondaryIndex["Clinic"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by-api-key-hash"
        projection = KeysOnlyProjection()

    api_key_hash = UnicodeAttribute(hash_key=True)


class ClinicsByStatus(GlobalSecondaryIndex["Clinic"]):  # type: ignore[no-untyped-call]
    """Every clinic, by status and id: what the admin's `list-clinics` and `usage` read (a query per status, a
    page per MB) instead of scanning the table. Projected: the summary those commands print."""

    class Meta:
        index_name = "by-status"
        projection = IncludeProjection(["name", "timezone", "created_at"])

    status = UnicodeAttribute(hash_key=True)
    clinic_id = UnicodeAttribute(range_key=True)


class ClinicsByWhatsAppSender(GlobalSecondaryIndex["Clinic"]):  # type: ignore[no-untyped-call]
    """The clinic of a WhatsApp sender (its End User Messaging Social phone-number id, set by `set-whatsapp`):
    what a WhatsApp event is routed by. Sparse: a clinic without WhatsApp has no row."""

    class Meta:
        index_name = "by-whatsapp-sender"
        projection = KeysOnlyProjection()

    whatsapp_phone_number_id = UnicodeAttribute(hash_key=True)


class ClinicsByMessengerPage(GlobalSecondaryIndex["Clinic"]):  # type: ignore[no-untyped-call]
    """The clinic of a Facebook Page (its id, set by `set-messenger`): what a Messenger webhook event is routed
    by. Sparse: a clinic without Messenger has no row."""

    class Meta:
        index_name = "by-messenger-page"
        projection = KeysOnlyProjection()

    messenger_page_id = UnicodeAttribute(hash_key=True)


class Clinic(Model):
    """A clinic: the tenant. Its API key is stored only as a SHA-256 hash."""

    class Meta:
        table_name = "unbound-clinics"

    clinic_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    timezone = UnicodeAttribute()
    status = UnicodeAttribute(default=ClinicStatus.ACTIVE)
    api_key_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    by_api_key = ClinicsByApiKey()
    board_token_hash = UnicodeAttribute(null=True)  # SHA-256 of the waiting-room board link; none: no board
    policy = HandEditedText(null=True)  # JSON; validated on read (chalicelib.clinics.policy), absent = defaults

    monthly_spend_cap_usd = NumberAttribute(null=True)  # none: the stage's default cap
    # Grows with every PUT /v1/clinic (absent: never replaced); a re-plan job carries the version it is for.
    settings_version = NumberAttribute(null=True)
    # The latest re-plan of the upcoming appointments (chalicelib.clinics.replan): pending | done | failed.
    replan_status = UnicodeAttribute(null=True)  # a ReplanStatus
    replan_settings_version = NumberAttribute(null=True)
    replan_requested_at = UTCDateTimeAttribute(null=True)
    replan_finished_at = UTCDateTimeAttribute(null=True)
    replan_appointments = NumberAttribute(null=True)  # how many were re-planned, once done
    replan_reason = UnicodeAttribute(null=True)  # why it failed: an error's class name, never data
    # The clinic's WhatsApp sender in AWS End User Messaging Social (`set-whatsapp`); none: no WhatsApp.
    whatsapp_phone_number_id = UnicodeAttribute(null=True)
    by_status = ClinicsByStatus()
    by_whatsapp_sender = ClinicsByWhatsAppSender()
    # The clinic's Facebook Page (`set-messenger`; its token and app secret are in SSM); none: no Messenger.
    messenger_page_id = UnicodeAttribute(null=True)
    by_messenger_page = ClinicsByMessengerPage()


class PatientsByPhone(GlobalSecondaryIndex["Patient"]):  # type: ignore[no-untyped-call]
    """Finds the patient records behind an inbound SMS."""

    class Meta:
        index_name = "by-phone"
        projection = KeysOnlyProjection()

    phone = UnicodeAttribute(hash_key=True)


class Patient(Model):
    """A clinic's patient and how to reach them. Health data: never logged, never in a metric."""

    class Meta:
        table_name = "unbound-patients"

    clinic_id = UnicodeAttribute(hash_key=True)
    patient_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)  # E.164
    email = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute(null=True)  # else the clinic's
    language = UnicodeAttribute(default="en")
    created_at = UTCDateTimeAttribute()
    preferred_channel = UnicodeAttribute(
        null=True
    )  # sms | email | whatsapp; for reminder rules on the "preferred" channel
    # The prescribing system's reference to this patient (a FHIR subject such as Patient/123 that is not a
    # CareCue id), so its later MedicationRequests find the same patient.
    external_ref = UnicodeAttribute(null=True)
    # The patient's page-scoped id on the clinic's Facebook Page, once they linked Messenger (its referral).
    messenger_psid = UnicodeAttribute(null=True)
    by_phone = PatientsByPhone()
    # Set when `merge-patients` merged this record into another: its appointments, regimens and reminders now
    # name that one. Kept (not deleted) so an id a clinic system or an armed timer still holds resolves.
    merged_into = UnicodeAttribute(null=True)


class PatientKey(Model):
    """A lookup row: the clinic's patient with one normalised contact and name (docs/patients.md). A booking or
    regimen claims its rows with a conditional put in its own transaction, so two racing bookings for a new
    number end with one patient. Health data (a phone or email and a name): never logged."""

    class Meta:
        table_name = "unbound-patient-keys"

    clinic_id = UnicodeAttribute(hash_key=True)
    lookup = UnicodeAttribute(range_key=True)  # "sms/+14155550100/pat example", "email/pat@example.org/pat example"
    patient_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class AppointmentsByStart(GlobalSecondaryIndex["Appointment"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by-start"
        projection = AllProjection()

    clinic_id = UnicodeAttribute(hash_key=True)
    start = UTCDateTimeAttribute(range_key=True)


class AppointmentsByPatient(GlobalSecondaryIndex["Appointment"]):  # type: ignore[no-untyped-call]
    """A patient's appointments by start: what an SMS or WhatsApp reply looks up (the patient's next booked one,
    or today's), instead of every upcoming appointment of the clinic. Patient ids are random (64 bits), so a
    partition is one patient's; the reader checks the clinic all the same. Projected: what the reply reads."""

    class Meta:
        index_name = "by-patient"
        projection = IncludeProjection(["start", "timezone", "status"])

    patient_id = UnicodeAttribute(hash_key=True)
    start = UTCDateTimeAttribute(range_key=True)


class AppointmentsByProvider(GlobalSecondaryIndex["Appointment"]):  # type: ignore[no-untyped-call]
    """One provider's appointments at one clinic by start (`chalicelib.store.appointment_keys`): what a visit
    move and the running-late watch read of the provider's day, instead of the clinic's whole day. Everything
    projected, as on `by-start`: the watch's moves and claims are conditioned on what it read."""

    class Meta:
        index_name = "by-provider"
        projection = AllProjection()

    clinic_provider = UnicodeAttribute(hash_key=True)
    start = UTCDateTimeAttribute(range_key=True)


class Appointment(Model):
    """A booked visit. `version` grows with every change; a timer armed for an older version never sends."""

    class Meta:
        table_name = "unbound-appointments"

    clinic_id = UnicodeAttribute(hash_key=True)
    appointment_id = UnicodeAttribute(range_key=True)
    patient_id = UnicodeAttribute()
    start = UTCDateTimeAttribute()
    timezone = UnicodeAttribute()  # the zone the patient reads times in
    duration_minutes = NumberAttribute(default=30)
    provider = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)
    event_type = UnicodeAttribute(null=True)  # the kind of visit, as the clinic's system names it
    source = UnicodeAttribute(default="api")
    external_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=AppointmentStatus.BOOKED)
    version = NumberAttribute(default=1)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    by_start = AppointmentsByStart()
    # The day of the visit (status also arrived | in-progress | fulfilled | noshow), stamped by each move.
    arrived_at = UTCDateTimeAttribute(null=True)
    checked_in_by = UnicodeAttribute(null=True)  # front_desk | patient_link | sms | whatsapp | messenger
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    noshow_at = UTCDateTimeAttribute(null=True)
    # Who closed the visit when it was not the front desk: "day_close" (closing time found it still in progress
    # or waiting; its finished_at/noshow_at is the closing time, not when it really ended, for an admin to fix).
    closed_by = UnicodeAttribute(null=True)
    # What the patient was texted while waiting, and the running-late texts while still at home.
    wait_promised_at = UTCDateTimeAttribute(null=True)  # when the last wait text said the patient would be called
    wait_updates = NumberAttribute(null=True)
    wait_next_texted = BooleanAttribute(null=True)
    late_texts = NumberAttribute(null=True)
    late_step = NumberAttribute(null=True)

    # Bookings from online booking tools: the tool's own order of its events (event time in ms, or Square's
    # booking version). An event not newer than this one has already been applied, or is stale.
    provider_sequence = NumberAttribute(null=True)
    # The clinic settings version a background re-plan last planned this appointment for: a re-plan job run
    # twice finds it done and leaves the appointment alone.
    replanned_for = NumberAttribute(null=True)
    # A booking that came with neither a phone nor an email: stored, and reminded of nothing.
    contactless = BooleanAttribute(null=True)

    confirmed_at = UTCDateTimeAttribute(null=True)  # the patient confirmed (by link or SMS reply)
    confirmed_via = UnicodeAttribute(null=True)  # link | sms
    cancelled_via = UnicodeAttribute(null=True)  # api | link
    # How the booking found its patient: phone | email (an existing patient reused); absent: a new patient.
    patient_matched = UnicodeAttribute(null=True)
    by_patient = AppointmentsByPatient()
    # The `by-provider` index's key, "<clinic_id>#<provider or unassigned>" (`appointment_keys.provider_key`):
    # set on every full save here, and by `chalicelib.store.appointments.change` when the provider changes.
    clinic_provider = UnicodeAttribute(null=True)
    by_provider = AppointmentsByProvider()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        self.clinic_provider = appointment_keys.provider_key(self.clinic_id, self.provider)
        return super().serialize(null_check=null_check)


class RemindersByDue(GlobalSecondaryIndex["Reminder"]):  # type: ignore[no-untyped-call]
    """Pending appointment reminders only (sparse: `chalicelib.store.due_keys`): by UTC day and shard while
    `scheduled`, under `unarmed#<shard>` while their timer is not armed, under `held#<shard>` while the spend cap
    holds them. A reminder in a final state has no row here, so the index does not grow with history and no
    partition is shared by every clinic. Projected: the keys, and what the reconciler's check reads."""

    class Meta:
        index_name = "by-due"
        projection = IncludeProjection(["send_at", "schedule_name"])

    due_key = UnicodeAttribute(hash_key=True)
    due_sort = UnicodeAttribute(range_key=True)


class Reminder(Model):
    """One message planned for an owner (an appointment today, a regimen later) on one channel."""

    class Meta:
        table_name = "unbound-reminders"

    owner_id = UnicodeAttribute(hash_key=True)
    reminder_id = UnicodeAttribute(range_key=True)  # e.g. "reminder-24h.sms"
    owner_type = UnicodeAttribute(default="appointment")
    clinic_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # confirmation | reminder | reschedule_notice | cancellation_notice
    channel = UnicodeAttribute()  # sms | email
    send_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()  # scheduled | sent | skipped | failed | cancelled | missed
    reason = UnicodeAttribute(null=True)
    owner_version = NumberAttribute()
    # An appointment's patient, so the reminder's timer can name it and the fire reads the patient together with
    # the reminder; absent on regimen reminders and on reminders planned before it was kept.
    patient_id = UnicodeAttribute(null=True)
    schedule_name = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    # Set when Scheduler refused the reminder's timer, removed once it is armed: the reconciler retries it.
    arm_failed = BooleanAttribute(null=True)
    # The `by-due` index's keys, derived from the attributes above (`due_keys.pending_keys`): set on every full
    # save here, and by `chalicelib.store.pending.status_actions` in every update that changes them.
    due_key = UnicodeAttribute(null=True)
    due_sort = UnicodeAttribute(null=True)
    contact = UnicodeAttribute(null=True)  # the planned address's contact key, for its timer (a hint)
    by_due = RemindersByDue()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        keys = due_keys.keys_of(self)
        self.due_key, self.due_sort = keys if keys is not None else (None, None)
        if self.status != "scheduled":
            self.arm_failed = None
        return super().serialize(null_check=null_check)


class DeliveriesByChatRecipient(GlobalSecondaryIndex["Delivery"]):  # type: ignore[no-untyped-call]
    """The deliveries sent to one Messenger recipient (`{page id}/{PSID}`), by when they went: how a
    `message_deliveries` / `message_reads` event (which names the PSID, the mids and a watermark) finds its
    deliveries (chalicelib.store.chat_receipts). Sparse: only a message that went by Messenger has a row."""

    class Meta:
        index_name = "by-chat-recipient"
        projection = IncludeProjection(["message_id", "receipt_rank"])

    chat_recipient = UnicodeAttribute(hash_key=True)
    sent_at = UTCDateTimeAttribute(range_key=True)


class Delivery(Model):
    """The claim and record of one send of one reminder occurrence; the claim makes a second fire a no-op."""

    class Meta:
        table_name = "unbound-deliveries"

    reminder_key = UnicodeAttribute(hash_key=True)  # "{owner_id}/{reminder_id}"
    occurrence = UnicodeAttribute(range_key=True)  # the scheduled time, ISO 8601 UTC
    clinic_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    status = UnicodeAttribute()  # a DeliveryStatus
    lease_until = UTCDateTimeAttribute()
    claimed_at = UTCDateTimeAttribute()
    attempts = NumberAttribute(default=1)
    message_id = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    lateness_seconds = NumberAttribute(null=True)
    sms_segments = NumberAttribute(null=True)
    failure = UnicodeAttribute(null=True)
    permanent_failure = BooleanAttribute(default=False)
    expires_at = TTLAttribute(null=True)
    # The channel's receipts where it reports them (WhatsApp's statuses): the furthest so far, sent → delivered
    # → read, or failed with the channel's reason; each step's time as the channel stamped it.
    receipt = UnicodeAttribute(null=True)  # sent | delivered | read | failed
    receipt_rank = NumberAttribute(null=True)  # 1 sent, 2 delivered, 3 read, 4 failed: a receipt only moves up
    delivered_at = UTCDateTimeAttribute(null=True)
    read_at = UTCDateTimeAttribute(null=True)
    receipt_failure = UnicodeAttribute(null=True)  # e.g. whatsapp_131026
    # The same message once on the next channel, after the first refused it or reported it failed
    # (chalicelib.fire.dispatch): claimed with a conditional write, so a duplicate status sends nothing more.
    fallback_channel = UnicodeAttribute(null=True)  # sms (or email)
    fallback_status = UnicodeAttribute(null=True)  # claimed | sent | failed | skipped
    fallback_reason = UnicodeAttribute(null=True)  # why the first channel did not do: e.g. whatsapp_131026
    fallback_message_id = UnicodeAttribute(null=True)
    fallback_sent_at = UTCDateTimeAttribute(null=True)
    fallback_failure = UnicodeAttribute(null=True)  # the next channel's refusal, or why nothing went
    # `{page id}/{PSID}` of a message that went by Messenger, whose receipts name the recipient, not the message.
    chat_recipient = UnicodeAttribute(null=True)
    by_chat_recipient = DeliveriesByChatRecipient()
    # A notice's own facts (JSON; the waiting room's texts, which have no stored reminder: chalicelib.fire.notices),
    # so that its fallback words the same text; absent for a reminder's delivery.
    notice = UnicodeAttribute(null=True)


class VisitLengths(Model):
    """A provider's recent visit lengths, as ratios of actual (start to finish) over booked duration, oldest
    first: what the wait estimate learns from. One item per clinic and provider."""

    class Meta:
        table_name = "unbound-visit-lengths"

    clinic_id = UnicodeAttribute(hash_key=True)
    provider = UnicodeAttribute(range_key=True)  # the appointment's provider, or "unassigned"
    ratios = ListAttribute[float](of=NumberAttribute, default=list)  # type: ignore[arg-type]
    updated_at = UTCDateTimeAttribute()


class EmailSuppression(Model):
    """An email address CareCue no longer sends to: it bounced for good, or its owner marked a message as spam.
    Keyed by the SHA-256 of the lowercased address, so this table holds no address; delete an item to send to
    the address again."""

    class Meta:
        table_name = "unbound-email-suppressions"

    address_hash = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()  # bounce | complaint
    detail = UnicodeAttribute(null=True)  # SES's bounce subtype or complaint feedback type
    recorded_at = UTCDateTimeAttribute()


class BookingLink(Model):
    """A booking tool's id for a booking that CareCue first knew by another id (Cal.com's new uid after a
    reschedule, Calendly's new invitee): it points at the appointment the first id created."""

    class Meta:
        table_name = "unbound-booking-links"

    clinic_id = UnicodeAttribute(hash_key=True)
    link_key = UnicodeAttribute(range_key=True)  # "{source}/{external_id}"
    appointment_id = UnicodeAttribute()
    root_external_id = UnicodeAttribute()  # the id the appointment's own id is derived from
    created_at = UTCDateTimeAttribute()


class Contact(Model):
    """What a clinic knows about one phone number or email address, whichever patient record it is on: its
    opt-out (kept per address, so a new booking cannot undo a STOP), recent SMS for the frequency caps, and when
    an unrecognised reply was last answered. Health data: never logged."""

    class Meta:
        table_name = "unbound-contacts"

    clinic_id = UnicodeAttribute(hash_key=True)
    address = UnicodeAttribute(range_key=True)  # E.164 phone, email in lower case, or "whatsapp:" + E.164
    channel = UnicodeAttribute()  # sms | email | whatsapp
    opted_out_at = UTCDateTimeAttribute(null=True)
    opt_out_source = UnicodeAttribute(null=True)  # sms_reply | link | api | merge (merge-patients)
    recent_sends = ListAttribute(of=UTCDateTimeAttribute, null=True)  # the last 7 days, for the caps
    help_replied_at = UTCDateTimeAttribute(null=True)
    # WhatsApp only (address "whatsapp:+E.164", chalicelib.patients.whatsapp): the patient's opt-in, when and
    # how it was given, and when they last wrote (the 24-hour customer-service window runs from it).
    opted_in_at = UTCDateTimeAttribute(null=True)
    opt_in_source = UnicodeAttribute(null=True)  # booking | regimen | api | whatsapp_inbound
    last_inbound_at = UTCDateTimeAttribute(null=True)
    # Messenger only (address "messenger:" + PSID, chalicelib.patients.messenger): the patient it was linked to.
    patient_id = UnicodeAttribute(null=True)


class Usage(Model):
    """A clinic's metered use in one calendar month (UTC), every counter grown by an atomic ADD per send."""

    class Meta:
        table_name = "unbound-usage"

    clinic_id = UnicodeAttribute(hash_key=True)
    month = UnicodeAttribute(range_key=True)  # "2026-12", UTC
    sms_messages = NumberAttribute(default=0)
    sms_segments = NumberAttribute(default=0)
    emails = NumberAttribute(default=0)
    whatsapp_messages = NumberAttribute(null=True)  # absent on months before WhatsApp: read as 0
    messenger_messages = NumberAttribute(null=True)  # absent on months before Messenger: read as 0
    estimated_cost_usd = NumberAttribute(default=0)  # channel fees from the price table in settings
    spend_cap_skips = NumberAttribute(default=0)  # reminders not sent because the cap was reached
    updated_at = UTCDateTimeAttribute(null=True)


class RegimensByTimerCheck(GlobalSecondaryIndex["Regimen"]):  # type: ignore[no-untyped-call]
    """Active regimens only (sparse), in shards, by when their timers were last checked: the reconciler checks
    the least recently checked few each run instead of scanning the table."""

    class Meta:
        index_name = "by-timer-check"
        projection = KeysOnlyProjection()

    timer_check = UnicodeAttribute(hash_key=True)
    timers_checked_at = UnicodeAttribute(range_key=True)


# A regimen whose timers were never checked sorts before every ISO 8601 instant.
NEVER_CHECKED = "0000"


class Regimen(Model):
    """A patient's medication regimen: one or more dosage instructions (several in a row make a taper), each
    armed as Scheduler cron schedules in the patient's zone or as chained one-time schedules. `version` grows
    with every pause, resume or stop; a timer armed for an older version sends nothing. The medication name is
    health data: never logged, and in an SMS only when the clinic opts in."""

    class Meta:
        table_name = "unbound-regimens"

    clinic_id = UnicodeAttribute(hash_key=True)
    regimen_id = UnicodeAttribute(range_key=True)
    patient_id = UnicodeAttribute()
    medication = UnicodeAttribute()  # display name
    dose_text = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute()  # the zone the patient reads dose times in
    instructions = UnicodeAttribute()  # JSON list of normalised timings (chalicelib.regimens.timing.timing_json)
    starts_at = UTCDateTimeAttribute()  # when the first instruction begins
    status = UnicodeAttribute(default=RegimenStatus.ACTIVE)
    version = NumberAttribute(default=1)
    timers = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]  # names of the schedules armed now
    caregiver_first_name = UnicodeAttribute(null=True)  # the patient's first name, as the caregiver knows it
    caregiver_phone = UnicodeAttribute(null=True)
    caregiver_email = UnicodeAttribute(null=True)
    supply = NumberAttribute(null=True)  # doses on hand when the regimen was created
    refill_notice_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    patient_matched = UnicodeAttribute(null=True)  # as on an appointment: phone | email, absent: a new patient
    # JSON {request field: SHA-256 of its content}: a repeat of the `external_id` is compared against it (and a
    # 409 names what differs) without keeping the request itself. Absent on regimens created before it was kept.
    content_digest = UnicodeAttribute(null=True)
    # The `by-timer-check` index's keys: present only while active (set on every full save here).
    timer_check = UnicodeAttribute(null=True)  # "<shard>"
    timers_checked_at = UnicodeAttribute(null=True)  # ISO 8601 UTC, or NEVER_CHECKED
    by_timer_check = RegimensByTimerCheck()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        if self.status == RegimenStatus.ACTIVE:
            self.timer_check = f"{due_keys.shard(self.regimen_id):02d}"
            self.timers_checked_at = self.timers_checked_at or NEVER_CHECKED
        else:
            self.timer_check = self.timers_checked_at = None
        return super().serialize(null_check=null_check)


class Dose(Model):
    """One dose the patient was reminded of, and whether (and how) it was taken. Created when its timer fires."""

    class Meta:
        table_name = "unbound-doses"

    regimen_id = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)  # ISO 8601 UTC: the timer's scheduled time
    clinic_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    timezone = UnicodeAttribute()
    status = UnicodeAttribute(default=DoseStatus.REMINDED)  # a DoseStatus
    reason = UnicodeAttribute(null=True)  # why a dose was skipped (opted out, no contact)
    taken_at = UTCDateTimeAttribute(null=True)
    taken_via = UnicodeAttribute(null=True)  # link | sms | api
    snoozes = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


class QuestionnaireForm(Model):
    """A clinic's pre-visit form: the FHIR Questionnaire as the clinic sent it (`chalicelib.forms`)."""

    class Meta:
        table_name = "unbound-questionnaires"

    clinic_id = UnicodeAttribute(hash_key=True)
    questionnaire_id = UnicodeAttribute(range_key=True)
    resource = UnicodeAttribute()  # the Questionnaire's JSON
    title = UnicodeAttribute(null=True)
    version = NumberAttribute(default=1)
    updated_at = UTCDateTimeAttribute()


class QuestionnaireAnswers(Model):
    """A patient's answers to one form for one appointment, as a FHIR QuestionnaireResponse. Health data: never
    logged, never in a metric or a message; encrypted at rest like every table."""

    class Meta:
        table_name = "unbound-questionnaire-responses"

    clinic_id = UnicodeAttribute(hash_key=True)
    response_key = UnicodeAttribute(range_key=True)  # "{appointment_id}/{questionnaire_id}"
    resource = UnicodeAttribute()  # the QuestionnaireResponse's JSON
    status = UnicodeAttribute()  # in-progress | completed
    updated_at = UTCDateTimeAttribute()


class AuditEntry(Model):
    """One change made through the API, a booking tool's webhook, a patient's link or the admin CLI: who (a key
    id, `admin`, `booking_tool:<tool>`, `patient_link`), what (the route or command and the ids it named), when.
    Ids only, never patient data; kept for `AUDIT_RETENTION` (`chalicelib.audit`), then DynamoDB's TTL drops it."""

    class Meta:
        table_name = "unbound-audit"

    clinic_id = UnicodeAttribute(hash_key=True)  # "stage" for a change to no one clinic (e.g. a new clinic)
    entry = UnicodeAttribute(range_key=True)  # "<ISO 8601 UTC>#<random>": in time order
    actor = UnicodeAttribute()
    action = UnicodeAttribute()  # "PATCH /v1/appointments/{appointment_id}", "admin rotate-api-key"
    target = UnicodeAttribute(null=True)  # JSON object of the ids the change named
    status = NumberAttribute(null=True)  # the HTTP status answered
    expires_at = TTLAttribute()


class PatientChange(Model):
    """One change to a patient's contact details, who made it and when (`chalicelib.patients.changes`). The old
    and new values are patient data: shown to the clinic, never logged."""

    class Meta:
        table_name = "unbound-patient-changes"

    clinic_id = UnicodeAttribute(hash_key=True)
    change_key = UnicodeAttribute(range_key=True)  # "{patient_id}#{ISO 8601 UTC}#{sequence}"
    patient_id = UnicodeAttribute()
    field = UnicodeAttribute()  # phone | email | language | preferred_channel | timezone
    old = UnicodeAttribute(null=True)
    new = UnicodeAttribute(null=True)
    by = UnicodeAttribute()  # patient | clinic | booking_tool
    actor = UnicodeAttribute()  # patient_link | api_key:<12 hex> | api | booking_tool:<tool>
    proof = UnicodeAttribute(null=True)  # sms_code | email_code
    at = UTCDateTimeAttribute()


class ContactProof(Model):
    """A new phone or email waiting for its one-time code (`chalicelib.links.contact_codes`): the code's HMAC
    only, its expiry, the tries, the recent sends. Dropped by TTL a day after the last code."""

    class Meta:
        table_name = "unbound-contact-proofs"

    clinic_id = UnicodeAttribute(hash_key=True)
    proof_key = UnicodeAttribute(range_key=True)  # "{patient_id}/{field}"
    patient_id = UnicodeAttribute()
    field = UnicodeAttribute()  # phone | email
    address = UnicodeAttribute(null=True)
    code_hash = UnicodeAttribute(null=True)
    expires_at = UTCDateTimeAttribute(null=True)
    tries = NumberAttribute(default=0)
    sent_at = ListAttribute(of=UTCDateTimeAttribute, null=True)
    forget_at = TTLAttribute()


class ConversationsByRecent(GlobalSecondaryIndex["Conversation"]):  # type: ignore[no-untyped-call]
    """A clinic's inbox, newest first: one row per thread, keyed by the clinic and "<last message at>#<patient>"
    (`GET /v1/conversations` reads a page of it, never the table). Projected: the row without its address."""

    class Meta:
        index_name = "by-recent"
        projection = IncludeProjection(["unread", "last_at", "last_direction", "channel", "last_inbound_at"])

    clinic_id = UnicodeAttribute(hash_key=True)
    recent = UnicodeAttribute(range_key=True)


class Conversation(Model):
    """One patient's thread in the clinic's inbox (`chalicelib.inbox`): its unread count, the channel and address
    the patient last wrote from, and the claims of the hourly notice email and the daily automatic answer. The
    messages are in `ConversationMessage`. Health data (an address): never logged."""

    class Meta:
        table_name = "unbound-conversations"

    clinic_id = UnicodeAttribute(hash_key=True)
    patient_id = UnicodeAttribute(range_key=True)
    recent = UnicodeAttribute()  # "<last_at ISO 8601 UTC>#<patient_id>": the `by-recent` index's sort key
    last_at = UTCDateTimeAttribute()
    last_direction = UnicodeAttribute()  # in | out
    unread = NumberAttribute(default=0)  # patient messages since the staff last opened or answered the thread
    channel = UnicodeAttribute()  # sms | whatsapp | messenger: where the patient last wrote from
    address = UnicodeAttribute()  # the phone (SMS, WhatsApp) or page-scoped id (Messenger) they wrote from
    last_inbound_at = UTCDateTimeAttribute()  # the chat channels' 24-hour window runs from it
    created_at = UTCDateTimeAttribute()
    read_at = UTCDateTimeAttribute(null=True)
    notice_at = UTCDateTimeAttribute(null=True)  # the last notice email claimed (one an hour at most)
    auto_answered_at = UTCDateTimeAttribute(null=True)  # the last automatic answer claimed (one a day at most)
    by_recent = ConversationsByRecent()


class ConversationMessage(Model):
    """One message of a thread, either way: the patient's words or the staff's answer. Health data: the text is
    encrypted at rest like every table, and never logged, counted in a metric or put in an email."""

    class Meta:
        table_name = "unbound-conversation-messages"

    thread = UnicodeAttribute(hash_key=True)  # "<clinic_id>#<patient_id>"
    entry = UnicodeAttribute(range_key=True)  # "<ISO 8601 UTC>#<message id>": in time order
    direction = UnicodeAttribute()  # in | out
    channel = UnicodeAttribute()  # sms | whatsapp | messenger
    text = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    sender = UnicodeAttribute()  # patient | staff
    message_id = UnicodeAttribute()  # the inbound message's id, or the channel's id of the answer sent
    sms_segments = NumberAttribute(null=True)  # an answer sent by SMS: what it was charged for


TABLES: dict[str, type[Model]] = {
    "clinics": Clinic,
    "patients": Patient,
    "patient-keys": PatientKey,
    "appointments": Appointment,
    "reminders": Reminder,
    "deliveries": Delivery,
    "visit-lengths": VisitLengths,
    "email-suppressions": EmailSuppression,
    "booking-links": BookingLink,
    "contacts": Contact,
    "usage": Usage,
    "regimens": Regimen,
    "doses": Dose,
    "questionnaires": QuestionnaireForm,
    "questionnaire-responses": QuestionnaireAnswers,
    "audit": AuditEntry,
    "patient-changes": PatientChange,
    "contact-proofs": ContactProof,
    "conversations": Conversation,
    "conversation-messages": ConversationMessage,
}


# botocore sessions are not thread-safe (PynamoDB keeps one per thread for that reason): every client made from
# the process's shared session is made under this lock, by PynamoDB here and by the composition root for boto3.
CLIENT_LOCK = threading.RLock()


class SharedSessionConnection(Connection):
    """PynamoDB's connection, making its DynamoDB client from a botocore session it is given.

    PynamoDB 6.1 has no setting for the session: `Connection.session` calls `botocore.session.get_session()` (one
    per thread), and `Connection.client` makes the client from it with PynamoDB's own config (its retries and
    timeouts, no parameter validation). Overriding the `session` property keeps all of that and only changes
    where the session comes from, so boto3's clients and PynamoDB's share one: the endpoint, partition and
    retry data botocore loads per session are loaded once per cold start instead of twice.
    """

    def __init__(self, region: str, session: botocore.session.Session) -> None:
        super().__init__(region=region)
        self._shared_session = session

    @property
    def session(self) -> botocore.session.Session:
        return self._shared_session

    @property
    def client(self) -> BotocoreBaseClientPrivate:
        with CLIENT_LOCK:
            return super().client


_shared_connection: Connection | None = None


def bind_tables(prefix: str, region: str, session: botocore.session.Session | None = None) -> None:
    """Points every model at the `{prefix}-{table}` tables in `region`, all through one DynamoDB client, made from
    `session` (the botocore session boto3's clients are made from) when given.

    PynamoDB gives each model (and each transaction) a connection of its own, each with its own botocore
    session, and each session loads the DynamoDB service model from JSON again: measured here at 60-120 ms a
    client, paid on every cold start per table touched. One shared connection pays it once.
    """
    global _shared_connection
    _shared_connection = Connection(region=region) if session is None else SharedSessionConnection(region, session)
    for name, model in TABLES.items():
        meta: Any = model.Meta
        meta.table_name = f"{prefix}-{name}"
        meta.region = region
        model._connection = None
        table = model._get_connection()  # builds no client yet: that happens on first use
        _shared_connection.add_meta_table(table.connection.get_meta_table(meta.table_name))
        table.connection = _shared_connection


def create_tables() -> None:
    """Create every table on demand (the local stack and tests; AWS gets them from the CloudFormation stack)."""
    for model in TABLES.values():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)


def transaction() -> TransactWrite:
    """A write transaction on the bound tables: all of its items are stored, or none."""
    if _shared_connection is None:
        raise RuntimeError("bind_tables() has not been called")
    return TransactWrite(connection=_shared_connection)
