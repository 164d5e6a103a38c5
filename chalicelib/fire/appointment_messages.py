"""The appointment side of a send: reload the appointment, re-check it, and word the message.

The pre-visit form's link (`form_link`) goes on the confirmation, and on a reminder sent at least
`FORM_REMINDER_LEAD` before the start (the default 24 h reminder, not the 2 h one) while the form is not
completed: a patient who has sent it is not asked again."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING

from chalicelib.arm.envelope import OwnerType
from chalicelib.core.records import Appointment, Clinic, Patient, Reminder
from chalicelib.core.timezones import local_time
from chalicelib.core.words import AppointmentStatus, Channel, Kind, Result, Status
from chalicelib.fire.dispatch import DeliveryRequest
from chalicelib.fire.preparation import NotSending, Ready
from chalicelib.render.templates import Message
from chalicelib.render.whatsapp import TemplateFacts
from chalicelib.store import deliveries, reads

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.links.service import LinkSigner
    from chalicelib.links.tokens import Purpose


FORM_REMINDER_LEAD = timedelta(hours=12)


class AppointmentMessages:
    def __init__(self, links: LinkSigner | None = None, sender: str = "reminders@carecue.example") -> None:
        self._links = links
        self._sender = sender  # the SES sender: the organizer of the .ics invitations

    def first_reads(self, request: DeliveryRequest) -> list[reads.Key]:
        # Only a request that says it is an appointment's reads one ahead (a timer armed before the envelope says
        # nothing: its appointment is read on its own, one round trip later).
        if request.owner_type != OwnerType.APPOINTMENT:
            return []
        keys: list[reads.Key] = [(Appointment, request.clinic_id, request.owner_id)]
        if request.patient_id is not None:
            keys.append((Patient, request.clinic_id, request.patient_id))
        return keys

    def prepare(self, request: DeliveryRequest, reminder: Reminder) -> Ready | NotSending:
        appointment = deliveries.appointment(request.clinic_id, request.owner_id)
        if appointment is None:
            return NotSending(Result.STALE, "appointment_gone")
        if appointment.version != request.version:
            # A newer timer (or a cancel) owns this reminder now.
            return NotSending(Result.STALE, "appointment_changed")
        expected_status = (
            AppointmentStatus.CANCELLED if reminder.kind == Kind.CANCELLATION_NOTICE else AppointmentStatus.BOOKED
        )
        if appointment.status != expected_status:
            return NotSending(Result.SKIPPED, f"appointment_{appointment.status}", Status.CANCELLED)
        clinic = deliveries.clinic(request.clinic_id)
        patient = deliveries.patient(request.clinic_id, appointment.patient_id)
        channel = Channel(reminder.channel)
        address = patient.phone if channel is Channel.SMS else patient.email
        if not address:
            return NotSending(Result.SKIPPED, "no_contact", Status.SKIPPED)
        zone = patient.timezone or appointment.timezone or clinic.timezone
        # Read once however often the message is worded (its SMS words are also WhatsApp's fallback).
        form = cache(partial(self.form_link, Kind(reminder.kind), reminder.send_at, clinic, appointment))
        words = partial(self._words, Kind(reminder.kind), channel, clinic, patient, appointment, zone, address, form)
        facts = partial(self._template_facts, Kind(reminder.kind), clinic, appointment, zone, form)
        return Ready(clinic, patient, channel, address, words, appointment.start, zone, facts)

    def form_link(self, kind: Kind, send_at: datetime, clinic: Clinic, appointment: Appointment) -> str | None:
        """The link to the appointment's pre-visit form, on the messages that carry it, while it is unanswered."""
        early_reminder = kind is Kind.REMINDER and appointment.start - send_at >= FORM_REMINDER_LEAD
        if self._links is None or not (kind is Kind.CONFIRMATION or early_reminder):
            return None
        from chalicelib.clinics.form_settings import form_for
        from chalicelib.clinics.policy import clinic_policy
        from chalicelib.links.tokens import Purpose
        from chalicelib.store import forms as form_store

        questionnaire = form_for(clinic_policy(clinic).forms, appointment.provider, appointment.event_type)
        if questionnaire is None:
            return None
        if (
            kind is Kind.REMINDER
            and form_store.answers_status(clinic.clinic_id, appointment.appointment_id, questionnaire) == "completed"
        ):
            return None
        return self._links.url(Purpose.FORM, clinic.clinic_id, appointment.appointment_id, appointment.start)

    def _template_facts(
        self, kind: Kind, clinic: Clinic, appointment: Appointment, zone: str, form: Callable[[], str | None]
    ) -> TemplateFacts:
        """What a clinic's WhatsApp template is filled with: the same facts as the SMS words."""
        from chalicelib.clinics.policy import clinic_policy
        from chalicelib.links.tokens import Purpose

        link = None
        if self._links is not None and kind is Kind.REMINDER:
            link = self._links.url(Purpose.CONFIRM, clinic.clinic_id, appointment.appointment_id, appointment.start)
        local_start = local_time(appointment.start, zone)
        phone = clinic_policy(clinic).contact_phone
        return TemplateFacts(clinic.name, local_start, appointment.location, link, phone, form())

    def _words(
        self,
        kind: Kind,
        channel: Channel,
        clinic: Clinic,
        patient: Patient,
        appointment: Appointment,
        zone: str,
        address: str,
        form: Callable[[], str | None],
    ) -> Message:
        """In the patient's language, with the clinic's own SMS templates and, on a reminder, a confirm link;
        `address` is where the message goes (on email, the attendee of the invitation)."""
        from chalicelib.clinics.policy import clinic_policy
        from chalicelib.links.tokens import Purpose
        from chalicelib.render.localized import LocalizedFacts, render_localized

        policy = clinic_policy(clinic)
        link = None
        if self._links is not None and kind is Kind.REMINDER:
            link = self._links.url(Purpose.CONFIRM, clinic.clinic_id, appointment.appointment_id, appointment.start)
        local_start = local_time(appointment.start, zone)
        form_link = form()
        facts = LocalizedFacts(clinic.name, local_start, appointment.location, link, policy.contact_phone, form_link)
        message = render_localized(kind, channel, facts, patient.language, policy.templates)
        if kind is Kind.CONFIRMATION:
            message = self._offer_messenger(message, clinic, patient, appointment)
        if channel is Channel.EMAIL:
            message = self._email_parts(message, kind, clinic, patient, appointment, address, form_link)
        return message

    def _offer_messenger(self, message: Message, clinic: Clinic, patient: Patient, appointment: Appointment) -> Message:
        """A clinic with Messenger offers its `m.me` link in the confirmation, to a patient not linked yet: the
        ref names the patient (`chalicelib.links.messenger_ref`), so opening it links their PSID to them."""
        from chalicelib.links.messenger_ref import REF_LIFETIME, MessengerRef, can_sign, m_me_link, sign_ref
        from chalicelib.render.messenger_link import with_messenger_link

        if self._links is None or not clinic.messenger_page_id or patient.messenger_psid:
            return message
        if not can_sign(clinic.clinic_id, patient.patient_id):
            return message
        ref = MessengerRef(clinic.clinic_id, patient.patient_id, appointment.start + REF_LIFETIME)
        link = m_me_link(clinic.messenger_page_id, sign_ref(ref, self._links.key()))
        return with_messenger_link(message, link, patient.language)

    def _email_parts(
        self,
        message: Message,
        kind: Kind,
        clinic: Clinic,
        patient: Patient,
        appointment: Appointment,
        address: str,
        form_link: str | None = None,
    ) -> Message:
        from chalicelib.clinics.policy import clinic_policy
        from chalicelib.links.tokens import Purpose
        from chalicelib.render.appointment_email import CalendarFacts, with_email_parts
        from chalicelib.render.localized import language_of

        policy = clinic_policy(clinic)
        wanted = [Purpose.STOP]
        if kind is not Kind.CANCELLATION_NOTICE:
            wanted = [Purpose.CONFIRM] + ([Purpose.CANCEL] if policy.patients_may_cancel else []) + wanted
            if policy.booking_url:
                wanted.insert(-1, Purpose.RESCHEDULE)
        links: dict[str, str] = {}
        for purpose in wanted:
            url = self._url(purpose, clinic.clinic_id, appointment)
            if url is not None:
                links[purpose.value] = url
            if purpose is Purpose.CONFIRM and form_link is not None:
                links["form"] = form_link
        calendar = CalendarFacts(
            appointment.appointment_id,
            int(appointment.version),
            appointment.start,
            int(appointment.duration_minutes),
            clinic.name,
            appointment.location,
            self._sender,
            address,
        )
        language = language_of(patient.language)
        # DTSTAMP is when this version of the appointment was made: the same invitation every time it is sent.
        stamp = appointment.updated_at
        return with_email_parts(
            message, kind, language, links, calendar, stamp, policy.reply_to, policy.sender_name or clinic.name
        )

    def _url(self, purpose: Purpose, clinic_id: str, appointment: Appointment) -> str | None:
        if self._links is None:
            return None
        return self._links.url(purpose, clinic_id, appointment.appointment_id, appointment.start)
