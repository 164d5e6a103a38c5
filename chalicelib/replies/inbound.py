"""Two-way SMS: what CareCue does with a patient's reply, delivered by AWS End User Messaging to an SNS topic.

STOP (and STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) opts the number out of SMS at every clinic that has it on
file (they all text from the same sender, so the carrier-level STOP covers them all) and is answered once;
START or UNSTOP opts back in; HELP answers with the clinic's name and contact; C, YES or CONFIRM confirms the
patient's next appointment. PARAR and ALTO also mean STOP, AYUDA HELP, POSPONER and تأجيل SNOOZE (see
`keywords`). Answers are in the language of the patients with the number (`answers.reply_language`).
Anything else is a message to the clinic: it goes to the clinic's inbox (`chalicelib.inbox`), in the thread of the
patient with the number (the one whose next appointment it is, else the clinic's first), and is answered at
most once a day with when the clinic replies and whom to call if it is urgent (so that an auto-responder on the
other end cannot start a loop). A number no patient of the clinic has (a stranger writing to the clinic's
WhatsApp number or Page) has no thread: it gets the help text at most once a day, as before. Each inbound
message is handled once: SNS can deliver it twice, and its id is claimed
first. Every answer is metered to the clinic it speaks for (`chalicelib.meter.sender`); at the clinic's spend
cap only the STOP and HELP answers, which the carriers require, still go (counted all the same).

The same words answer a WhatsApp message (`chalicelib.replies.whatsapp`): an `InboundSms` with `channel`
WhatsApp is scoped to the clinic whose WhatsApp number it was sent to, answered by WhatsApp (the patient just
opened the 24-hour window), and its STOP and START change the WhatsApp opt-out only. A Messenger message
(`chalicelib.replies.messenger`) is the same, by the clinic's Page, to and by the patient's page-scoped id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.clock import Clock
from chalicelib.core.errors import ChannelError, Conflict, InvalidRequest
from chalicelib.core.json_input import load_json
from chalicelib.core.observability import count, logger
from chalicelib.core.records import Clinic, Dose, Patient
from chalicelib.core.timezones import local_time
from chalicelib.core.words import Channel, ReplyOutcome
from chalicelib.patients.contacts import find_contact, note_help_replied, opt_in, opt_out
from chalicelib.render.gsm7 import sanitise
from chalicelib.render.localized import day_and_time
from chalicelib.render.templates import Message
from chalicelib.replies.answers import Answer, answer_text, contact_text, inbox_answer, reply_language
from chalicelib.replies.keywords import Intent, intent_of
from chalicelib.store import appointments as appointment_store
from chalicelib.store import clinics as clinic_store
from chalicelib.store import patients as patient_store
from chalicelib.store.appointments import PatientAppointment
from chalicelib.visits.day import local_day

if TYPE_CHECKING:
    from chalicelib.appointments.service import AppointmentService
    from chalicelib.inbox.service import Inbox
    from chalicelib.meter.sender import MeteredSender
    from chalicelib.regimens.doses import RegimenDoses
    from chalicelib.visits.service import VisitService

HELP_REPEAT_AFTER = timedelta(days=1)
# HERE checks in a patient who arrives late too: an appointment that started up to this long ago still counts.
LATE_CHECK_IN = timedelta(hours=2)
_RETENTION = timedelta(days=30)


class BadInboundSms(ValueError):
    """Not an End User Messaging inbound SMS; retrying cannot fix it."""


class InboundSms(Struct, frozen=True):
    message_id: str
    from_phone: str
    to_phone: str | None
    body: str
    channel: Channel = Channel.SMS
    clinic_id: str | None = None  # a WhatsApp or Messenger message's clinic (the owner of the number or Page)
    # Messenger: the patient's page-scoped id, where the answer goes and what its opt-out is kept by; `from_phone`
    # is then the linked patient's phone ("" for a PSID linked to no patient), by which their appointments are found.
    reply_to: str | None = None

    @property
    def address(self) -> str:
        """Where the patient wrote from on the message's channel: the PSID on Messenger, else the phone."""
        return self.reply_to if self.reply_to is not None else self.from_phone


def parse_inbound(message: str) -> InboundSms:
    """The SNS message End User Messaging publishes: JSON with originationNumber, messageBody and an id."""
    try:
        data: Any = load_json(message)
        sender, body, message_id = data["originationNumber"], data["messageBody"], data["inboundMessageId"]
    except (InvalidRequest, TypeError, KeyError) as e:
        raise BadInboundSms(type(e).__name__) from e
    if not all(isinstance(value, str) for value in (sender, body, message_id)) or not sender or not message_id:
        raise BadInboundSms("originationNumber, messageBody and inboundMessageId must be text")
    to = data.get("destinationNumber")
    return InboundSms(message_id, sender.strip(), to if isinstance(to, str) else None, body)


class SmsReplies:
    def __init__(
        self,
        clock: Clock,
        sender: MeteredSender,
        appointments: AppointmentService,
        doses: RegimenDoses | None = None,
        visits: VisitService | None = None,
        inbox: Inbox | None = None,
    ) -> None:
        self._clock = clock
        self._sender = sender  # every answer is metered; the spend cap holds back all but STOP and HELP
        self._appointments = appointments
        self._doses = doses  # "1", "T", "TAKEN" and "SNOOZE" answer a dose reminder
        self._visits = visits  # "HERE" checks the patient in
        self._inbox = inbox  # anything that is not a keyword goes to the clinic's inbox

    def handle(self, inbound: InboundSms) -> str | None:
        """Acts on one inbound SMS and sends at most one reply; returns the outcome (for the log and tests)."""
        if not self._claim(inbound):
            return self._log(inbound, Intent.OTHER, ReplyOutcome.DUPLICATE)
        intent = intent_of(inbound.body)
        patients = self._patients(inbound)
        clinics = [clinic_store.get_clinic(clinic_id) for clinic_id in dict.fromkeys(p.clinic_id for p in patients)]
        if inbound.clinic_id is not None and not clinics:
            # A WhatsApp message is to one clinic's own number: a stranger writing there is that clinic's to answer.
            clinics = [clinic_store.get_clinic(inbound.clinic_id)]
        now = self._clock.now()
        language = reply_language(p.language for p in patients)
        if intent is Intent.STOP:
            for each in clinics:
                opt_out(each.clinic_id, inbound.channel, inbound.address, f"{inbound.channel.value}_reply", now)
            names = ", ".join(each.name for each in clinics) or "CareCue"
            text = answer_text(Answer.STOPPED, language, names=names)
            self._reply(inbound, _first(clinics), text, required_by_carrier=True)
            return self._log(inbound, intent, ReplyOutcome.OPTED_OUT)
        if intent is Intent.START:
            for each in clinics:
                opt_in(each.clinic_id, inbound.channel, inbound.address)
            names = ", ".join(each.name for each in clinics) or "CareCue"
            self._reply(inbound, _first(clinics), answer_text(Answer.STARTED, language, names=names))
            return self._log(inbound, intent, ReplyOutcome.OPTED_IN)
        if intent in (Intent.TAKEN, Intent.SNOOZE) and self._doses is not None:
            dose = self._doses.open_dose(patients, now)
            if dose is not None:
                return self._dose_reply(inbound, intent, dose, clinics, language)
            # No dose to answer: treated as any other text (help once a day, nothing to unknown numbers).
        if intent is Intent.HERE and self._visits is not None:
            return self._check_in(inbound, patients, clinics, now, language)  # today's, not the next, appointment
        upcoming = self._next_appointment(patients, now)
        clinic = _clinic_of(upcoming, clinics)
        if intent is Intent.HELP:
            self._reply(inbound, clinic, _help_text(clinic, language), required_by_carrier=True)
            return self._log(inbound, intent, ReplyOutcome.HELPED)
        if intent is Intent.CONFIRM:
            return self._confirm(inbound, upcoming, clinic, language)
        patient = _patient_of(upcoming, clinic, patients)
        if self._inbox is not None and clinic is not None and patient is not None:
            return self._to_inbox(inbound, clinic, patient, language)
        return self._answer_once(inbound, clinic, now, language)

    def _to_inbox(self, inbound: InboundSms, clinic: Clinic, patient: Patient, language: str) -> str:
        """The message goes in the patient's thread; the day's automatic answer follows, unless the patient
        stopped this channel. The message is stored first: if that fails, the claim on the inbound message is
        given back and the error raised, so the channel's retry stores it."""
        assert self._inbox is not None
        try:
            answer_due = self._inbox.receive(
                clinic, patient.patient_id, inbound.channel, inbound.address, inbound.body, inbound.message_id
            )
        except Exception:
            patient_store.release_inbound_sms(inbound.message_id)
            logger.error("inbound message not stored, released for a retry", extra={"inbound_id": inbound.message_id})
            raise
        contact = find_contact(clinic.clinic_id, inbound.channel, inbound.address)
        if not answer_due or (contact is not None and contact.opted_out_at is not None):
            return self._log(inbound, Intent.OTHER, ReplyOutcome.IN_INBOX_ANSWERED, clinic_id=clinic.clinic_id)
        policy = clinic_policy(clinic)
        urgent = policy.inbox.urgent_phone or policy.contact_phone
        hours = policy.opening_hours
        text = inbox_answer(language, clinic.name, policy.inbox.hours, hours.open, hours.close, urgent)
        self._reply(inbound, clinic, text)
        return self._log(inbound, Intent.OTHER, ReplyOutcome.IN_INBOX, clinic_id=clinic.clinic_id)

    def _check_in(
        self, inbound: InboundSms, patients: list[Patient], clinics: list[Clinic], now: datetime, language: str
    ) -> str:
        """HERE: the patient's appointment today is checked in as the front desk would, recorded by the channel
        the reply came on (`checked_in_by: sms`, `whatsapp`, `messenger`), and the wait-time text follows from the
        waiting room, on that channel; before the clinic's check-in window opens, the patient is told when it
        does."""
        assert self._visits is not None
        today = self._today_appointment(patients, now)
        clinic = _clinic_of(today, clinics)
        if today is None or clinic is None:
            self._reply(inbound, _first(clinics), answer_text(Answer.NOTHING_TO_CHECK_IN, language))
            return self._log(inbound, Intent.HERE, ReplyOutcome.NOTHING_TO_CHECK_IN)
        opens = today.start - timedelta(minutes=clinic_policy(clinic).check_in_window_minutes)
        if now < opens:
            local = local_time(opens, today.timezone)
            when = day_and_time(local_time(today.start, today.timezone), language)
            text = answer_text(Answer.CHECK_IN_OPENS, language, clinic=clinic.name, when=when, local_at=local)
            self._reply(inbound, clinic, text)
            return self._log(inbound, Intent.HERE, ReplyOutcome.CHECK_IN_NOT_OPEN)
        try:
            self._visits.check_in(today.clinic_id, today.appointment_id, source=inbound.channel.value)
        except Conflict:
            self._reply(inbound, clinic, answer_text(Answer.NOTHING_TO_CHECK_IN, language))
            return self._log(inbound, Intent.HERE, ReplyOutcome.NOTHING_TO_CHECK_IN)
        return self._log(inbound, Intent.HERE, ReplyOutcome.CHECKED_IN, appointment_id=today.appointment_id)

    def _today_appointment(self, patients: list[Patient], now: datetime) -> PatientAppointment | None:
        """The number's booked appointment on today's local date (late arrivals included), the earliest. Read by
        patient (`by-patient`): each patient's booked appointments from `LATE_CHECK_IN` ago to a day ahead (the
        end of today in any zone), never the clinic's."""
        candidates = [
            appointment
            for p in patients
            for appointment in appointment_store.booked_of_patient(
                p.clinic_id, p.patient_id, now - LATE_CHECK_IN, now + timedelta(days=1), appointment_store.PATIENT_PAGE
            )
            if local_day(appointment.start, appointment.timezone) == local_day(now, appointment.timezone)
        ]
        return min(candidates, key=lambda a: a.start, default=None)

    def _confirm(
        self, inbound: InboundSms, upcoming: PatientAppointment | None, clinic: Clinic | None, language: str
    ) -> str:
        if upcoming is None or clinic is None:
            self._reply(inbound, clinic, answer_text(Answer.NOTHING_TO_CONFIRM, language))
            return self._log(inbound, Intent.CONFIRM, ReplyOutcome.NOTHING_TO_CONFIRM)
        try:
            self._appointments.confirm(upcoming.clinic_id, upcoming.appointment_id, via=inbound.channel.value)
        except Conflict:
            text = answer_text(Answer.NOT_CONFIRMABLE, language, clinic=clinic.name, contact=_contact(clinic, language))
            self._reply(inbound, clinic, text)
            return self._log(inbound, Intent.CONFIRM, ReplyOutcome.NOT_CONFIRMABLE)
        when = day_and_time(local_time(upcoming.start, upcoming.timezone), language)
        self._reply(inbound, clinic, answer_text(Answer.CONFIRMED, language, clinic=clinic.name, when=when))
        return self._log(inbound, Intent.CONFIRM, ReplyOutcome.CONFIRMED, appointment_id=upcoming.appointment_id)

    def _dose_reply(self, inbound: InboundSms, intent: Intent, dose: Dose, clinics: list[Clinic], language: str) -> str:
        assert self._doses is not None
        clinic = next((c for c in clinics if c.clinic_id == dose.clinic_id), None)
        name = clinic.name if clinic is not None else "CareCue"
        due = datetime.fromisoformat(dose.due_at)
        local_due = local_time(due, dose.timezone)
        if intent is Intent.TAKEN:
            self._doses.taken(dose.clinic_id, dose.regimen_id, due, via=inbound.channel.value)
            self._reply(inbound, clinic, answer_text(Answer.DOSE_TAKEN, language, clinic=name, local_at=local_due))
            return self._log(inbound, intent, ReplyOutcome.DOSE_TAKEN, regimen_id=dose.regimen_id)
        until = self._doses.snooze(dose)
        if until is None:
            self._reply(inbound, clinic, answer_text(Answer.SNOOZE_REFUSED, language, clinic=name, local_at=local_due))
            return self._log(inbound, intent, ReplyOutcome.SNOOZE_REFUSED, regimen_id=dose.regimen_id)
        local_until = local_time(until, dose.timezone)
        self._reply(inbound, clinic, answer_text(Answer.SNOOZED, language, clinic=name, local_at=local_until))
        return self._log(inbound, intent, ReplyOutcome.DOSE_SNOOZED, regimen_id=dose.regimen_id)

    def _answer_once(self, inbound: InboundSms, clinic: Clinic | None, now: datetime, language: str) -> str:
        if clinic is None:
            return self._log(inbound, Intent.OTHER, ReplyOutcome.UNKNOWN_NUMBER)
        contact = find_contact(clinic.clinic_id, inbound.channel, inbound.address)
        if contact is not None and contact.opted_out_at is not None:
            return self._log(inbound, Intent.OTHER, ReplyOutcome.OPTED_OUT_NO_REPLY)
        if contact is not None and contact.help_replied_at and now - contact.help_replied_at < HELP_REPEAT_AFTER:
            return self._log(inbound, Intent.OTHER, ReplyOutcome.ALREADY_ANSWERED)
        note_help_replied(clinic.clinic_id, inbound.address, now, inbound.channel)
        self._reply(inbound, clinic, _help_text(clinic, language))
        return self._log(inbound, Intent.OTHER, ReplyOutcome.ANSWERED_WITH_HELP)

    def _patients(self, inbound: InboundSms) -> list[Patient]:
        if not inbound.from_phone:
            return []  # a Messenger user linked to no patient
        patients = patient_store.patients_with_phone(inbound.from_phone)
        if inbound.clinic_id is None:
            return patients
        return [p for p in patients if p.clinic_id == inbound.clinic_id]

    def _next_appointment(self, patients: list[Patient], now: datetime) -> PatientAppointment | None:
        """The number's next booked appointment: each patient's first (`by-patient`), the earliest of those."""
        candidates = [
            appointment
            for p in patients
            for appointment in appointment_store.booked_of_patient(p.clinic_id, p.patient_id, now)
        ]
        return min(candidates, key=lambda a: a.start, default=None)

    def _claim(self, inbound: InboundSms) -> bool:
        return patient_store.claim_inbound_sms(inbound.message_id, inbound.channel.value, self._clock.now(), _RETENTION)

    def _reply(
        self, inbound: InboundSms, clinic: Clinic | None, text: str, *, required_by_carrier: bool = False
    ) -> None:
        """Answers through the metered path, counted to `clinic`; the spend cap holds back all but STOP and HELP."""
        try:
            if inbound.channel in (Channel.WHATSAPP, Channel.MESSENGER):
                sent = self._sender.send(
                    clinic,
                    inbound.channel,
                    inbound.address,
                    Message(None, text),
                    required_by_carrier=required_by_carrier,
                )
            else:
                sent = self._sender.send_sms(
                    clinic, inbound.from_phone, sanitise(text), required_by_carrier=required_by_carrier
                )
        except ChannelError as e:
            logger.warning("sms reply not sent", extra={"inbound_id": inbound.message_id, "code": e.code})
            return
        if sent is None:
            logger.info("sms reply not sent", extra={"inbound_id": inbound.message_id, "reason": "spend_cap"})
            return
        count("SmsRepliesSent", channel=inbound.channel.value)

    def _log(self, inbound: InboundSms, intent: Intent, outcome: ReplyOutcome, **extra: object) -> ReplyOutcome:
        logger.info(
            "inbound sms", extra={"inbound_id": inbound.message_id, "intent": intent.value, "outcome": outcome, **extra}
        )
        return outcome


def _patient_of(
    appointment: PatientAppointment | None, clinic: Clinic | None, patients: list[Patient]
) -> Patient | None:
    """Whose thread a message goes in: the patient of the number's next appointment at the clinic, else the
    clinic's first patient with the number (a family sharing a phone writes into one thread)."""
    if clinic is None:
        return None
    at_clinic = [p for p in patients if p.clinic_id == clinic.clinic_id]
    if appointment is not None:
        found = next((p for p in at_clinic if p.patient_id == appointment.patient_id), None)
        if found is not None:
            return found
    return at_clinic[0] if at_clinic else None


def _first(clinics: list[Clinic]) -> Clinic | None:
    """The clinic a STOP or START answer is counted to: every clinic with the number is answered in one text."""
    return clinics[0] if clinics else None


def _clinic_of(appointment: PatientAppointment | None, clinics: list[Clinic]) -> Clinic | None:
    if appointment is not None:
        return next((c for c in clinics if c.clinic_id == appointment.clinic_id), None)
    return clinics[0] if clinics else None


def _contact(clinic: Clinic, language: str) -> str:
    policy = clinic_policy(clinic)
    return contact_text(language, policy.contact_phone, policy.booking_url)


def _help_text(clinic: Clinic | None, language: str) -> str:
    if clinic is None:
        return answer_text(Answer.HELP_UNKNOWN, language)
    return answer_text(Answer.HELP, language, clinic=clinic.name, contact=_contact(clinic, language))
