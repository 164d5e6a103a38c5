"""How CareCue's English texts write an appointment's day and time (`chalicelib.render.templates.local_when`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.core.timezones import local_time
from chalicelib.render.templates import local_when

NEW_YORK = ZoneInfo("America/New_York")


# --- local_when ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_start", "text"),
    [
        (datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK), "Tue 1 Dec at 9:00 AM"),
        (datetime(2026, 12, 1, 12, 30, tzinfo=NEW_YORK), "Tue 1 Dec at 12:30 PM"),
        (datetime(2026, 12, 1, 0, 5, tzinfo=NEW_YORK), "Tue 1 Dec at 12:05 AM"),
        (datetime(2026, 12, 1, 0, 0, tzinfo=NEW_YORK), "Tue 1 Dec at 12:00 AM"),
        (datetime(2026, 12, 1, 12, 0, tzinfo=NEW_YORK), "Tue 1 Dec at 12:00 PM"),
        (datetime(2026, 12, 1, 13, 7, tzinfo=NEW_YORK), "Tue 1 Dec at 1:07 PM"),
        (datetime(2026, 12, 1, 23, 59, tzinfo=NEW_YORK), "Tue 1 Dec at 11:59 PM"),
        (datetime(2026, 9, 30, 10, 45, tzinfo=NEW_YORK), "Wed 30 Sep at 10:45 AM"),
    ],
)
def test_local_when_reads_as_day_date_and_12_hour_time(local_start: datetime, text: str) -> None:
    assert local_when(local_start) == text


def test_local_when_names_the_local_time_of_a_utc_instant() -> None:
    # GIVEN the stored start, in UTC, of an appointment in New York (EST, UTC-5)
    stored = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

    # THEN the patient reads 9:00 AM, not 2:00 PM
    assert local_when(local_time(stored, "America/New_York")) == "Tue 1 Dec at 9:00 AM"
    assert local_when(local_time(stored, "Europe/Berlin")) == "Tue 1 Dec at 3:00 PM"


def test_local_when_right_after_spring_forward() -> None:
    # On Sun 8 Mar 2026 New York clocks jump from 1:59:59 EST to 3:00 EDT.
    assert local_when(datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)) == "Sun 8 Mar at 3:30 AM"
    assert local_when(local_time(datetime(2026, 3, 8, 7, 30, tzinfo=UTC), "America/New_York")) == "Sun 8 Mar at 3:30 AM"
    assert local_when(local_time(datetime(2026, 3, 8, 6, 59, tzinfo=UTC), "America/New_York")) == "Sun 8 Mar at 1:59 AM"


def test_local_when_in_the_repeated_hour_after_fall_back() -> None:
    # On Sun 1 Nov 2026 1:00-1:59 AM happens twice in New York; both read as the wall-clock time.
    first = local_time(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "America/New_York")
    second = local_time(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "America/New_York")

    assert (first.utcoffset(), second.utcoffset()) == (timedelta(hours=-4), timedelta(hours=-5))
    assert local_when(first) == local_when(second) == "Sun 1 Nov at 1:30 AM"
