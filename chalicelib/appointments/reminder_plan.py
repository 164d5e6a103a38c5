"""The reminders of one appointment under its clinic's policy and its patient's preferences: the bridge
between the stored records and the pure planner. Each message is planned for the first channel of the patient's
channel order they can receive it on now (`chalicelib.fire.channel_order`; a chat channel stands for the phone,
and the chat route picks the channel again when it fires), unless the clinic's rule asks for another."""

from __future__ import annotations

from datetime import datetime

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.records import Clinic, Patient
from chalicelib.core.words import Channel
from chalicelib.plan.appointment_reminders import (
    PlannedReminder,
    channels_for,
    plan_reminders,
    rule_channels,
)


def planned_reminders(
    clinic: Clinic,
    patient: Patient,
    start: datetime,
    zone: str,
    now: datetime,
    order: list[Channel] | None = None,
) -> list[PlannedReminder]:
    """`order`: the patient's `receivable_order` when the caller has it already (a booking plans its notices too)."""
    channels = channels_for(patient.phone, patient.email)
    order = receivable(clinic, patient, now) if order is None else order
    opted_out = _opted_out(patient, order)
    preferred = Channel(patient.preferred_channel) if patient.preferred_channel else None
    policy = clinic_policy(clinic).reminder_policy()
    zone = patient.timezone or zone
    return plan_reminders(
        start, channels, now, policy, zone=zone, preferred=preferred, opted_out=opted_out, order=order
    )


def notice_channels(
    clinic: Clinic, patient: Patient, now: datetime, order: list[Channel] | None = None
) -> list[Channel]:
    """Where a confirmation, reschedule or cancellation notice goes: by the clinic's `notice_channel`, as a reminder
    rule's `channel` (by default one channel, the first of the patient's order they can receive it on, SMS
    standing for the chat channels; `both`: the phone and the email)."""
    channels = channels_for(patient.phone, patient.email)
    order = receivable(clinic, patient, now) if order is None else order
    preferred = Channel(patient.preferred_channel) if patient.preferred_channel else None
    choice = clinic_policy(clinic).notice_channel
    return rule_channels(choice, channels, preferred, _opted_out(patient, order), order)


def receivable(clinic: Clinic, patient: Patient, now: datetime, whatsapp_opt_in: bool = False) -> list[Channel]:
    """The channels the patient can receive a message on now, in their order (one contact read per channel);
    `whatsapp_opt_in`: the request gives the WhatsApp opt-in (`receivable_order`)."""
    from chalicelib.fire.channel_order import receivable_order

    return receivable_order(clinic, patient, now, whatsapp_opt_in)


def _opted_out(patient: Patient, receivable: list[Channel]) -> list[Channel]:
    """The patient's SMS and email, where they have one and cannot receive on it (opted out; for email, also an
    address SES reported undeliverable)."""
    return [
        channel
        for channel, address in ((Channel.SMS, patient.phone), (Channel.EMAIL, patient.email))
        if address and channel not in receivable
    ]
