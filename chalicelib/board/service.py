"""What the waiting-room board shows: today's queues of a clinic, reduced to initials and rounded waits."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chalicelib.board.page import BoardPatient, BoardProvider, initials, render_board
from chalicelib.clock import Clock
from chalicelib.store import clinic_day
from chalicelib.store.models import Appointment, Clinic
from chalicelib.visits.day import UNASSIGNED
from chalicelib.waiting.notices import rounded_minutes

if TYPE_CHECKING:
    from chalicelib.waiting.service import WaitingService


def board_page(clinic: Clinic, waiting: WaitingService, clock: Clock) -> str:
    now = clock.now()
    _, _, queues = waiting.queues(clinic.clinic_id, None, None)
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
