"""The names of a visit's waiting-room texts, which `chalicelib.waiting.service` sends as notices of the
dispatcher's (`chalicelib.fire.notices`, keyed `{appointment_id}/{name}` at the appointment's start): `wait.{n}`
for its n-th wait text, `late.{n}` for its n-th running-late text; and which names the appointment's own claim
counters say were handed out (`texted`), so the appointment view reads their delivery records by key
(`chalicelib.appointments.views`) instead of searching the deliveries. Here, below both the waiting room and the
appointments, so the two name them alike."""

from __future__ import annotations

from chalicelib.core.records import Appointment

WAIT = "wait"
LATE = "late"


def wait_notice(number: int) -> str:
    return f"{WAIT}.{number}"


def late_notice(number: int) -> str:
    return f"{LATE}.{number}"


def number_of(notice_id: str) -> int:
    """The n of `wait.{n}` or `late.{n}`."""
    return int(notice_id.rpartition(".")[2])


def texted(appointment: Appointment) -> list[str]:
    """Every name the appointment's claims may have handed out, wait texts first, then running-late texts.

    The wait claim (`store.clinic_day.claim_wait_text`) keeps the promise (set at the check-in text, `wait.1`),
    the updates and whether the patient was told they are next. Told next by the check-in text itself, the
    patient's only wait text is `wait.1`; told next by a text of its own, that text is `wait.{2 + updates}`. The
    counters cannot tell the two apart, so both are named: the name with no delivery reads nothing. A claim whose
    text then went nowhere (no phone, STOP) has no delivery either. At most 3 wait and 2 late names
    (`waiting.notices.MAX_WAIT_UPDATES`, `MAX_LATE_TEXTS_PER_DAY`)."""
    waits = 0
    if appointment.wait_promised_at is not None:
        waits = 1 + int(appointment.wait_updates or 0) + (1 if appointment.wait_next_texted else 0)
    lates = int(appointment.late_texts or 0)
    return [wait_notice(n) for n in range(1, waits + 1)] + [late_notice(n) for n in range(1, lates + 1)]
