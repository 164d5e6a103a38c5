"""Which local day and which provider's queue a visit belongs to: the keys the visit moves and the waiting
room (which sits above this package and reads visits) both go by. Pure."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from chalicelib.core.records import Appointment

UNASSIGNED = "unassigned"  # the provider key of appointments booked without one


def provider_key(appointment: Appointment) -> str:
    return appointment.provider or UNASSIGNED


def local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()
