"""A dose's life after its timer fires: the dose reminder, the taken link and replies, snooze, the one
follow-up, the caregiver alert and the refill reminder.

A dose timer (cron or chained) carries the regimen id, the instruction and the version (its envelope and reader:
`chalicelib.arm.envelope`; the fire function hands `dose_due` the typed event). When it fires, the
dose is recorded (keyed by regimen and scheduled time), and each message about it becomes an ordinary
`Reminder` of owner type `regimen` sent through the `Dispatcher`: its delivery claim, keyed by reminder id and
scheduled time, makes a duplicate fire a no-op, and opt-outs, spend caps and metering apply as to any reminder.
Dose messages are notices in the dispatcher's terms (not `Kind.REMINDER`): the patient chose the dose times, so
quiet hours and frequency caps do not hold them back; opt-outs do. The follow-up and the caregiver alert are
one-time timers armed with the dose; each checks at fire time that the dose is still not taken.

Each goes on the patient's channel as an appointment message does (`chalicelib.fire.chat_route`): by WhatsApp or
Messenger as the clinic's `dose` / `follow-up` template (filled with the dose's day and time, the taken link, the
clinic's phone; never the medication's name) or inside the 24-hour window as the SMS words, else by SMS; the
caregiver's alert to the caregiver's own number (`caregiver` template, naming the patient's first name), by
WhatsApp only when that number opted in. The replies 1 and SNOOZE work on WhatsApp and Messenger as by SMS.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from chalicelib.arm.envelope import DoseTimerEvent, OwnerType
from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.clock import Clock, iso_utc, to_utc
from chalicelib.core.errors import AlreadyExists, StaleVersion
from chalicelib.core.observability import logger
from chalicelib.core.records import Clinic, Dose, Patient, Regimen, Reminder
from chalicelib.core.timezones import local_time
from chalicelib.core.words import Channel, DoseStatus, RegimenStatus, Result, Status
from chalicelib.fire.dispatch import DeliveryRequest, Outcome
from chalicelib.fire.preparation import NotSending, Ready
from chalicelib.regimens.dose_links import DoseClaim, can_link, sign_dose
from chalicelib.regimens.messages import DoseFacts, DoseKind, caregiver_name, dose_message
from chalicelib.regimens.service import RegimenTimers, instruction_start, instructions_of
from chalicelib.regimens.timing import DoseTiming, dose_times
from chalicelib.render.localized import language_of
from chalicelib.render.templates import Message
from chalicelib.store import clinics, regimens
from chalicelib.store.patients import get_patient

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.arm.timers import ReminderTimers
    from chalicelib.fire.dispatch import Dispatcher
    from chalicelib.links.service import LinkSigner
    from chalicelib.render.whatsapp import TemplateFacts
    from chalicelib.store.reads import Key

MAX_SNOOZES = 3
OPEN_DOSE_WINDOW = timedelta(hours=12)  # a "1" reply answers the latest dose reminded in this window


DoseEvent = DoseTimerEvent  # a dose timer's event, as `chalicelib.arm.envelope` reads it


def _is_planned(timing: DoseTiming, regimen: Regimen, due: datetime) -> bool:
    """Whether `due` is one of the instruction's doses (within its bounds and count), to the minute."""
    minute = due.replace(second=0, microsecond=0)
    planned = dose_times(timing, regimen.timezone, instruction_start(timing, regimen), after=minute, limit=1)
    return bool(planned) and planned[0].replace(second=0, microsecond=0) == minute


def stamp(due: datetime) -> str:
    return f"{to_utc(due):%Y%m%d%H%M}"


def due_of(reminder_id: str) -> datetime:
    """The dose time in a reminder id such as `follow-202703140800.sms`: for the follow-up, caregiver and snooze
    timers armed before their envelope carried `dose_time` (one release), and for a fallback
    (`Dispatcher.fall_back`), whose status event names only the delivery (reminder key and occurrence)."""
    part = reminder_id.split(".", 1)[0].split("-")[1]
    return datetime.strptime(part, "%Y%m%d%H%M").replace(tzinfo=UTC)


class RegimenMessages:
    """The dispatcher's owner for `regimen` reminders: re-check the regimen and the dose, and word the message."""

    def __init__(self, links: LinkSigner | None, public_url: str) -> None:
        self._links = links
        self._public_url = public_url.rstrip("/")

    def first_reads(self, request: DeliveryRequest) -> list[Key]:
        return []  # a dose's send follows `dose_due`, which has just read the regimen itself

    def prepare(self, request: DeliveryRequest, reminder: Reminder) -> Ready | NotSending:
        regimen = regimens.find(request.clinic_id, request.owner_id)
        if regimen is None:
            return NotSending(Result.STALE, "regimen_gone")
        if regimen.version != request.version:
            return NotSending(Result.STALE, "regimen_changed")
        if regimen.status != RegimenStatus.ACTIVE:
            return NotSending(Result.SKIPPED, f"regimen_{regimen.status}", Status.CANCELLED)
        kind = DoseKind(reminder.kind)
        due = request.dose_time if request.dose_time is not None else due_of(reminder.reminder_id)
        to_caregiver = reminder.kind == DoseKind.CAREGIVER.value
        if reminder.kind != DoseKind.DOSE.value and reminder.kind != DoseKind.REFILL.value:
            dose = regimens.find_dose(regimen.regimen_id, iso_utc(due))
            if dose is None:
                return NotSending(Result.SKIPPED, "dose_unknown", Status.SKIPPED)
            if dose.taken_at is not None:
                return NotSending(Result.SKIPPED, "dose_taken", Status.CANCELLED)
        clinic = clinics.get_clinic(request.clinic_id)
        patient = get_patient(request.clinic_id, regimen.patient_id)
        channel = Channel(reminder.channel)
        address: str | None
        if to_caregiver:
            address = regimen.caregiver_phone if channel is Channel.SMS else regimen.caregiver_email
        else:
            address = patient.phone if channel is Channel.SMS else patient.email
        if not address:
            return NotSending(Result.SKIPPED, "no_contact", Status.SKIPPED)
        link = cache(partial(self._link, regimen, due)) if not to_caregiver else _no_link
        words = partial(self._words, kind, clinic, patient, regimen, due, channel, to_caregiver, link)
        name = caregiver_name(regimen.caregiver_first_name, language_of(patient.language)) if to_caregiver else None
        facts = partial(_template_facts, clinic, regimen, due, link, name)
        # A caregiver's alert goes to the caregiver's own phone: on WhatsApp only if that number opted in
        # (`chalicelib.fire.chat_route`), in the clinic's channel order.
        return Ready(clinic, patient, channel, address, words, None, regimen.timezone, facts, not to_caregiver)

    def _words(
        self,
        kind: DoseKind,
        clinic: Clinic,
        patient: Patient,
        regimen: Regimen,
        due: datetime,
        channel: Channel,
        to_caregiver: bool,
        link: Callable[[], str | None],
    ) -> Message:
        """The message, worded only once the dispatcher has claimed its send."""
        settings = clinic_policy(clinic).medication
        named = settings.names_in_sms
        facts = DoseFacts(
            clinic.name,
            local_time(due, regimen.timezone),
            regimen.medication if named else None,
            regimen.dose_text if named else None,
            link(),
            int(settings.snooze.total_seconds() // 60),
            first_name=regimen.caregiver_first_name,
            days_left=settings.refill_days,
        )
        # The caregiver reads the patient's language too: a regimen records no language for the caregiver.
        return dose_message(kind, facts, language_of(patient.language), channel)

    def _link(self, regimen: Regimen, due: datetime) -> str | None:
        if self._links is None or not self._public_url or not can_link(regimen.clinic_id, regimen.regimen_id):
            return None
        token = sign_dose(DoseClaim(regimen.clinic_id, regimen.regimen_id, due), self._links.key())
        return f"{self._public_url}/d/{token}"


def _no_link() -> str | None:
    return None  # a caregiver's alert carries no taken link: the caregiver does not take the dose


def _template_facts(
    clinic: Clinic, regimen: Regimen, due: datetime, link: Callable[[], str | None], name: str | None
) -> TemplateFacts:
    """What a clinic's WhatsApp or Messenger template for a dose message is filled with (`chalicelib.fire.chat_route`):
    the clinic, the dose's day and time in the regimen's zone, its taken link (not on a caregiver's alert), the
    clinic's phone and, for the caregiver, whom the alert is about. Never the medication's name: a template is
    approved once for every patient, and names are the clinic's choice per SMS."""
    from chalicelib.render.whatsapp import TemplateFacts

    phone = clinic_policy(clinic).contact_phone
    return TemplateFacts(clinic.name, local_time(due, regimen.timezone), link=link(), phone=phone, name=name)


class RegimenDoses:
    def __init__(
        self, clock: Clock, timers: ReminderTimers, dispatcher: Dispatcher, regimen_timers: RegimenTimers
    ) -> None:
        self._clock = clock
        self._timers = timers
        self._regimen_timers = regimen_timers
        self._dispatcher = dispatcher

    def dose_due(self, event: DoseEvent) -> dict[str, Any]:
        """A dose timer fired: record the dose, remind the patient, arm the follow-up (and the next link)."""
        regimen = regimens.find(event.clinic_id, event.regimen_id)
        if regimen is None:
            return self._log(event, Result.STALE, "regimen_gone")
        if regimen.version != event.version or regimen.status != RegimenStatus.ACTIVE:
            return self._log(event, Result.STALE, "regimen_changed")
        instructions = instructions_of(regimen)
        if not 0 <= event.instruction < len(instructions):
            return self._log(event, Result.STALE, "instruction_gone")
        timing = instructions[event.instruction]
        due = event.scheduled_time
        if not _is_planned(timing, regimen, due):
            # The timer is trusted for nothing: a cron armed from "now" (its start already passed on the real
            # clock, see scheduling.timers) or edited by hand may wake outside the instruction's own doses.
            return self._log(event, Result.STALE, "not_a_planned_dose")
        if timing.chained:
            following = dose_times(
                timing, regimen.timezone, instruction_start(timing, regimen), after=due + timedelta(minutes=1), limit=1
            )
            if following:
                link = self._regimen_timers.arm_link(regimen, event.instruction, following[0])
                self._note_link(regimen, event.instruction, link.name)
        now = self._clock.now()
        channel = Channel.SMS if get_patient(regimen.clinic_id, regimen.patient_id).phone else Channel.EMAIL
        self._record_dose(regimen, due, now)
        outcome = self._send(regimen, DoseKind.DOSE, due, due, channel, now)
        if outcome.result == Result.SKIPPED:
            regimens.mark_skipped(regimen.regimen_id, iso_utc(due), outcome.reason or "not_sent")
        elif outcome.result == Result.SENT:
            self._arm_follow_ups(regimen, due, channel, now)
            self._maybe_refill(regimen, timing, due, channel, now)
        elif outcome.reason == "already_sent":
            # Scheduler's retry of a dose whose first fire sent the reminder and then failed (Scheduler refused the
            # follow-up's timer): the follow-ups are armed again (the same names: an update, never a second one).
            self._arm_follow_ups(regimen, due, channel, now)
        return self._log(event, outcome.result, outcome.reason)

    def _note_link(self, regimen: Regimen, index: int, name: str) -> None:
        """Keeps the regimen's list of armed timers current as a chain moves on, so a pause disarms the next link."""
        prefix = f"{regimen.regimen_id}.i{index}."
        names = [n for n in regimen.timers or [] if not n.startswith(prefix)] + [name]
        try:
            regimens.set_timers_if_version(regimen, names)
        except StaleVersion:
            self._timers.disarm_named(name)  # paused or stopped meanwhile: the link just armed must not stay

    def taken(self, clinic_id: str, regimen_id: str, due: datetime, via: str) -> Dose | None:
        """Marks a dose taken; taking it twice keeps the first time. None when there is no such dose."""
        now = self._clock.now()
        dose = regimens.find_dose(regimen_id, iso_utc(due))
        if dose is None or dose.clinic_id != clinic_id:
            return None
        if dose.taken_at is None:
            regimens.record_taken(dose, now, via)
            logger.info("dose taken", extra={"regimen_id": regimen_id, "due": iso_utc(due), "via": via})
        return dose

    def snooze(self, dose: Dose) -> datetime | None:
        """Re-reminds after the clinic's snooze delay; None when the dose has been snoozed enough."""
        if dose.taken_at is not None or int(dose.snoozes) >= MAX_SNOOZES:
            return None
        regimen = regimens.get_existing(dose.clinic_id, dose.regimen_id)
        settings = clinic_policy(clinics.get_clinic(dose.clinic_id)).medication
        now = self._clock.now()
        number = int(dose.snoozes) + 1
        regimens.set_snoozes(dose, number)
        due = datetime.fromisoformat(dose.due_at)
        channel = Channel.SMS if get_patient(regimen.clinic_id, regimen.patient_id).phone else Channel.EMAIL
        at = now + settings.snooze
        self._arm(regimen, f"snooze{number}-{stamp(due)}.{channel.value}", DoseKind.SNOOZE, at, channel, now, due)
        return at

    def open_dose(self, patients: list[Patient], now: datetime) -> Dose | None:
        """The patient's latest dose reminded in the last 12 hours and not yet taken (what a "1" reply means)."""
        found: list[Dose] = []
        for patient in patients:
            for regimen in regimens.regimens_of_patient(patient.clinic_id, patient.patient_id):
                found.extend(regimens.open_doses(regimen.regimen_id, iso_utc(now - OPEN_DOSE_WINDOW), iso_utc(now)))
        return max(found, key=lambda d: d.due_at, default=None)

    def _record_dose(self, regimen: Regimen, due: datetime, now: datetime) -> None:
        dose = Dose(
            regimen_id=regimen.regimen_id,
            due_at=iso_utc(due),
            clinic_id=regimen.clinic_id,
            patient_id=regimen.patient_id,
            timezone=regimen.timezone,
            status=DoseStatus.REMINDED,
            created_at=now,
        )
        try:
            regimens.record_dose(dose)
        except AlreadyExists:
            pass  # a duplicate fire: the dose is recorded already

    def _send(
        self, regimen: Regimen, kind: DoseKind, due: datetime, at: datetime, channel: Channel, now: datetime
    ) -> Outcome:
        reminder_id = f"{kind.value.split('_')[0]}-{stamp(due)}.{channel.value}"
        self._reminder(regimen, reminder_id, kind, at, channel, now)
        request = DeliveryRequest(
            regimen.clinic_id,
            regimen.regimen_id,
            reminder_id,
            int(regimen.version),
            at,
            owner_type=OwnerType.REGIMEN,
            dose_time=due,
        )
        return self._dispatcher.deliver(request)

    def _arm_follow_ups(self, regimen: Regimen, due: datetime, channel: Channel, now: datetime) -> None:
        settings = clinic_policy(clinics.get_clinic(regimen.clinic_id)).medication
        follow_up = f"follow-{stamp(due)}.{channel.value}"
        self._arm(regimen, follow_up, DoseKind.FOLLOW_UP, due + settings.follow_up, channel, now, due)
        carer = Channel.SMS if regimen.caregiver_phone else Channel.EMAIL if regimen.caregiver_email else None
        if carer is not None:
            at = due + settings.caregiver_after
            self._arm(regimen, f"carer-{stamp(due)}.{carer.value}", DoseKind.CAREGIVER, at, carer, now, due)

    def _maybe_refill(
        self, regimen: Regimen, timing: DoseTiming, due: datetime, channel: Channel, now: datetime
    ) -> None:
        """With a supply, one refill reminder when the doses left fall to those of the clinic's refill days."""
        if regimen.supply is None or regimen.refill_notice_at is not None:
            return
        settings = clinic_policy(clinics.get_clinic(regimen.clinic_id)).medication
        given = regimens.dose_count(regimen.regimen_id)
        left = int(regimen.supply) - given
        start = instruction_start(timing, regimen)
        horizon = due + timedelta(days=settings.refill_days)
        coming = [
            d
            for d in dose_times(timing, regimen.timezone, start, after=due + timedelta(minutes=1), limit=100)
            if d <= horizon
        ]
        if left > len(coming):
            return
        regimens.set_refill_notice(regimen, now)
        self._send(regimen, DoseKind.REFILL, due, due, channel, now)

    def _arm(
        self,
        regimen: Regimen,
        reminder_id: str,
        kind: DoseKind,
        at: datetime,
        channel: Channel,
        now: datetime,
        due: datetime,
    ) -> None:
        from chalicelib.arm.timers import Timer

        reminder = self._reminder(regimen, reminder_id, kind, at, channel, now)
        version = int(regimen.version)
        timer = Timer(
            regimen.clinic_id, regimen.regimen_id, reminder_id, version, at, owner_type=OwnerType.REGIMEN, dose_time=due
        )
        if reminder is not None:
            regimens.set_schedule_name(reminder, timer.name)
        self._timers.arm(timer)

    def _reminder(
        self, regimen: Regimen, reminder_id: str, kind: DoseKind, at: datetime, channel: Channel, now: datetime
    ) -> Reminder | None:
        reminder = Reminder(
            owner_id=regimen.regimen_id,
            reminder_id=reminder_id,
            owner_type="regimen",
            clinic_id=regimen.clinic_id,
            kind=kind.value,
            channel=channel.value,
            send_at=at,
            status=Status.SCHEDULED.value,
            owner_version=int(regimen.version),
            updated_at=now,
        )
        try:
            regimens.create_reminder(reminder)
        except AlreadyExists:
            return None  # a duplicate fire: the first one's reminder (and its claim) decide
        return reminder

    def _log(self, event: DoseEvent, result: Result, reason: str | None) -> dict[str, Any]:
        logger.info(
            "dose timer",
            extra={
                "clinic_id": event.clinic_id,
                "regimen_id": event.regimen_id,
                "occurrence": iso_utc(event.scheduled_time),
                "result": result,
                "reason": reason,
            },
        )
        return {"result": result, "reason": reason}
