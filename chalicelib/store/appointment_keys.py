"""The key of the `by-provider` index of appointments (docs/performance.md, "Bounded reads"): which provider's
day an appointment is listed under. Pure, no PynamoDB: the model derives it on every full save, and
`chalicelib.store.appointments.change` in the update that changes a provider.

`"<clinic_id>#<provider>"`, or `"<clinic_id>#unassigned"` for an appointment booked without one: the same queue
the waiting room puts it in (`chalicelib.visits.day.UNASSIGNED`), so the watch of the unassigned queue finds it.
The clinic is part of the key because providers are free text: two clinics' "Dr Example" are different queues.
"""

from __future__ import annotations

UNASSIGNED = "unassigned"


def provider_key(clinic_id: str, provider: str | None) -> str:
    return f"{clinic_id}#{provider or UNASSIGNED}"
