"""The one text form of an instant, the refusal of naive times (`chalicelib.core.clock`) and the accepted IANA
zones (`chalicelib.core.timezones`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from chalicelib.core.clock import iso_utc, to_utc
from chalicelib.core.timezones import is_known_timezone, known_timezones, local_time


class NoOffset(tzinfo):
    """A tzinfo that does not know its offset: aware in form, naive in fact."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


# --- to_utc --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/New_York")),
        datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 12, 1, 15, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
    ],
)
def test_to_utc_keeps_the_instant(moment: datetime) -> None:
    converted = to_utc(moment)

    assert converted == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert converted.tzinfo is UTC


@pytest.mark.parametrize("moment", [datetime(2026, 12, 1, 9, 0), datetime(2026, 12, 1, 9, 0, tzinfo=NoOffset())])
def test_to_utc_rejects_a_naive_time(moment: datetime) -> None:
    with pytest.raises(ValueError, match="naive datetime 2026-12-01T09:00:00"):
        to_utc(moment)


# --- iso_utc -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 12, 1, 14, 0, tzinfo=UTC), "2026-12-01T14:00:00Z"),
        (datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/New_York")), "2026-12-01T14:00:00Z"),
        (datetime(2026, 12, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5))), "2026-12-02T04:30:00Z"),
        (datetime(2026, 3, 8, 3, 30, tzinfo=ZoneInfo("America/New_York")), "2026-03-08T07:30:00Z"),
        (datetime(2026, 12, 1, 14, 0, 5, 999_999, tzinfo=UTC), "2026-12-01T14:00:05Z"),
    ],
)
def test_iso_utc_is_seconds_precision_with_z(moment: datetime, text: str) -> None:
    assert iso_utc(moment) == text


def test_iso_utc_rejects_a_naive_time() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        iso_utc(datetime(2026, 12, 1, 14, 0))


# --- timezones -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC"])
def test_iana_zones_are_known(name: str) -> None:
    assert is_known_timezone(name)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "america/new_york", "EST5EDT ", "+05:00"])
def test_other_names_are_not_zones(name: str) -> None:
    assert not is_known_timezone(name)


def test_known_timezones_is_the_whole_database_read_once() -> None:
    assert known_timezones() is known_timezones()
    assert len(known_timezones()) > 400


@pytest.mark.parametrize(
    ("zone", "wall", "offset"),
    [
        ("America/New_York", datetime(2026, 12, 1, 9, 0), timedelta(hours=-5)),
        ("Europe/Berlin", datetime(2026, 12, 1, 15, 0), timedelta(hours=1)),
        ("Asia/Kolkata", datetime(2026, 12, 1, 19, 30), timedelta(hours=5, minutes=30)),
    ],
)
def test_local_time_is_the_wall_clock_in_the_zone(zone: str, wall: datetime, offset: timedelta) -> None:
    local = local_time(datetime(2026, 12, 1, 14, 0, tzinfo=UTC), zone)

    assert local.replace(tzinfo=None) == wall
    assert local.utcoffset() == offset


def test_local_time_right_after_spring_forward() -> None:
    local = local_time(datetime(2026, 3, 8, 7, 30, tzinfo=UTC), "America/New_York")

    assert local.replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)
    assert local.utcoffset() == timedelta(hours=-4)
