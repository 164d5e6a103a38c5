"""Which channels a patient can receive a message on, in their channel order: the clinic's order (`PUT /v1/clinic`
`channel_order`, default SMS, WhatsApp, Messenger, email) with the patient's preferred channel first
(`chalicelib.plan.channel_order`).

A patient can receive a message on a channel when all of these hold:
- an address for it: a phone for SMS, an email for email, a phone and the clinic's WhatsApp sender for WhatsApp,
  a linked Messenger PSID and the clinic's Page for Messenger;
- opted in where the channel needs it (WhatsApp's opt-in, Messenger's link);
- not opted out of it (STOP on that channel, `PUT /v1/patients/{id}` `opt_out`), and for email not an address
  SES reported undeliverable.

A staff's free-text answer from the inbox is not routed here: it goes where the patient last wrote
(`chalicelib.inbox.channel`), which is what a patient who wrote on one channel expects.

Reminders use `receivable_order` when they are planned (`chalicelib.appointments.reminder_plan`) and the chat route
(`chalicelib.fire.chat_route`) when they fire, because opt-ins, windows and templates change in between.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.records import Clinic, Patient
from chalicelib.core.words import Channel
from chalicelib.plan.channel_order import patient_order


def channel_order(clinic: Clinic, patient: Patient) -> tuple[Channel, ...]:
    """The patient's channel order: the clinic's, with the patient's preferred channel first."""
    known = {channel.value: channel for channel in Channel}
    preferred = known.get(patient.preferred_channel or "")
    return patient_order(clinic_policy(clinic).channel_order, preferred)


def address_on(clinic: Clinic, patient: Patient, channel: Channel) -> str | None:
    """Where a message on `channel` goes, or None when the patient (or the clinic) has no address for it."""
    if channel is Channel.SMS:
        return patient.phone
    if channel is Channel.EMAIL:
        return patient.email
    if channel is Channel.WHATSAPP:
        return patient.phone if clinic.whatsapp_phone_number_id else None
    return patient.messenger_psid if clinic.messenger_page_id else None


def can_receive(clinic: Clinic, patient: Patient, channel: Channel, now: datetime) -> bool:
    """An address, opted in where the channel needs it, not opted out (one contact read, two for email)."""
    return _state(clinic, patient, channel, now) is not None


def receivable_order(clinic: Clinic, patient: Patient, now: datetime, whatsapp_opt_in: bool = False) -> list[Channel]:
    """The channels of the patient's order they can receive a message on, in that order. `whatsapp_opt_in`: the
    request being planned gives the patient's WhatsApp opt-in (a booking's `whatsapp_opt_in`), which is recorded
    only once the booking is stored: WhatsApp counts as opted in unless the number sent STOP there."""
    order = channel_order(clinic, patient)
    return [
        channel
        for channel in order
        if can_receive(clinic, patient, channel, now)
        or (whatsapp_opt_in and channel is Channel.WHATSAPP and _opting_in(clinic, patient, now))
    ]


def _opting_in(clinic: Clinic, patient: Patient, now: datetime) -> bool:
    from chalicelib.patients.whatsapp import whatsapp_state

    address = address_on(clinic, patient, Channel.WHATSAPP)
    return address is not None and not whatsapp_state(clinic.clinic_id, address, now).opted_out


def _state(clinic: Clinic, patient: Patient, channel: Channel, now: datetime) -> tuple[str, bool] | None:
    """(address, window open) when the patient can receive a message on `channel`, else None."""
    address = address_on(clinic, patient, channel)
    if not address:
        return None
    if channel is Channel.WHATSAPP:
        from chalicelib.patients.whatsapp import whatsapp_state

        whatsapp = whatsapp_state(clinic.clinic_id, address, now)
        return (address, whatsapp.window_open) if whatsapp.may_send else None
    if channel is Channel.MESSENGER:
        from chalicelib.patients.messenger import messenger_state

        messenger = messenger_state(clinic.clinic_id, address, now)
        return (address, messenger.window_open) if messenger.may_send else None
    from chalicelib.patients.contacts import is_opted_out

    if is_opted_out(clinic.clinic_id, channel, address):
        return None
    if channel is Channel.EMAIL:
        from chalicelib.send.email_feedback import undeliverable

        if undeliverable(address):
            return None
    return (address, True)
