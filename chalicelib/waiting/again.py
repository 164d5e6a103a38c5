"""A waiting-room text again, for its fallback (`chalicelib.fire.notices`: the dispatcher asks when the text's
channel reported it failed or did not report it delivered in the clinic's window): whether it is still worth
sending, and its words now.

What a patient would expect of a text that reaches them late on another channel (our choice):
- **A wait text** (the check-in estimate, the update, "you're next") only while they are still waiting (the visit
  is `arrived`: not called in, finished, a no-show or closed) and nothing newer was texted since (the
  appointment's promised call time is still the one this text made: an update or "you're next" supersedes it).
  An estimate names its minutes counted again from now to the call time it promised (rounded as every estimate,
  at least 5), so a text that comes 15 minutes late does not add 15 minutes to the wait; one whose promised call
  time has passed is not sent (it would promise nothing true; the waiting room's update covers a wait that
  grew). "You're next" is the same words.
- **Either** only while the appointment is still at the start the text was about (its delivery's occurrence): a
  moved appointment's old news is not sent.
- **A running-late text** only while the patient is still at home (`booked`) before their start, no newer late
  text went since (the appointment's count is still this text's), and the provider is still running late (the
  lag is measured again, and its minutes are the lag now): news of a lag that is gone would only make them late.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core.clock import Clock, iso_utc
from chalicelib.core.errors import NotFound
from chalicelib.core.words import Result
from chalicelib.fire.preparation import NotSending, Ready
from chalicelib.store import clinic_day
from chalicelib.visits.day import UNASSIGNED, local_day, provider_key
from chalicelib.visits.status import ARRIVED, BOOKED
from chalicelib.waiting.day import build_queue, provider_day_appointments, provider_ratio
from chalicelib.waiting.notices import (
    DEFAULT_LATE_THRESHOLD,
    ROUND_TO_MINUTES,
    WaitDecision,
    WaitText,
    late_step,
    late_text,
    rounded_minutes,
    wait_text,
)
from chalicelib.waiting.service import planned_text, waiting_facts


class WaitingNotices:
    """The waiting room as the owner of its notices (`chalicelib.fire.notices.NoticeMessages`)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def again(self, clinic_id: str, owner_id: str, occurrence: str, facts: Mapping[str, Any]) -> Ready | NotSending:
        try:
            appointment = clinic_day.appointment(clinic_id, owner_id)
            clinic = clinic_day.clinic(clinic_id)
            patient = clinic_day.patient(clinic_id, appointment.patient_id)
        except NotFound:
            return NotSending(Result.STALE, "appointment_gone")
        if iso_utc(appointment.start) != occurrence:
            return NotSending(Result.STALE, "appointment_moved")  # the text was about the visit at its old time
        now = self._clock.now()
        kind = str(facts.get("kind"))
        if kind.startswith("wait_"):
            if appointment.status != ARRIVED:
                return NotSending(Result.STALE, f"visit_{appointment.status}")
            promised = str(facts.get("promised_at"))
            if appointment.wait_promised_at is None or iso_utc(appointment.wait_promised_at) != promised:
                return NotSending(Result.STALE, "superseded")
            text = WaitText(str(facts.get("text")))
            minutes = 0
            if text is not WaitText.NEXT:
                left = datetime.fromisoformat(promised) - now
                if left <= timedelta(0):
                    return NotSending(Result.STALE, "promised_time_passed")
                minutes = rounded_minutes(left)
            body = wait_text(clinic.name, WaitDecision(text, minutes, bool(facts.get("next"))))
            template = waiting_facts(clinic, minutes=minutes or ROUND_TO_MINUTES)
            return planned_text(clinic, appointment, patient, body, template)
        if appointment.status != BOOKED or now >= appointment.start:
            return NotSending(Result.STALE, f"visit_{appointment.status}")
        if int(appointment.late_texts or 0) != facts.get("texts"):
            return NotSending(Result.STALE, "superseded")
        provider = provider_key(appointment)
        day = provider_day_appointments(clinic_id, provider, local_day(now, clinic.timezone), clinic.timezone)
        lag = build_queue(provider, day, provider_ratio(clinic_id, provider), now).lag
        if late_step(lag, DEFAULT_LATE_THRESHOLD) == 0:
            return NotSending(Result.STALE, "lag_gone")
        shown = None if provider == UNASSIGNED else provider
        template = waiting_facts(clinic, minutes=rounded_minutes(lag), provider=shown)
        return planned_text(clinic, appointment, patient, late_text(clinic.name, shown, lag), template)
