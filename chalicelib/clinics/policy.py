"""A clinic's policy: its reminder schedule, quiet hours, opening hours, frequency caps, contact details and SMS
templates.

It is stored as JSON text on the clinic's item (`Clinic.policy`), so an admin can read and fix it in the
DynamoDB console. The API validates a policy before it stores it (`chalicelib.clinics.bodies`, 400 naming every
wrong field) and stores it in one form (`policy_json`). Reading it back (`policy_from_json`, on the fire path,
without pydantic) checks it is still in that form, because a hand edit can be wrong: an item that is not is
logged with its key (never its content, which may hold a phone number) and the defaults are used instead, so a
bad edit can never stop reminders going out.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from msgspec import Struct, field

from chalicelib.clinics.form_settings import FormRule, forms_from_json, forms_json
from chalicelib.clinics.inbox_settings import NO_INBOX_SETTINGS, InboxSettings, inbox_from_json, inbox_json
from chalicelib.clinics.medication import DEFAULT_MEDICATION, MedicationSettings, medication_from_json, medication_json
from chalicelib.clinics.messenger_settings import NO_MESSENGER, messenger_from_json, messenger_json
from chalicelib.clinics.whatsapp_settings import NO_WHATSAPP, WhatsAppSettings, whatsapp_from_json, whatsapp_json
from chalicelib.core.fields import read_clock, read_duration
from chalicelib.core.words import Channel, Kind
from chalicelib.plan.appointment_reminders import (
    ChannelChoice,
    LocalClockRule,
    OffsetRule,
    ReminderPolicy,
    ReminderRule,
)
from chalicelib.plan.channel_order import DEFAULT_ORDER
from chalicelib.plan.quiet_hours import DEFAULT_QUIET_HOURS, QuietHours
from chalicelib.render.gsm7 import sanitise
from chalicelib.render.segments import sms_segments

if TYPE_CHECKING:
    from chalicelib.clinics.views import PolicyView
    from chalicelib.core.records import Clinic

DEFAULT_RULES: tuple[ReminderRule, ...] = (OffsetRule(timedelta(hours=24)), OffsetRule(timedelta(hours=2)))
PLACEHOLDERS = frozenset({"clinic", "when", "place", "link", "phone"})
# What a placeholder is taken to fill when a template's length is checked at save time: typical, not extreme.
SAMPLE_VALUES = {
    "when": "Wed 30 Sep at 12:30 PM",
    "place": "Room 12",
    "link": "https://carecue.example/p/" + "x" * 43,
    "phone": "+14155550100",
}
MAX_RULES = 6
MAX_OFFSET = timedelta(days=30)


class OpeningHours(Struct, frozen=True):
    """The clinic's day, on its own wall clock: the running-late watch runs only inside it, and at `close` the
    day closes (`chalicelib.waiting.service`). Same-day only: `open` is before `close`."""

    open: time
    close: time

    def opens_at(self, day: date, zone: str) -> datetime:
        return datetime.combine(day, self.open, tzinfo=ZoneInfo(zone))

    def closes_at(self, day: date, zone: str) -> datetime:
        return datetime.combine(day, self.close, tzinfo=ZoneInfo(zone))


DEFAULT_OPENING_HOURS = OpeningHours(time(8, 0), time(18, 0))


class ClinicPolicy(Struct, frozen=True):
    reminder_rules: tuple[ReminderRule, ...] = DEFAULT_RULES
    quiet_hours: QuietHours | None = DEFAULT_QUIET_HOURS
    frequency_caps: bool = False  # the US healthcare-exemption caps: 1 SMS a day, 3 a week per patient
    sender_name: str | None = None
    reply_to: str | None = None
    contact_phone: str | None = None
    booking_url: str | None = None
    patients_may_cancel: bool = True
    sms_segment_limit: int = 2
    templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # language → kind → SMS text
    medication: MedicationSettings = DEFAULT_MEDICATION  # dose times of the `when` codes, windows, names in SMS
    opening_hours: OpeningHours = DEFAULT_OPENING_HOURS
    check_in_window_minutes: int = 60  # how long before the start a patient may check in (HERE, the link)
    board_labels: str = (
        "initials"  # the waiting-room board: "initials" (ticket numbers only to tell two apart) or "tickets"
    )
    whatsapp: WhatsAppSettings = NO_WHATSAPP  # the clinic's approved templates (chalicelib.clinics.whatsapp_settings)
    forms: tuple[FormRule, ...] = ()  # the pre-visit forms and the appointments they are for (form_settings)
    # Its Messenger utility templates (chalicelib.clinics.messenger_settings).
    messenger: WhatsAppSettings = NO_MESSENGER
    # The inbox's automatic answer (hours, urgent number) and notice email (chalicelib.clinics.inbox_settings).
    inbox: InboxSettings = NO_INBOX_SETTINGS
    # The patients' channel order before their own preference (chalicelib.plan.channel_order): every message goes
    # on the first of these the patient can receive it on; SMS and email are always in it.
    channel_order: tuple[Channel, ...] = DEFAULT_ORDER
    # Where the confirmation, reschedule and cancellation notices go, as a reminder rule's `channel`: by default
    # one message on the patient's order; `both` for the phone and the email (the email carries the .ics).
    notice_channel: ChannelChoice = ChannelChoice.ORDER
    # How long a channel that reports delivery has to report it before the message goes on the next channel
    # (chalicelib.fire.delivery_window).
    delivery_window_minutes: int = 15

    def reminder_policy(self) -> ReminderPolicy:
        return ReminderPolicy(rules=self.reminder_rules, quiet_hours=self.quiet_hours)


DEFAULT_POLICY = ClinicPolicy()


def clinic_policy(clinic: Clinic) -> ClinicPolicy:
    """The clinic's policy, checked on read; a bad hand edit is logged with the item key and ignored."""
    if not clinic.policy:
        return DEFAULT_POLICY
    return _validated(clinic.clinic_id, clinic.policy, clinic.name)


@lru_cache(maxsize=64)
def _validated(clinic_id: str, raw: str, clinic_name: str) -> ClinicPolicy:
    # One send reads the policy several times; parsing (and logging a bad edit) once per value is enough.
    from chalicelib.core.observability import logger

    try:
        return policy_from_json(json.loads(raw), clinic_name)
    except (ValueError, TypeError, KeyError) as e:
        # The part that failed (a field name or a type), never a value: the policy may hold a phone number.
        logger.error(
            "clinic policy invalid, using defaults",
            extra={"table": "clinics", "clinic_id": clinic_id, "error": type(e).__name__},
        )
        return DEFAULT_POLICY


def parse_policy(data: Any, clinic_name: str, region: str | None = None) -> ClinicPolicy:
    """A policy from a request body (`PUT /v1/clinic` without its time zone); every wrong field is named in one
    InvalidRequest. `region`: the clinic's country, where a contact phone without a country code is read (it is
    stored in E.164). Validated by `chalicelib.clinics.bodies.ClinicSettingsBody`, imported here when called:
    the fire path imports this module, and pydantic is not on it."""
    from chalicelib.clinics.bodies import ClinicSettingsBody
    from chalicelib.core.validation import Context, read_body

    return read_body(ClinicSettingsBody, data, Context(region=region, clinic_name=clinic_name)).to_policy()


def policy_from_json(data: Any, clinic_name: str) -> ClinicPolicy:
    """A stored policy: the form `policy_json` writes after a request was validated, read back without pydantic
    (this is on the fire path). A part missing takes its default; anything else not in that form (a hand edit)
    raises ValueError, TypeError or KeyError, and the caller uses the defaults."""
    if not isinstance(data, dict) or data.keys() - _STORED:
        raise ValueError("not a stored policy")
    default = DEFAULT_POLICY
    rules = default.reminder_rules
    if "reminders" in data:
        rules = tuple(_rule_from_json(item) for item in _typed(data["reminders"], list))
        if len(rules) > MAX_RULES or len({rule.label for rule in rules}) != len(rules):
            raise ValueError("reminders")
    quiet = default.quiet_hours
    if "quiet_hours" in data:
        quiet = None if data["quiet_hours"] is None else QuietHours(*_clocks(data["quiet_hours"], "start", "end"))
    limit = _typed(data.get("sms_segment_limit", default.sms_segment_limit), int)
    templates: dict[str, dict[str, str]] = {}
    for language, kinds in _typed(data.get("templates", {}), dict).items():
        for kind, text in _typed(kinds, dict).items():
            Kind(kind)  # ValueError: not a message kind
            if template_problem(_typed(text, str), clinic_name, limit):
                raise ValueError("templates")
            templates.setdefault(_typed(language, str), {})[kind] = text
    opening = default.opening_hours
    if data.get("opening_hours") is not None:
        opening = OpeningHours(*_clocks(data["opening_hours"], "open", "close"))
        if not opening.open < opening.close:
            raise ValueError("opening_hours")
    return ClinicPolicy(
        rules,
        quiet,
        _typed(data.get("frequency_caps", default.frequency_caps), bool),
        _optional_text(data.get("sender_name")),
        _optional_text(data.get("reply_to")),
        _optional_text(data.get("contact_phone")),
        _optional_text(data.get("booking_url")),
        _typed(data.get("patients_may_cancel", default.patients_may_cancel), bool),
        limit,
        templates,
        medication=medication_from_json(data.get("medication")),
        opening_hours=opening,
        board_labels=_board_labels(data.get("board_labels", default.board_labels)),
        check_in_window_minutes=_window(data.get("check_in_window_minutes", default.check_in_window_minutes)),
        whatsapp=whatsapp_from_json(data.get("whatsapp")),
        forms=forms_from_json(data.get("forms")),
        messenger=messenger_from_json(data.get("messenger")),
        inbox=inbox_from_json(data.get("inbox")),
        channel_order=_channel_order(data.get("channel_order", [c.value for c in default.channel_order])),
        notice_channel=ChannelChoice(_typed(data.get("notice_channel", default.notice_channel.value), str)),
        delivery_window_minutes=_delivery_window(data.get("delivery_window_minutes", default.delivery_window_minutes)),
    )


def policy_json(policy: ClinicPolicy) -> PolicyView:
    return {
        "reminders": [_rule_json(rule) for rule in policy.reminder_rules],
        "quiet_hours": None
        if policy.quiet_hours is None
        else {"start": f"{policy.quiet_hours.start:%H:%M}", "end": f"{policy.quiet_hours.end:%H:%M}"},
        "frequency_caps": policy.frequency_caps,
        "sender_name": policy.sender_name,
        "reply_to": policy.reply_to,
        "contact_phone": policy.contact_phone,
        "booking_url": policy.booking_url,
        "patients_may_cancel": policy.patients_may_cancel,
        "sms_segment_limit": policy.sms_segment_limit,
        "templates": {language: dict(kinds) for language, kinds in policy.templates.items()},
        "medication": medication_json(policy.medication),
        "opening_hours": {"open": f"{policy.opening_hours.open:%H:%M}", "close": f"{policy.opening_hours.close:%H:%M}"},
        "board_labels": policy.board_labels,
        "check_in_window_minutes": policy.check_in_window_minutes,
        "whatsapp": whatsapp_json(policy.whatsapp),
        "forms": forms_json(policy.forms),
        "messenger": messenger_json(policy.messenger),
        "inbox": inbox_json(policy.inbox),
        "channel_order": [channel.value for channel in policy.channel_order],
        "notice_channel": policy.notice_channel.value,
        "delivery_window_minutes": policy.delivery_window_minutes,
    }


def duration_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    time_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return "P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "")


def _rule_json(rule: ReminderRule) -> dict[str, Any]:
    if isinstance(rule, OffsetRule):
        return {"before": duration_text(rule.before), "channel": rule.channel.value}
    return {"days_before": rule.days_before, "at": f"{rule.at:%H:%M}", "channel": rule.channel.value}


_STORED = frozenset(
    {
        "reminders",
        "quiet_hours",
        "frequency_caps",
        "sender_name",
        "reply_to",
        "contact_phone",
        "booking_url",
        "patients_may_cancel",
        "sms_segment_limit",
        "templates",
        "medication",
        "opening_hours",
        "board_labels",
        "check_in_window_minutes",
        "whatsapp",
        "forms",
        "messenger",
        "inbox",
        "channel_order",
        "notice_channel",
        "delivery_window_minutes",
    }
)
T = TypeVar("T")


def _typed(value: Any, kind: type[T]) -> T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(kind.__name__)
    return value


BOARD_LABELS = ("initials", "tickets")


def _window(value: Any) -> int:
    minutes = _typed(value, int)
    if not 0 <= minutes <= 24 * 60:
        raise ValueError("check_in_window_minutes")
    return minutes


DELIVERY_WINDOW_MINUTES = (5, 24 * 60)  # the bounds of `delivery_window_minutes`


def _delivery_window(value: Any) -> int:
    minutes = _typed(value, int)
    if not DELIVERY_WINDOW_MINUTES[0] <= minutes <= DELIVERY_WINDOW_MINUTES[1]:
        raise ValueError("delivery_window_minutes")
    return minutes


def channel_order_problem(value: Any) -> str | None:
    """What is wrong with a clinic's channel order, or None (the body's check and the stored form's are one)."""
    names = {channel.value for channel in Channel}
    valid = isinstance(value, list) and all(isinstance(item, str) and item in names for item in value)
    if not valid or len(set(value)) != len(value):
        return f"must list channels among {sorted(names)}, each at most once"
    if not {Channel.SMS.value, Channel.EMAIL.value} <= set(value):
        return "must include sms and email (every patient has a phone or an email; a chat channel may be left out)"
    return None


def _channel_order(value: Any) -> tuple[Channel, ...]:
    if channel_order_problem(value) is not None:
        raise ValueError("channel_order")
    return tuple(Channel(item) for item in value)


def _board_labels(value: Any) -> str:
    if value not in BOARD_LABELS:
        raise ValueError("board_labels")
    return str(value)


def _optional_text(value: Any) -> str | None:
    return None if value is None else _typed(value, str)


def _clocks(value: Any, *names: str) -> list[time]:
    if _typed(value, dict).keys() != set(names):
        raise ValueError(names)
    clocks = [read_clock(_typed(value[name], str)) for name in names]
    return [_typed(clock, time) for clock in clocks]


def _rule_from_json(item: Any) -> ReminderRule:
    channel = ChannelChoice(_typed(item, dict).get("channel", ChannelChoice.ORDER.value))
    if item.keys() <= {"before", "channel"}:
        before = read_duration(_typed(item["before"], str))
        if before is None or not timedelta(minutes=5) <= before <= MAX_OFFSET:
            raise ValueError("before")
        return OffsetRule(before, channel)
    if not item.keys() <= {"days_before", "at", "channel"}:
        raise ValueError("rule")
    days_before = _typed(item["days_before"], int)
    (at,) = _clocks({"at": item["at"]}, "at")
    if not 0 <= days_before <= 30:
        raise ValueError("days_before")
    return LocalClockRule(days_before, at, channel)


def template_problem(text: str, clinic_name: str, limit: int) -> str | None:
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(text)]
    except ValueError:
        return "has an unmatched { or }"
    names = {name for name, _, _ in fields if name is not None}
    if any(spec or conversion for name, spec, conversion in fields if name is not None):
        # CareCue formats each value itself (the day and time in the patient's language): "{when:%Y}" or
        # "{clinic!r}" would fail or show the raw value at send time.
        return "uses a format such as {when:…} or {clinic!r}; write the placeholder alone, e.g. {when}"
    if unknown := names - PLACEHOLDERS:
        return f"uses unknown placeholders {sorted(unknown)}; use {sorted(PLACEHOLDERS)}"
    if any(not name for name in names):
        return "has an empty {} placeholder"
    sample = sanitise(text.format(clinic=clinic_name, **SAMPLE_VALUES))
    segments = sms_segments(sample)
    if segments > limit:
        return f"is {segments} SMS segments with typical values; the clinic's limit is {limit}"
    return None
