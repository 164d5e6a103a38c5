"""The waiting-room board: its link (issued, revoked, checked: `chalicelib.board.link`) and what it shows, today's
queues of a clinic reduced to initials and rounded waits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chalicelib.board.link import clinic_for_board, issue_board_link, revoke_board_link
from chalicelib.board.page import BoardPatient, BoardProvider, initials, render_board
from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.clock import Clock
from chalicelib.core.records import Appointment, Clinic
from chalicelib.store import clinic_day
from chalicelib.visits.day import UNASSIGNED
from chalicelib.visits.views import ticket_numbers
from chalicelib.waiting.notices import rounded_minutes

if TYPE_CHECKING:
    from chalicelib.waiting.day import ProviderQueue
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
    shown = [a for queue in queues for a in queue.appointments if a.appointment_id in _on_board(queue)]
    numbers = tickets(a for queue in queues for a in queue.appointments)
    if clinic_policy(clinic).board_labels == "tickets":
        label = {a.appointment_id: f"no. {numbers[a.appointment_id]}" for a in shown}
    else:
        label = board_labels(shown, numbers)
    providers = []
    for queue in queues:
        estimates = sorted(queue.estimates.values(), key=lambda e: e.ahead)
        providers.append(
            BoardProvider(
                "Any provider" if queue.provider == UNASSIGNED else queue.provider,
                BoardPatient(label[queue.in_progress.appointment_id]) if queue.in_progress is not None else None,
                [BoardPatient(label[e.appointment_id], rounded_minutes(e.wait)) for e in estimates],
            )
        )
    return render_board(clinic.name, now.astimezone(ZoneInfo(clinic.timezone)), providers)


def tickets(appointments: Iterable[Appointment]) -> dict[str, int]:
    """The day's ticket numbers (`chalicelib.visits.views.ticket_numbers`): the same as `GET /v1/queue` shows."""
    return ticket_numbers(appointments)


def board_labels(shown: list[Appointment], numbers: dict[str, int]) -> dict[str, str]:
    """What the board calls each patient it shows: initials, and initials with the ticket number where two
    patients on the board share initials, so the screen never shows two identical labels."""
    names = {a.appointment_id: initials(clinic_day.patient(a.clinic_id, a.patient_id).name) for a in shown}
    shared = Counter(names.values())
    return {
        appointment_id: f"{text} no. {numbers[appointment_id]}" if shared[text] > 1 else text
        for appointment_id, text in names.items()
    }


def _on_board(queue: ProviderQueue) -> set[str]:
    seen = {queue.in_progress.appointment_id} if queue.in_progress is not None else set()
    return seen | set(queue.estimates)
