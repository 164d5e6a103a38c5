"""The day of the visit: check-in, called in (start), finish and no-show, each stamping its time.

`check_in` is the one entry point for every way a patient arrives: the front desk's API call, the patient's
"I'm here" link, and a "HERE" reply, recorded by the channel it came on (`sms`, `whatsapp`, `messenger`: the front
desk sees how the patient arrived, as `confirmed_via` says how they confirmed, and the waiting room answers on
that channel).

A move is one DynamoDB transaction: the appointment's new status and time, conditioned on the status it was
read in, and, when the appointment leaves `booked`, its pending reminders cancelled (a patient in the waiting
room must not get "reminder of your appointment"). Their timers are disarmed after the commit; a timer left
behind is harmless, because the fire-time re-check finds the reminder cancelled and the version moved on.
Then the provider's waiting room is refreshed: estimates, texts, the running-late watch.

The waiting room sits above this package (it reads visits' statuses and keys); a move tells it through the
`WaitingRoom` port, which the composition root fills with `chalicelib.waiting.service.WaitingService`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from msgspec.structs import replace

from chalicelib.core.clock import Clock
from chalicelib.core.errors import Conflict, StaleVersion, TimerError
from chalicelib.core.observability import logger
from chalicelib.core.records import Appointment
from chalicelib.core.words import Status
from chalicelib.store import clinic_day
from chalicelib.visits.day import local_day, provider_key
from chalicelib.visits.status import BOOKED, TARGET, IllegalMove, Move, check_move

if TYPE_CHECKING:
    from chalicelib.arm.timers import ReminderTimers

CHECK_IN_SOURCES = ("front_desk", "patient_link", "sms", "whatsapp", "messenger")


class WaitingRoom(Protocol):
    """What a visit move tells the waiting room of the appointment's provider."""

    def record_visit(self, appointment: Appointment) -> None:
        """A visit finished: learn its length."""

    def refresh(self, clinic_id: str, provider: str) -> object:
        """The provider's queue changed: re-estimate, text, keep the watch armed."""


class VisitService:
    def __init__(self, clock: Clock, timers: ReminderTimers, waiting: WaitingRoom) -> None:
        self._clock = clock
        self._timers = timers
        self._waiting = waiting

    def check_in(self, clinic_id: str, appointment_id: str, source: str = "front_desk") -> Appointment:
        """The patient is here. Checking in twice changes nothing; a cancelled appointment is a Conflict."""
        if source not in CHECK_IN_SOURCES:
            raise ValueError(f"unknown check-in source {source!r}")
        return self.move(clinic_id, appointment_id, Move.CHECK_IN, source)

    def move(self, clinic_id: str, appointment_id: str, move: Move, source: str = "front_desk") -> Appointment:
        now = self._clock.now()
        appointment = self._appointment(clinic_id, appointment_id)
        try:
            changes = check_move(move, appointment.status)
        except IllegalMove as e:
            raise Conflict(str(e)) from None
        if not changes:
            return appointment
        if move in (Move.CHECK_IN, Move.START) and not _today(appointment, now):
            day = local_day(appointment.start, appointment.timezone).isoformat()
            raise Conflict(f"the appointment is on {day}; it can be {_done(move)} only on that day")
        was = appointment.status
        pending = []
        if was == BOOKED:
            pending = [r for r in clinic_day.reminders_of(appointment_id) if r.status == Status.SCHEDULED]
            pending = [
                replace(reminder, status=Status.CANCELLED.value, reason=f"appointment_{TARGET[move]}", updated_at=now)
                for reminder in pending
            ]
        try:
            clinic_day.record_move(
                appointment,
                was=was,
                status=TARGET[move],
                version=int(appointment.version) + 1,
                now=now,
                cancelled=pending,
                arrived_at=now if move is Move.CHECK_IN else None,
                checked_in_by=source if move is Move.CHECK_IN else None,
                started_at=now if move is Move.START else None,
                finished_at=now if move is Move.FINISH else None,
                noshow_at=now if move is Move.NO_SHOW else None,
            )
        except StaleVersion as e:
            raise Conflict("the appointment was changed by another request; read it and try again") from e
        for reminder in pending:
            try:
                self._timers.disarm(reminder.owner_id, reminder.reminder_id)
            except TimerError as e:
                logger.warning("timer not disarmed", extra={"reminder": reminder.reminder_id, "code": e.code})
        logger.info("visit move", extra={"clinic_id": clinic_id, "appointment_id": appointment_id, "move": move.value})
        moved = self._appointment(clinic_id, appointment_id)
        if move is Move.FINISH:
            self._waiting.record_visit(moved)
        self._waiting.refresh(clinic_id, provider_key(moved))
        return moved

    def _appointment(self, clinic_id: str, appointment_id: str) -> Appointment:
        return clinic_day.appointment(clinic_id, appointment_id)


def _today(appointment: Appointment, now: datetime) -> bool:
    return local_day(appointment.start, appointment.timezone) == local_day(now, appointment.timezone)


def _done(move: Move) -> str:
    return "checked in" if move is Move.CHECK_IN else "started"
