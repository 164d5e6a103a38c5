"""The clinic's inbox settings, the `"inbox"` object of `PUT /v1/clinic` (validated by
`chalicelib.clinics.bodies.InboxBody`), stored in the clinic's policy and read back here without pydantic.

    "inbox": {"hours": "Mon-Fri 8 AM to 6 PM", "urgent_phone": "911", "notice_email": "desk@example.com"}

`hours` is the clinic's own words for when it answers, put as is into the automatic answer a patient gets
(absent: the clinic's `opening_hours`, in the patient's language). `urgent_phone` is the number the automatic
answer gives for urgent matters: the clinic's phone or the local emergency number (2 to 4 digits, e.g. 911 or
112); absent: the clinic's `contact_phone`, else the answer says to call the local emergency number.
`notice_email` receives the "a patient wrote" notice (absent: the clinic's `reply_to`; neither: no notice, the
message is in the inbox all the same). Pure.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct

MAX_HOURS = 80
EMERGENCY_DIGITS = (2, 4)  # 15, 112, 911, 999, 000: how long a local emergency number is


class InboxSettings(Struct, frozen=True):
    hours: str | None = None
    urgent_phone: str | None = None
    notice_email: str | None = None


NO_INBOX_SETTINGS = InboxSettings()


def inbox_json(settings: InboxSettings) -> dict[str, Any]:
    return {"hours": settings.hours, "urgent_phone": settings.urgent_phone, "notice_email": settings.notice_email}


def inbox_from_json(data: Any) -> InboxSettings:
    """The stored form of `inbox_json`; anything else raises ValueError or TypeError (the caller falls back to
    the default policy, as for any bad hand edit)."""
    if data is None:
        return NO_INBOX_SETTINGS
    if not isinstance(data, dict) or not data.keys() <= {"hours", "urgent_phone", "notice_email"}:
        raise ValueError("inbox")
    values = [data.get(name) for name in ("hours", "urgent_phone", "notice_email")]
    if not all(value is None or (isinstance(value, str) and value) for value in values):
        raise TypeError("inbox")
    return InboxSettings(*values)
