"""The waiting-room board: its link (issued, revoked, checked: `chalicelib.board.link`) and what it shows, today's
queues of a clinic reduced to initials and rounded waits."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chalicelib.board.link import clinic_for_board, issue_board_link, revoke_board_link
from chalicelib.board.page import BoardPatient, BoardProvider, initials, render_board
from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.clock import Clock
from chalicelib.store import clinic_day
from chalicelib.store.models import Appointment, Clinic
from chalicelib.visits.day import UNASSIGNED
from chalicelib.waiting.notices import rounded_minutes

if TYPE_CHECKING:
    from chalicelib.waiting.service import WaitingService


class Board:
    def __init__(self, clock: Clock, waiting: WaitingService) -> None:
        self._clock = clock
        self._waiting = waiting

    def issue_link(self, clinic_id: str) -> str:
        """A new board token for the clinic; the previous one stops working."""
        return issue_board_link(clinic_id)

    def revoke_link(self, clinic_id: str) -> None:
        revoke_board_link(clinic_id)

    def page(self, token: str) -> str | None:
        """The board's HTML for a current token of an active clinic, else None."""
        clinic = clinic_for_board(token)
        return None if clinic is None else board_page(clinic, self._waiting, self._clock)


def board_page(clinic: Clinic, waiting: WaitingService, clock: Clock) -> str:
    now = clock.now()
    clinic, day, queues = waiting.queues(clinic.clinic_id, None, None)
    if now >= clinic_policy(clinic).opening_hours.closes_at(day, clinic.timezone):
        queues = []  # the day has closed: the screen in the waiting room shows no one, whatever was left open
    providers = []
    for queue in queues:
        by_id = {a.appointment_id: a for a in queue.appointments}
        estimates = sorted(queue.estimates.values(), key=lambda e: e.ahead)
        providers.append(
            BoardProvider(
                "Any provider" if queue.provider == UNASSIGNED else queue.provider,
                BoardPatient(_initials(queue.in_progress)) if queue.in_progress is not None else None,
                [BoardPatient(_initials(by_id[e.appointment_id]), rounded_minutes(e.wait)) for e in estimates],
            )
        )
    return render_board(clinic.name, now.astimezone(ZoneInfo(clinic.timezone)), providers)


def _initials(appointment: Appointment) -> str:
    return initials(clinic_day.patient(appointment.clinic_id, appointment.patient_id).name)
