"""The JSON shapes of the day of the visit: one appointment's visit, and a day's queue for the front desk. Each
shape is a TypedDict the view returns (mypy checks the view against it; the OpenAPI document is generated from
it; its example is in `chalicelib.openapi_examples`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, NotRequired

from typing_extensions import TypedDict

from chalicelib.core.clock import iso_utc
from chalicelib.core.records import Appointment, Clinic
from chalicelib.core.timezones import local_time
from chalicelib.store import clinic_day
from chalicelib.visits.form_status import FormState, form_states

if TYPE_CHECKING:
    # Only the type: the waiting room sits above visits and hands its queues in (see visits.service).
    from chalicelib.waiting.day import ProviderQueue


class VisitView(TypedDict):
    """An appointment's visit: where it stands on the day (status) and when each move happened (UTC)."""

    id: str
    status: str
    start: str
    start_local: str
    duration_minutes: int
    provider: str | None
    version: int
    arrived_at: str | None
    checked_in_by: str | None
    started_at: str | None
    finished_at: str | None
    noshow_at: str | None
    closed_by: str | None


class QueuePatient(TypedDict):
    id: str
    name: str | None


class QueueRow(VisitView):
    """A visit in the day's queue: its patient, the ticket number the board shows for it (null until the
    patient arrived or was called in), its pre-visit form (null: none) and for a checked-in patient the
    estimate."""

    patient: QueuePatient
    ticket: int | None
    form: FormState | None
    estimated_call_at: NotRequired[str]
    estimated_wait_minutes: NotRequired[int]
    ahead: NotRequired[int]


class ProviderQueueView(TypedDict):
    provider: str
    now_seeing: str | None
    lag_minutes: int
    visit_length_ratio: float
    appointments: list[QueueRow]


class QueueView(TypedDict):
    """`GET /v1/queue`: per provider, the day's appointments in booked order."""

    clinic_id: str
    date: str
    timezone: str
    providers: list[ProviderQueueView]


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def _minutes(span: timedelta) -> int:
    return int(round(span / timedelta(minutes=1)))


def ticket_numbers(appointments: Iterable[Appointment]) -> dict[str, int]:
    """A short number per appointment of the day, in the order patients arrived (or were called in without
    checking in): 1, 2, 3… Stable for the day: a patient who arrives later always gets the next number, and a
    number is never given twice, so the front desk can say "you are number 7". The board and the queue view
    both number by it, over every provider's appointments of the clinic's day."""
    arrived = [a for a in appointments if (a.arrived_at or a.started_at) is not None]
    arrived.sort(key=lambda a: (a.arrived_at or a.started_at, a.appointment_id))
    return {a.appointment_id: number for number, a in enumerate(arrived, start=1)}


def visit_view(appointment: Appointment) -> VisitView:
    return {
        "id": appointment.appointment_id,
        "status": appointment.status,
        "start": iso_utc(appointment.start),
        "start_local": local_time(appointment.start, appointment.timezone).isoformat(),
        "duration_minutes": int(appointment.duration_minutes),
        "provider": appointment.provider,
        "version": int(appointment.version),
        "arrived_at": _instant(appointment.arrived_at),
        "checked_in_by": appointment.checked_in_by,
        "started_at": _instant(appointment.started_at),
        "finished_at": _instant(appointment.finished_at),
        "noshow_at": _instant(appointment.noshow_at),
        "closed_by": appointment.closed_by,  # "day_close": closed at closing time, not by the front desk
    }


def queue_view(clinic: Clinic, day: date, queues: list[ProviderQueue], provider: str | None = None) -> QueueView:
    """Per provider (every one, or only `provider`'s), the day's appointments in booked order; each checked-in
    patient with their estimate. `queues` are the whole clinic's: ticket numbers count every provider's
    arrivals, as the board's do."""
    tickets = ticket_numbers(a for queue in queues for a in queue.appointments)
    shown = [queue for queue in queues if provider is None or queue.provider == provider]
    forms = form_states(clinic, (a for queue in shown for a in queue.appointments))  # done or not, no answers
    providers: list[ProviderQueueView] = []
    for queue in shown:
        rows: list[QueueRow] = []
        for appointment in queue.appointments:
            patient = clinic_day.patient(appointment.clinic_id, appointment.patient_id)
            # mypy asks that a ** item name the row's optional keys too; they are set below, when known.
            row = QueueRow(
                **visit_view(appointment),  # type: ignore[typeddict-item]
                patient={"id": patient.patient_id, "name": patient.name},
                ticket=tickets.get(appointment.appointment_id),
                form=forms.get(appointment.appointment_id),
            )
            estimate = queue.estimates.get(appointment.appointment_id)
            if estimate is not None:
                row["estimated_call_at"] = iso_utc(estimate.called_at)
                row["estimated_wait_minutes"] = _minutes(estimate.wait)
                row["ahead"] = estimate.ahead
            rows.append(row)
        providers.append(
            {
                "provider": queue.provider,
                "now_seeing": queue.in_progress.appointment_id if queue.in_progress is not None else None,
                "lag_minutes": _minutes(queue.lag),
                "visit_length_ratio": round(queue.ratio, 2),
                "appointments": rows,
            }
        )
    return {"clinic_id": clinic.clinic_id, "date": day.isoformat(), "timezone": clinic.timezone, "providers": providers}
