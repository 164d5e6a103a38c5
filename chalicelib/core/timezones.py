"""IANA time zones: which names CareCue accepts, and local time in a zone."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones


@lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    # available_timezones() walks the tz database (about 600 names); once per process is enough.
    return frozenset(available_timezones())


def is_known_timezone(name: str) -> bool:
    return name in known_timezones()


def local_time(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


@lru_cache(maxsize=256)
def phone_region(zone: str) -> str | None:
    """The country (ISO 3166 alpha-2, as phonenumbers names regions) whose numbers a clinic in `zone` writes
    without a country code: Europe/Berlin is DE, America/Los_Angeles is US. CLDR's zone-to-territory table
    (shipped with Babel) says it; a zone of no one country (Etc/UTC) has none, and then only numbers with a
    country code are read."""
    from babel.core import get_global

    territory = get_global("zone_territories").get(zone)
    if not isinstance(territory, str) or not territory.isalpha() or len(territory) != 2 or territory == "ZZ":
        return None  # "001" (the world), "ZZ" (unknown): no country to read a national number in
    return territory.upper()
