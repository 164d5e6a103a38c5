"""Which waiting-room texts a patient gets and their words: pure decisions from what the patient was already
told, the current estimate or lag, and the local time. Nothing here knows AWS.

Waiting patients get one text at check-in (the estimate, rounded to 5 minutes), at most one update and only
if the estimate grew by 10 minutes or more, and "you're next" once, when the only patient ahead is the one
being seen. Patients still at home get "running late" texts: one per 15-minute step of the provider's lag
once it passes the clinic's threshold, at most two a day, none in quiet hours, none once the lag is gone.
Texts are plain ASCII (GSM-7), so each costs one SMS segment.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum

from msgspec import Struct

ROUND_TO_MINUTES = 5
UPDATE_WHEN_GROWN_BY_MINUTES = 10
MAX_WAIT_UPDATES = 1
LATE_STEP = timedelta(minutes=15)
DEFAULT_LATE_THRESHOLD = timedelta(minutes=15)
MAX_LATE_TEXTS_PER_DAY = 2
LATE_HORIZON = timedelta(hours=3)  # patients booked this far ahead hear that the provider runs late


class WaitText(StrEnum):
    CHECK_IN = "check_in"
    UPDATE = "update"
    NEXT = "next"


class WaitTold(Struct, frozen=True):
    """What a checked-in patient has been texted so far (stored on the appointment)."""

    promised_at: datetime | None = None  # when the last text said they would be called; None before check-in
    updates: int = 0
    next: bool = False


class WaitDecision(Struct, frozen=True):
    text: WaitText
    minutes: int  # the rounded estimate the text names (or 0 for "you're next")
    next: bool  # whether the text tells the patient they are next


def rounded_minutes(wait: timedelta) -> int:
    """The wait in minutes, to the nearest 5 (halves up) and at least 5: "about 0 min" tells a patient nothing."""
    steps = math.floor(wait / timedelta(minutes=ROUND_TO_MINUTES) + 0.5)
    return max(ROUND_TO_MINUTES, steps * ROUND_TO_MINUTES)


def wait_text_due(
    told: WaitTold, now: datetime, called_at: datetime, ahead: int, provider_busy: bool
) -> WaitDecision | None:
    """The one text a checked-in patient should get now, if any.

    "Grows" compares call times, not minutes from now: told "about 55 min" at 9:05 and still waiting at 10:10
    with 40 minutes to go is a wait 45 minutes longer than promised, though 40 is less than 55.
    """
    is_next = ahead == 0 and provider_busy
    minutes = rounded_minutes(called_at - now)
    if told.promised_at is None:
        return WaitDecision(WaitText.CHECK_IN, minutes, is_next)
    if is_next and not told.next:
        return WaitDecision(WaitText.NEXT, 0, True)
    grown = called_at - told.promised_at >= timedelta(minutes=UPDATE_WHEN_GROWN_BY_MINUTES)
    if not told.next and told.updates < MAX_WAIT_UPDATES and grown:
        return WaitDecision(WaitText.UPDATE, minutes, False)
    return None


def late_step(lag: timedelta, threshold: timedelta = DEFAULT_LATE_THRESHOLD) -> int:
    """0 while the lag is under the threshold; else which 15-minute step of lag it is in (15-29 min is 1)."""
    if lag < threshold or lag < LATE_STEP:
        return 0
    return int(lag / LATE_STEP)


def late_text_due(step: int, last_step: int, texts_today: int, quiet_now: bool) -> bool:
    """Whether a patient still at home gets a running-late text for lag step `step` now; `quiet_now` is whether
    it is the clinic's quiet hours in the patient's zone."""
    return step > last_step and texts_today < MAX_LATE_TEXTS_PER_DAY and not quiet_now


def wait_text(clinic: str, decision: WaitDecision) -> str:
    if decision.text is WaitText.NEXT:
        return f"{clinic}: you're next. Please stay in the waiting room."
    if decision.text is WaitText.UPDATE:
        return f"{clinic}: sorry, your wait is now about {decision.minutes} min."
    if decision.next:
        return f"{clinic}: you are checked in. You're next."
    return f"{clinic}: you are checked in. Your wait is about {decision.minutes} min."


# The clinic's own template comes with clinic policy (another issue); this is the default wording.
DEFAULT_LATE_TEMPLATE = (
    "{clinic}: {provider} is running about {minutes} min late today. "
    "Please still arrive on time unless we tell you otherwise."
)


def late_text(clinic: str, provider: str | None, lag: timedelta, template: str = DEFAULT_LATE_TEMPLATE) -> str:
    return template.format(clinic=clinic, provider=provider or "Your provider", minutes=rounded_minutes(lag))
