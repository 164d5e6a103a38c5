"""Appointments from clinic systems: book, read, list, reschedule, cancel.

Each change is one DynamoDB transaction (appointment, patient, reminders), so a failed request stores
nothing. Timers are armed after the commit: DynamoDB is the source of truth and a timer that failed to arm is
logged and counted for the reconciler to re-arm; the booking itself stands. Notices (confirmation, reschedule,
cancellation) go out at once through the same dispatcher the timers use.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

from msgspec import Struct, field
from msgspec.structs import replace

from chalicelib.appointments.request import AppointmentChange, NewAppointment
from chalicelib.arm.envelope import OwnerType
from chalicelib.arm.timers import ReminderTimers, Timer, schedule_name
from chalicelib.core.clock import Clock, to_utc
from chalicelib.core.cursors import read_cursor, write_cursor
from chalicelib.core.errors import AlreadyExists, Conflict, StaleVersion, TimerError
from chalicelib.core.observability import count, logger
from chalicelib.core.records import Appointment, AuditEntry, Clinic, Contact, Patient, PatientKey, Reminder, Usage
from chalicelib.core.words import AppointmentStatus, Channel, Kind, Status
from chalicelib.fire.dispatch import DeliveryRequest, Dispatcher, Outcome, Recorded, TransientSendError
from chalicelib.plan.appointment_reminders import PlannedReminder, channels_for, plan_notice
from chalicelib.store import appointments as store
from chalicelib.store import reads
from chalicelib.store.clinics import get_clinic
from chalicelib.store.patients import PatientWrite, get_patient

# A notice the channel could not take right now is retried by a timer this far ahead.
NOTICE_RETRY_DELAY = timedelta(minutes=1)
# A cancel that keeps losing races to other changes gives up (409) after this many reads and writes.
CANCEL_ATTEMPTS = 3
# How often a booking matches its patient again when another request stored that patient first (a race of two
# bookings for one new number: the second finds the first's patient on its next try).
PATIENT_MATCH_TRIES = 3


class AppointmentRecord(Struct, frozen=True):
    appointment: Appointment
    patient: Patient
    reminders: list[Reminder]
    created: bool = False
    audited: bool = False  # the request's audit entry was written with the booking (`store.appointments.create`)
    # The notices this request sent, by reminder id, as their send recorded them: shown without reading them back.
    sent: Mapping[str, Recorded] = field(default_factory=dict)


class AppointmentService:
    def __init__(self, clock: Clock, timers: ReminderTimers, dispatcher: Dispatcher) -> None:
        self._clock = clock
        self._timers = timers
        self._dispatcher = dispatcher

    def book(
        self,
        clinic_id: str,
        request: NewAppointment,
        source: str = "api",
        provider_sequence: int | None = None,
        clinic: Clinic | None = None,
        audit: AuditEntry | None = None,
    ) -> AppointmentRecord:
        """Books an appointment; booking the same `external_id` again returns the first booking unchanged, and
        sending it with different content is a Conflict naming the fields that differ (a PATCH changes them).

        `provider_sequence` is a booking tool's order of its own events (see `chalicelib.intake`). `clinic`: the
        clinic as the caller read it in this request (the API reads it to parse the phone), not read again.
        `audit`: the request's audit entry, written in the booking's transaction if the booking is new."""
        now = self._clock.now()
        given = clinic if clinic is not None and clinic.clinic_id == clinic_id else None
        # The first reads in one round trip (docs/performance.md, "A booking"): the clinic (unless the caller read
        # it), the patient's lookup rows, the addresses' contact records (opt-outs) and this month's usage (for the
        # confirmation); each handed out once, so a match tried again reads its rows anew.
        with reads.prefetched(_first_reads(clinic_id, request, now, given is None)) as fetched:
            clinic = given or get_clinic(clinic_id)
            booked = self._book(clinic, request, source, provider_sequence, audit, now)
        if isinstance(booked, AppointmentRecord):
            return booked
        appointment, patient, reminders, audited = booked
        details = request.patient
        if details.whatsapp_opt_in and details.phone:  # before the confirmation goes: it may go by WhatsApp
            from chalicelib.patients.whatsapp import record_opt_in

            record_opt_in(clinic_id, details.phone, "booking", now)
            fetched = {}  # a contact record was written: the confirmation reads what it needs
        self._arm(reminders)
        # The confirmation is checked on what this request wrote and read, not read again; the claim checks that
        # it is all still so (`reads.in_hand`), so one cancelled or moved meanwhile is not sent.
        with reads.in_hand(fetched, [appointment, patient, clinic, *reminders]):
            outcomes = self._send_notices(reminders)
        # The answer is built from the records in hand when every notice was sent and recorded with its mark;
        # otherwise (skipped, failed, fallen back, to be retried) the reminders are read back as they now stand.
        sent = {rid: o.recorded for rid, o in outcomes.items() if o is not None and o.recorded is not None}
        if len(sent) < len(outcomes):
            return AppointmentRecord(
                appointment, patient, self._reminders(appointment.appointment_id), created=True, audited=audited
            )
        now_in_hand = [
            replace(r, status=Status.SENT.value, reason=None, sent_at=sent[r.reminder_id].sent_at)
            if r.reminder_id in sent
            else r
            for r in reminders
        ]
        return AppointmentRecord(appointment, patient, now_in_hand, created=True, audited=audited, sent=sent)

    def _book(
        self,
        clinic: Clinic,
        request: NewAppointment,
        source: str,
        provider_sequence: int | None,
        audit: AuditEntry | None,
        now: datetime,
    ) -> AppointmentRecord | tuple[Appointment, Patient, list[Reminder], bool]:
        """Matches the patient, plans and stores the booking: what was stored, or the first booking of a repeat."""
        clinic_id = clinic.clinic_id
        for attempt in range(PATIENT_MATCH_TRIES):
            patient_write, appointment = _new_records(clinic, request, source, AppointmentStatus.BOOKED, now)
            patient = patient_write.patient
            appointment_id = appointment.appointment_id
            channels = channels_for(patient.phone, patient.email)
            if provider_sequence is not None:
                appointment = replace(appointment, provider_sequence=provider_sequence)
            if not channels:
                # Only a booking tool can send such a booking (the REST API rejects it): kept, never reminded.
                appointment = replace(appointment, contactless=True)
            from chalicelib.appointments.reminder_plan import notice_channels, planned_reminders, receivable

            # Read once for the reminders and the confirmation. The booking's own WhatsApp opt-in counts, though it
            # is recorded after the booking is stored: a clinic whose order puts email before SMS would otherwise
            # plan a patient who just opted in to WhatsApp on email.
            opting_in = bool(request.patient.whatsapp_opt_in and patient.phone)
            order = receivable(clinic, patient, now, opting_in)
            timed = planned_reminders(clinic, patient, appointment.start, appointment.timezone, now, order)
            plan = plan_notice(Kind.CONFIRMATION, notice_channels(clinic, patient, now, order), now, 1) + timed
            reminders = [_reminder(clinic_id, appointment_id, 1, item, now, patient) for item in plan]
            try:
                audited = store.create(appointment, patient_write, reminders, audit)
                return appointment, patient, reminders, audited
            except AlreadyExists as e:
                if e.what == "patient":
                    if attempt + 1 < PATIENT_MATCH_TRIES:
                        continue  # another request stored this patient first: match again, and find it
                    raise Conflict("the patient was stored by another request meanwhile; retry") from e
                if request.external_id is None:
                    raise
                first = self.get(clinic_id, appointment_id)
                differing = _differing(first, appointment, patient)
                if differing:
                    raise Conflict(
                        f"this external_id is already booked with a different {', '.join(differing)}; "
                        f"change that booking with PATCH /v1/appointments/{appointment_id}"
                    ) from None
                return first
        raise AssertionError("unreachable: the last try returns or raises")  # pragma: no cover

    def get(self, clinic_id: str, appointment_id: str) -> AppointmentRecord:
        appointment = self._appointment(clinic_id, appointment_id)
        patient = get_patient(clinic_id, appointment.patient_id)
        return AppointmentRecord(appointment, patient, self._reminders(appointment_id))

    def page_between(
        self, clinic_id: str, start_from: datetime, start_to: datetime, cursor: str | None, limit: int
    ) -> tuple[list[AppointmentRecord], str | None]:
        """One page of the clinic's appointments starting in the window, with their patients (one query and one
        batch read, whatever the page's size; reminders are left out: GET the appointment for them), and the
        cursor of the next page (None after the last)."""
        from chalicelib.store.patients import patients_by_id

        after = read_cursor(cursor, _CURSOR_KEYS, ("clinic_id", clinic_id))
        found, last = store.starting_between_page(clinic_id, to_utc(start_from), to_utc(start_to), after, limit)
        patients = patients_by_id(clinic_id, [a.patient_id for a in found])
        records = [AppointmentRecord(a, patients[a.patient_id], []) for a in found if a.patient_id in patients]
        return records, write_cursor(last)

    def change(
        self,
        clinic_id: str,
        appointment_id: str,
        change: AppointmentChange,
        provider_sequence: int | None = None,
    ) -> AppointmentRecord:
        """Moves or edits an appointment: timers move with it and the patient hears of a new time."""
        return self._change(clinic_id, appointment_id, change, provider_sequence, replanning=False)

    def _change(
        self,
        clinic_id: str,
        appointment_id: str,
        change: AppointmentChange,
        provider_sequence: int | None,
        replanning: bool,
        replanned_for: int | None = None,
    ) -> AppointmentRecord:
        now = self._clock.now()
        appointment = self._appointment(clinic_id, appointment_id)
        if appointment.status != AppointmentStatus.BOOKED:
            raise Conflict(f"the appointment is {appointment.status} and cannot be changed")
        _refuse_older_event(appointment, provider_sequence)
        if not replanning and _changes_nothing(appointment, change):
            # Sending the same change again changes nothing: no new version, so a notice the first one planned
            # is not made stale by its repeats. A booking tool's newer event is still recorded as applied.
            if provider_sequence is not None:
                store.note_provider_sequence(appointment, provider_sequence)
            return self.get(clinic_id, appointment_id)
        patient = get_patient(clinic_id, appointment.patient_id)
        moved = change.start is not None and to_utc(change.start) != appointment.start
        old_version = int(appointment.version)
        version = old_version + 1
        changes: dict[str, object | None] = {"version": version, "updated_at": now}
        if replanned_for is not None:
            changes["replanned_for"] = replanned_for
        if provider_sequence is not None:
            changes["provider_sequence"] = provider_sequence
        if change.start is not None:
            changes["start"] = to_utc(change.start)
        for name in ("duration_minutes", "provider", "location"):
            if name in change.present:
                changes[name] = getattr(change, name)  # None removes it
        start = to_utc(change.start) if change.start is not None else appointment.start
        earlier = {r.reminder_id: r for r in self._reminders(appointment_id)}
        from chalicelib.appointments.reminder_plan import notice_channels, planned_reminders, receivable

        clinic = get_clinic(clinic_id)
        zone = patient.timezone or clinic.timezone  # as at booking; either may have changed since
        if zone != appointment.timezone:
            changes["timezone"] = zone
        order = receivable(clinic, patient, now)  # read once for the reminders and the notice
        timed = planned_reminders(clinic, patient, start, zone, now, order)
        plan = [item for item in timed if not _already_done(item, earlier)]
        if moved:
            plan += plan_notice(Kind.RESCHEDULE_NOTICE, notice_channels(clinic, patient, now, order), now, version)
        reminders = [_reminder(clinic_id, appointment_id, version, item, now, patient) for item in plan]
        # A reminder the new plan no longer has (the clinic changed its schedule) is cancelled, not left waiting.
        planned_ids = {item.reminder_id for item in timed}
        for dropped in earlier.values():
            if (
                dropped.kind == Kind.REMINDER
                and dropped.status == Status.SCHEDULED
                and dropped.reminder_id not in planned_ids
            ):
                reminders.append(
                    replace(dropped, status=Status.CANCELLED.value, reason="no_longer_planned", updated_at=now)
                )
        try:
            store.change(appointment, old_version, changes, reminders)
        except StaleVersion as e:
            # A racing request got there first. If it left the appointment as this one asks, the answer is the
            # same as for a repeat: 200 and the stored appointment.
            current = self._appointment(clinic_id, appointment_id)
            if not replanning and current.status == AppointmentStatus.BOOKED and _changes_nothing(current, change):
                return self.get(clinic_id, appointment_id)
            raise _changed_meanwhile() from e
        self._arm(reminders)
        for reminder in reminders:
            if reminder.status != Status.SCHEDULED:
                self._disarm(reminder)
        self._send_notices(reminders)
        return self.get(clinic_id, appointment_id)

    def replan(self, clinic_id: str, appointment_id: str, settings_version: int | None = None) -> AppointmentRecord:
        """Plans an appointment's future reminders again (its clinic's schedule or its patient's preferences
        changed): a new version, so every timer armed for the old plan finds itself stale.

        With the clinic's `settings_version` (a background re-plan), an appointment already re-planned for that
        version or a later one is left as it is, so a re-plan job that runs twice changes nothing."""
        from chalicelib.appointments.request import AppointmentChange

        if settings_version is not None:
            appointment = self._appointment(clinic_id, appointment_id)
            if int(appointment.replanned_for or 0) >= settings_version:
                return self.get(clinic_id, appointment_id)
        unchanged = AppointmentChange(None, None, None, None, frozenset())
        return self._change(clinic_id, appointment_id, unchanged, None, replanning=True, replanned_for=settings_version)

    def upcoming(self, clinic_id: str, patient_id: str | None = None) -> list[Appointment]:
        """Booked appointments that have not started yet, of one patient record or of the whole clinic."""
        found = store.booked_starting_after(clinic_id, self._clock.now())
        return [a for a in found if patient_id is None or a.patient_id == patient_id]

    def count_upcoming(self, clinic_id: str) -> int:
        """How many booked appointments of the clinic have not started yet (counted, not read one by one)."""
        return store.count_booked_starting_after(clinic_id, self._clock.now())

    def upcoming_page(
        self, clinic_id: str, after: datetime, cursor: str | None, limit: int
    ) -> tuple[list[Appointment], str | None]:
        """One page of the clinic's booked appointments starting after `after`, and the next page's cursor."""
        return store.booked_page(clinic_id, to_utc(after), cursor, limit)

    def confirm(self, clinic_id: str, appointment_id: str, via: str) -> AppointmentRecord:
        """The patient confirmed (by link or reply). Confirming twice keeps the first time."""
        appointment = self._appointment(clinic_id, appointment_id)
        if appointment.status != AppointmentStatus.BOOKED:
            raise Conflict(f"the appointment is {appointment.status} and cannot be confirmed")
        if appointment.confirmed_at is None:
            store.confirm(appointment, self._clock.now(), via)
        return self.get(clinic_id, appointment_id)

    def cancel(
        self, clinic_id: str, appointment_id: str, provider_sequence: int | None = None, via: str = "api"
    ) -> AppointmentRecord:
        """Cancels: every pending reminder is cancelled and disarmed, and the patient is told once.

        Cancelling is idempotent under concurrency too: a cancel that loses a race to another change reads the
        appointment again and tries again (at most `CANCEL_ATTEMPTS` times); one that loses to another cancel
        answers as a repeat does, with the cancelled appointment."""
        for _ in range(CANCEL_ATTEMPTS - 1):
            try:
                return self._cancel(clinic_id, appointment_id, provider_sequence, via)
            except StaleVersion:
                continue
        try:
            return self._cancel(clinic_id, appointment_id, provider_sequence, via)
        except StaleVersion as e:
            raise _changed_meanwhile() from e

    def _cancel(
        self, clinic_id: str, appointment_id: str, provider_sequence: int | None, via: str
    ) -> AppointmentRecord:
        now = self._clock.now()
        appointment = self._appointment(clinic_id, appointment_id)
        if appointment.status == AppointmentStatus.CANCELLED:
            return self.get(clinic_id, appointment_id)
        if appointment.status in (AppointmentStatus.IN_PROGRESS, AppointmentStatus.FULFILLED, AppointmentStatus.NOSHOW):
            # The visit has begun or is over: a cancellation notice now would only confuse the patient.
            raise Conflict(f"the appointment is {appointment.status} and cannot be cancelled")
        _refuse_older_event(appointment, provider_sequence)
        patient = get_patient(clinic_id, appointment.patient_id)
        version = int(appointment.version) + 1
        from chalicelib.appointments.reminder_plan import notice_channels

        channels = notice_channels(get_clinic(clinic_id), patient, now)
        notices = [
            _reminder(clinic_id, appointment_id, version, item, now, patient)
            for item in plan_notice(Kind.CANCELLATION_NOTICE, channels, now, version)
        ]
        # A racing cancel's notice may already be stored (read after its commit): it is the same notice, written
        # once in this transaction, never cancelled as if it were a pending reminder.
        notice_ids = {notice.reminder_id for notice in notices}
        pending = [
            r
            for r in self._reminders(appointment_id)
            if r.status == Status.SCHEDULED and r.reminder_id not in notice_ids
        ]
        pending = [
            replace(reminder, status=Status.CANCELLED.value, reason="appointment_cancelled", updated_at=now)
            for reminder in pending
        ]
        store.cancel(appointment, version - 1, now, via, provider_sequence, pending + notices)
        for reminder in pending:
            self._disarm(reminder)
        self._send_notices(notices)
        return self.get(clinic_id, appointment_id)

    def record_cancelled(
        self, clinic_id: str, request: NewAppointment, source: str, provider_sequence: int
    ) -> AppointmentRecord:
        """Stores a booking a tool cancelled before CareCue heard of it: cancelled, with no reminder and no
        message, so that the create arriving after it finds the booking cancelled and leaves it so."""
        now = self._clock.now()
        patient_write, appointment = _new_records(
            get_clinic(clinic_id), request, source, AppointmentStatus.CANCELLED, now
        )
        appointment = replace(appointment, provider_sequence=provider_sequence)
        try:
            store.create(appointment, patient_write)
        except AlreadyExists as e:
            raise Conflict(f"the {e.what} was stored by another request; read it and try again") from e
        return AppointmentRecord(appointment, patient_write.patient, [], created=True)

    def _appointment(self, clinic_id: str, appointment_id: str) -> Appointment:
        return store.get(clinic_id, appointment_id)  # NotFound("appointment") when there is none

    def _reminders(self, appointment_id: str) -> list[Reminder]:
        return store.reminders_of(appointment_id)

    def _arm(self, reminders: list[Reminder]) -> None:
        for reminder in reminders:
            if reminder.status == Status.SCHEDULED and reminder.kind == Kind.REMINDER:
                self._arm_at(reminder, reminder.send_at)

    def _arm_at(self, reminder: Reminder, fire_at: datetime) -> None:
        timer = Timer.for_reminder(reminder, fire_at)  # with the reminder's contact hint
        try:
            self._timers.arm(timer)
        except TimerError as e:
            logger.error("timer not armed", extra={"reminder": timer.name, "code": e.code})
            count("TimersFailed", channel=reminder.channel)
            store.timer_refused(reminder, self._clock.now())
        else:
            count("RemindersArmed", channel=reminder.channel)

    def _disarm(self, reminder: Reminder) -> None:
        try:
            self._timers.disarm(reminder.owner_id, reminder.reminder_id)
        except TimerError as e:
            # The fire-time re-check makes a stray timer harmless: it finds the reminder is no longer scheduled.
            logger.warning("timer not disarmed", extra={"reminder": reminder.reminder_id, "code": e.code})

    def _send_notices(self, reminders: list[Reminder]) -> dict[str, Outcome | None]:
        """Sends the notices among `reminders` now; each one's outcome by reminder id (None: it raised, and a
        timer retries it)."""
        outcomes: dict[str, Outcome | None] = {}
        for reminder in reminders:
            if reminder.status != Status.SCHEDULED or reminder.kind == Kind.REMINDER:
                continue
            request = DeliveryRequest(
                reminder.clinic_id,
                reminder.owner_id,
                reminder.reminder_id,
                int(reminder.owner_version),
                reminder.send_at,
                reminder.patient_id,  # read with the reminder, as a timer's request reads them
                owner_type=OwnerType.APPOINTMENT,
                contact=reminder.contact,
            )
            outcomes[reminder.reminder_id] = None
            try:
                outcomes[reminder.reminder_id] = self._dispatcher.deliver(request)
            except Exception as e:
                # A channel's transient error, or AWS refusing a write of the send (its claim, say): the same timer
                # path as any reminder retries it, keyed on the same occurrence (its claim says whether it went).
                # Raising would answer a 5xx for a booking that is stored, whose repeat sends no notice.
                if not isinstance(e, TransientSendError):
                    logger.exception("notice not sent", extra={"reminder": reminder.reminder_id})
                self._arm_at(reminder, self._clock.now() + NOTICE_RETRY_DELAY)
        return outcomes


# The patient's timezone decides the appointment's, so comparing the patient's covers both.
_COMPARED_APPOINTMENT = ("start", "duration_minutes", "provider", "location")
_COMPARED_PATIENT = ("name", "phone", "email", "timezone", "language")


_CURSOR_KEYS = {"clinic_id", "appointment_id", "start"}


def _changes_nothing(appointment: Appointment, change: AppointmentChange) -> bool:
    """Whether applying the PATCH would leave every field of the appointment as it is."""
    if change.start is not None and to_utc(change.start) != appointment.start:
        return False
    return all(
        getattr(change, name) == getattr(appointment, name)
        for name in ("duration_minutes", "provider", "location")
        if name in change.present
    )


def _differing(first: AppointmentRecord, appointment: Appointment, patient: Patient) -> list[str]:
    """The request's fields (as the API names them) in which a repeat of a booking differs from the stored one.
    `patient` is the one the repeat matched: the stored booking's own patient (its preferences included) when
    the repeat names the same person, so a true repeat differs in nothing."""
    differing = [
        name for name in _COMPARED_APPOINTMENT if getattr(first.appointment, name) != getattr(appointment, name)
    ]
    differing += [
        f"patient.{name}" for name in _COMPARED_PATIENT if getattr(first.patient, name) != getattr(patient, name)
    ]
    return differing


def _new_records(
    clinic: Clinic, request: NewAppointment, source: str, status: AppointmentStatus, now: datetime
) -> tuple[PatientWrite, Appointment]:
    """The patient (the clinic's patient with this contact and name, else a new one: chalicelib.patients.matching)
    and the appointment items of a new booking, not yet stored."""
    from chalicelib.patients.changes import booking_actor, by_of
    from chalicelib.patients.matching import match_patient

    actor = booking_actor(source)
    patient_write = replace(match_patient(clinic.clinic_id, request.patient, now), changed_by=(by_of(actor), actor))
    patient = patient_write.patient
    appointment = Appointment(
        clinic_id=clinic.clinic_id,
        appointment_id=_appointment_id(clinic.clinic_id, source, request.external_id),
        patient_id=patient.patient_id,
        patient_matched=patient_write.matched,
        start=to_utc(request.start),
        timezone=patient.timezone or clinic.timezone,
        duration_minutes=request.duration_minutes,
        provider=request.provider,
        location=request.location,
        event_type=request.event_type,
        source=source,
        external_id=request.external_id,
        status=status,
        version=1,
        created_at=now,
        updated_at=now,
    )
    return patient_write, appointment


def _appointment_id(clinic_id: str, source: str, external_id: str | None) -> str:
    """Random, or derived from the caller's own id so that sending the same booking twice books it once."""
    if external_id is None:
        return f"apt_{secrets.token_hex(10)}"
    digest = hashlib.sha256(f"{clinic_id}\x1f{source}\x1f{external_id}".encode()).hexdigest()
    return f"apt_{digest[:20]}"


def external_appointment_id(clinic_id: str, source: str, external_id: str) -> str:
    """The appointment id of a booking that `source` knows as `external_id`."""
    return _appointment_id(clinic_id, source, external_id)


def _refuse_older_event(appointment: Appointment, provider_sequence: int | None) -> None:
    """A booking tool's event older than (or the same as) the last one applied must not change the appointment.
    Checked on the same read that the version-conditioned commit guards, so no newer event can slip between."""
    applied = appointment.provider_sequence
    if provider_sequence is not None and applied is not None and provider_sequence <= applied:
        raise Conflict("a newer event from the booking tool has been applied")


def _first_reads(clinic_id: str, request: NewAppointment, now: datetime, with_clinic: bool) -> list[reads.Key]:
    """What a booking reads before it knows anything else, keyed from the request alone: the clinic (unless the
    caller has it), the lookup rows the patient is matched by, the contact record of each address (the plan's
    opt-outs, the confirmation's re-check) and this month's usage (the confirmation's spend cap)."""
    from chalicelib.meter.pricing import billing_month
    from chalicelib.patients.contacts import contact_address
    from chalicelib.patients.matching import addresses, name_key
    from chalicelib.store.patients import lookup_key

    details = request.patient
    keys: list[reads.Key] = [(Clinic, clinic_id, None)] if with_clinic else []
    for _, channel, address in addresses(details.phone, details.email):
        keys.append((PatientKey, clinic_id, lookup_key(channel.value, address, name_key(details.name))))
        keys.append((Contact, clinic_id, contact_address(channel, address)))
    keys.append((Usage, clinic_id, billing_month(now)))
    return keys


def _reminder(
    clinic_id: str, owner_id: str, version: int, item: PlannedReminder, now: datetime, patient: Patient
) -> Reminder:
    return Reminder(
        owner_id=owner_id,
        reminder_id=item.reminder_id,
        clinic_id=clinic_id,
        patient_id=patient.patient_id,
        contact=_contact_key(patient, item.channel),
        kind=item.kind.value,
        channel=item.channel.value,
        send_at=item.send_at,
        status=item.status.value,
        reason=item.reason,
        owner_version=version,
        schedule_name=schedule_name(owner_id, item.reminder_id) if item.needs_timer else None,
        updated_at=now,
    )


def _contact_key(patient: Patient, planned: Channel) -> str | None:
    """The contact key of the address a reminder is planned for, which the reminder and its timer carry as a hint
    so that the fire reads the contact record in its first round trip (`chalicelib.arm.envelope`)."""
    from chalicelib.patients.contacts import contact_address

    channel = Channel(planned)
    address = patient.phone if channel is Channel.SMS else patient.email if channel is Channel.EMAIL else None
    return None if not address else contact_address(channel, address)


def _already_done(item: PlannedReminder, earlier: dict[str, Reminder]) -> bool:
    """A reminder whose time has passed and that was already sent or failed keeps its record."""
    previous = earlier.get(item.reminder_id)
    return item.status is Status.SKIPPED and previous is not None and previous.status in (Status.SENT, Status.FAILED)


def _changed_meanwhile() -> Conflict:
    return Conflict("the appointment was changed by another request; read it and try again")
