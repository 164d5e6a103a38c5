"""The JSON shapes of the day of the visit: one appointment's visit, and a day's queue for the front desk."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import iso_utc
from chalicelib.core.records import Appointment, Clinic
from chalicelib.core.timezones import local_time
from chalicelib.store import clinic_day
from chalicelib.visits.form_status import form_states

if TYPE_CHECKING:
    # Only the type: the waiting room sits above visits and hands its queues in (see visits.service).
    from chalicelib.waiting.day import ProviderQueue


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def _minutes(span: timedelta) -> int:
    return int(round(span / timedelta(minutes=1)))


def visit_view(appointment: Appointment) -> dict[str, Any]:
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


def queue_view(clinic: Clinic, day: date, queues: list[ProviderQueue]) -> dict[str, Any]:
    """Per provider, the day's appointments in booked order; each checked-in patient with their estimate."""
    forms = form_states(clinic, (a for queue in queues for a in queue.appointments))  # done or not, no answers
    providers = []
    for queue in queues:
        rows = []
        for appointment in queue.appointments:
            row = visit_view(appointment)
            patient = clinic_day.patient(appointment.clinic_id, appointment.patient_id)
            row["patient"] = {"id": patient.patient_id, "name": patient.name}
            row["form"] = forms.get(appointment.appointment_id)
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
