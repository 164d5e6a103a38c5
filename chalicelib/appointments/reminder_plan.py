"""The reminders of one appointment under its clinic's policy and its patient's preferences: the bridge
between the stored records and the pure planner."""

from __future__ import annotations

from datetime import datetime

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.records import Clinic, Patient
from chalicelib.core.words import Channel
from chalicelib.patients.contacts import is_opted_out
from chalicelib.plan.appointment_reminders import PlannedReminder, channels_for, plan_reminders


def planned_reminders(
    clinic: Clinic, patient: Patient, start: datetime, zone: str, now: datetime
) -> list[PlannedReminder]:
    channels = channels_for(patient.phone, patient.email)
    opted_out = [
        channel
        for channel, address in ((Channel.SMS, patient.phone), (Channel.EMAIL, patient.email))
        if address and is_opted_out(clinic.clinic_id, channel, address)
    ]
    preferred = Channel(patient.preferred_channel) if patient.preferred_channel else None
    policy = clinic_policy(clinic).reminder_policy()
    zone = patient.timezone or zone
    return plan_reminders(start, channels, now, policy, zone=zone, preferred=preferred, opted_out=opted_out)
