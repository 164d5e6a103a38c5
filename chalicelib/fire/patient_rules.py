"""The patient's and the clinic's rules at fire time, after the owner has said the reminder is still wanted:
no message on a channel the patient opted out of; a reminder whose timer fired late into quiet hours waits
for their end (or is skipped when that is not before the appointment); the frequency caps, when the clinic
has switched them on, skip an SMS reminder that would break them. Notices (confirmation, reschedule,
cancellation) answer something that just happened, so they respect opt-outs but not quiet hours or caps."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.records import Contact, Reminder
from chalicelib.core.words import Channel, Kind
from chalicelib.fire.preparation import Ready
from chalicelib.patients.contacts import cap_reached, find_contact, opted_out, record_sms_sent, sms_sent_write
from chalicelib.plan.quiet_hours import defer_for_quiet_hours
from chalicelib.store.patients import RecentSendsWrite


class Verdict(Struct, frozen=True):
    skip_reason: str | None = None
    defer_until: datetime | None = None
    contact: Contact | None = None  # the address's record as read for the verdict, for `note_sent`


def check_patient_rules(ready: Ready, reminder: Reminder, now: datetime) -> Verdict:
    contact = find_contact(ready.clinic.clinic_id, ready.channel, ready.address)  # one read serves every rule
    if opted_out(contact):
        return Verdict(f"opted_out_{ready.channel.value}")
    send = Verdict(contact=contact)
    if reminder.kind != Kind.REMINDER:
        return send
    policy = clinic_policy(ready.clinic)
    zone = ready.zone or ready.patient.timezone or ready.clinic.timezone
    if policy.quiet_hours is not None and policy.quiet_hours.contains(now, zone):
        allowed = defer_for_quiet_hours(now, zone, policy.quiet_hours, ready.starts_at)
        return Verdict("quiet_hours") if allowed is None else Verdict(defer_until=allowed)
    if policy.frequency_caps and ready.channel is Channel.SMS:
        reason = cap_reached(contact, now)
        if reason is not None:
            return Verdict(reason)
    return send


def note_sent(ready: Ready, verdict: Verdict, now: datetime) -> None:
    """Every SMS counts towards the caps, even while they are off, so switching them on takes effect at once."""
    if ready.channel is Channel.SMS:
        record_sms_sent(ready.clinic.clinic_id, ready.address, verdict.contact, now)


def sent_note(ready: Ready, verdict: Verdict, now: datetime) -> RecentSendsWrite | None:
    """`note_sent` as a write for the send's recording transaction; None when there is nothing to note."""
    if ready.channel is Channel.SMS:
        return sms_sent_write(ready.clinic.clinic_id, ready.address, verdict.contact, now)
    return None
