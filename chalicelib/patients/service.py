"""`GET/PUT /v1/patients/{id}`: a patient's preferences (channel, language, time zone) and opt-outs per channel.

A change that affects when or where reminders go (zone, preferred channel, an opt-out) re-plans the patient's
upcoming appointments. Opt-outs are stored per address (`contacts`), so they also hold for later bookings.

The view lists the clinic's other patients that share a contact with this one (`shares_contact_with`: a family's
phone, or a possible duplicate when the name is the same too) and, for a record `merge-patients` merged, the
patient it was merged into (docs/patients.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.clock import Clock, iso_utc
from chalicelib.core.errors import Conflict, FieldProblem, InvalidRequest, NotFound
from chalicelib.core.fields import decode_json_object
from chalicelib.core.records import Patient
from chalicelib.core.validation import Context, problems_of
from chalicelib.core.words import Channel
from chalicelib.patients.bodies import PatientUpdateBody
from chalicelib.patients.changes import apply_changes, change_page, differing
from chalicelib.patients.contacts import find_contact, opt_in, opt_out
from chalicelib.patients.matching import shares_contact_with
from chalicelib.patients.messenger import link_view
from chalicelib.patients.whatsapp import opt_in_view
from chalicelib.store import patients as store

if TYPE_CHECKING:
    from chalicelib.appointments.service import AppointmentService
    from chalicelib.patients.views import OptOutView, PatientChangePage, PatientView


def opt_out_addresses(patient: Patient) -> tuple[tuple[Channel, str | None], ...]:
    """The address each channel's opt-out is kept by: the phone (SMS, WhatsApp), the email, and on Messenger the
    page-scoped id the patient linked (a STOP on Messenger is kept by it too); None where the patient has none."""
    return (
        (Channel.SMS, patient.phone),
        (Channel.EMAIL, patient.email),
        (Channel.WHATSAPP, patient.phone),
        (Channel.MESSENGER, patient.messenger_psid),
    )


def patient_opt_outs(patient: Patient) -> dict[str, OptOutView | None]:
    """Per channel, when and how the patient's address opted out, or None: opt-outs are kept per address."""
    opt_outs: dict[str, OptOutView | None] = {}
    for channel, address in opt_out_addresses(patient):
        contact = find_contact(patient.clinic_id, channel, address) if address else None
        opted = contact is not None and contact.opted_out_at is not None
        opt_outs[channel.value] = (
            {"at": iso_utc(contact.opted_out_at), "source": contact.opt_out_source}
            if opted and contact and contact.opted_out_at
            else None
        )
    return opt_outs


class PatientService:
    def __init__(self, clock: Clock, appointments: AppointmentService) -> None:
        self._clock = clock
        self._appointments = appointments

    def view(self, clinic_id: str, patient_id: str) -> PatientView:
        patient = self._patient(clinic_id, patient_id)
        opt_outs = patient_opt_outs(patient)
        return {
            "id": patient.patient_id,
            "name": patient.name,
            "phone": patient.phone,
            "email": patient.email,
            "preferred_channel": patient.preferred_channel,
            "language": patient.language,
            "timezone": patient.timezone,
            "opt_out": opt_outs,
            "shares_contact_with": shares_contact_with(patient),
            "merged_into": patient.merged_into,
            "whatsapp_opt_in": opt_in_view(patient.clinic_id, patient.phone),
            "messenger": link_view(patient.clinic_id, patient.messenger_psid),
        }

    def update(self, clinic_id: str, patient_id: str, raw_body: bytes, actor: str = "api") -> PatientView:
        """Applies the clinic's change (`actor`: the API key's id), its detail changes recorded in the patient's
        history in the same write (`chalicelib.patients.changes`)."""
        body = decode_json_object(raw_body)
        patient = self._patient(clinic_id, patient_id)
        update, problems = problems_of(PatientUpdateBody, body, Context())
        opt_outs = update.opt_out if update is not None else {}
        addresses = dict(opt_out_addresses(patient))
        for channel, address in addresses.items():
            if channel in opt_outs and not address:
                missing = (
                    "the patient has not linked Messenger"
                    if channel is Channel.MESSENGER
                    else "the patient has no address on this channel"
                )
                problems.append(FieldProblem(f"opt_out.{channel}", missing))
        if problems or update is None:
            raise InvalidRequest(problems)
        sent = update.model_fields_set
        preferred = update.preferred_channel if "preferred_channel" in sent else patient.preferred_channel
        language = update.language if "language" in sent else patient.language
        timezone = update.timezone if "timezone" in sent else patient.timezone

        changed = (preferred, timezone) != (patient.preferred_channel, patient.timezone)
        now = self._clock.now()
        wanted = {"preferred_channel": preferred or None, "timezone": timezone or None, "language": language}
        apply_changes(patient, differing(patient, wanted), actor, now)
        for channel, value in opt_outs.items():
            address = addresses[channel]
            assert address is not None  # checked above
            if value:
                changed |= opt_out(clinic_id, channel, address, "api", now)
            else:
                changed |= opt_in(clinic_id, channel, address)
        if changed:
            self.replan_upcoming(clinic_id, patient_id)
        return self.view(clinic_id, patient_id)

    def replan_upcoming(self, clinic_id: str, patient_id: str) -> None:
        """Re-plans the patient's upcoming appointments after a change of where or when their reminders go."""
        for appointment in self._appointments.upcoming(clinic_id, patient_id):
            try:
                self._appointments.replan(clinic_id, appointment.appointment_id)
            except Conflict:
                continue  # changed meanwhile by a request that planned it with these preferences

    def changes(self, clinic_id: str, patient_id: str, cursor: str | None, limit: int) -> PatientChangePage:
        """The patient's detail changes, newest first, a page at a time (404 for another clinic's patient)."""
        self._patient(clinic_id, patient_id)
        return change_page(clinic_id, patient_id, cursor, limit)

    def _patient(self, clinic_id: str, patient_id: str) -> Patient:
        patient = store.find_patient(clinic_id, patient_id, consistent=True)
        if patient is None:
            raise NotFound("patient")
        return patient
