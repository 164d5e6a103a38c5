"""A clinic's policy: its reminder schedule, quiet hours, opening hours, frequency caps, contact details and SMS
templates.

It is stored as JSON text on the clinic's item (`Clinic.policy`), so an admin can read and fix it in the
DynamoDB console. Because a hand edit can be wrong, it is validated every time it is read: an item that does
not parse is logged with its key (never its content, which may hold a phone number) and the defaults are used
instead, so a bad edit can never stop reminders going out. The API validates before it stores (400 naming the
field), so only a hand edit can store a bad policy.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib.clinics.medication import (
    DEFAULT_MEDICATION,
    MedicationSettings,
    medication_json,
    parse_medication,
)
from chalicelib.clinics.whatsapp_settings import NO_WHATSAPP, WhatsAppSettings, parse_whatsapp, whatsapp_json
from chalicelib.core.errors import FieldProblem, InvalidRequest
from chalicelib.core.fields import Fields
from chalicelib.core.words import Kind
from chalicelib.plan.appointment_reminders import (
    ChannelChoice,
    LocalClockRule,
    OffsetRule,
    ReminderPolicy,
    ReminderRule,
)
from chalicelib.plan.quiet_hours import DEFAULT_QUIET_HOURS, QuietHours
from chalicelib.render.gsm7 import sanitise
from chalicelib.render.segments import sms_segments

if TYPE_CHECKING:
    from chalicelib.store.models import Clinic

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
_DURATION = re.compile(r"^P(?:(\d{1,4})D)?(?:T(?:(\d{1,5})H)?(?:(\d{1,6})M)?)?$")  # bounded: no overflow
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_URL = re.compile(r"^https://[^\s/$.?#][^\s]*$")


@dataclass(frozen=True)
class OpeningHours:
    """The clinic's day, on its own wall clock: the running-late watch runs only inside it, and at `close` the
    day closes (`chalicelib.waiting.service`). Same-day only: `open` is before `close`."""

    open: time
    close: time

    def opens_at(self, day: date, zone: str) -> datetime:
        return datetime.combine(day, self.open, tzinfo=ZoneInfo(zone))

    def closes_at(self, day: date, zone: str) -> datetime:
        return datetime.combine(day, self.close, tzinfo=ZoneInfo(zone))


DEFAULT_OPENING_HOURS = OpeningHours(time(8, 0), time(18, 0))


@dataclass(frozen=True)
class ClinicPolicy:
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
    whatsapp: WhatsAppSettings = NO_WHATSAPP  # the clinic's approved templates (chalicelib.clinics.whatsapp_settings)

    def reminder_policy(self) -> ReminderPolicy:
        return ReminderPolicy(rules=self.reminder_rules, quiet_hours=self.quiet_hours)


DEFAULT_POLICY = ClinicPolicy()


def clinic_policy(clinic: Clinic) -> ClinicPolicy:
    """The clinic's policy, validated on read; a bad hand edit is logged with the item key and ignored."""
    if not clinic.policy:
        return DEFAULT_POLICY
    return _validated(clinic.clinic_id, clinic.policy, clinic.name)


@lru_cache(maxsize=64)
def _validated(clinic_id: str, raw: str, clinic_name: str) -> ClinicPolicy:
    # One send reads the policy several times; parsing (and logging a bad edit) once per value is enough.
    from chalicelib.core.observability import logger

    try:
        data = json.loads(raw)
        return parse_policy(data, clinic_name)
    except (ValueError, InvalidRequest) as e:
        fields = [p.field for p in e.problems] if isinstance(e, InvalidRequest) else ["policy"]
        logger.error(
            "clinic policy invalid, using defaults",
            extra={"table": "clinics", "clinic_id": clinic_id, "fields": fields},
        )
        return DEFAULT_POLICY


def parse_policy(data: Any, clinic_name: str, region: str | None = None) -> ClinicPolicy:
    """A policy from its JSON form; every wrong field is named in one InvalidRequest. `region`: the clinic's
    country, where a contact phone without a country code is read (it is stored in E.164)."""
    problems: list[FieldProblem] = []
    if not isinstance(data, dict):
        raise InvalidRequest.single("policy", "must be a JSON object")
    known = {
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
        "whatsapp",
    }
    for name in sorted(data.keys() - known):
        problems.append(FieldProblem(name, "is not a clinic setting"))
    rules = _rules(data.get("reminders", None), problems)
    quiet = _quiet_hours(data.get("quiet_hours", "default"), problems)
    caps = _boolean(data, "frequency_caps", False, problems)
    may_cancel = _boolean(data, "patients_may_cancel", True, problems)
    limit = data.get("sms_segment_limit", 2)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10:
        problems.append(FieldProblem("sms_segment_limit", "must be a whole number from 1 to 10"))
        limit = 2
    sender = _text(data, "sender_name", 1, 40, None, problems)
    # The same reading of a phone number (phonenumbers) and an email address (email-validator) as a patient's.
    contact = Fields(data, region=region)
    reply_to = contact.email("reply_to")
    phone = contact.phone("contact_phone")
    problems.extend(contact.problems)
    booking = _text(data, "booking_url", 9, 500, _URL, problems, "must be an https:// URL")
    templates = _templates(data.get("templates", {}), clinic_name, limit, problems)
    medication = parse_medication(data.get("medication"), problems)
    opening = _opening_hours(data.get("opening_hours"), problems)
    whatsapp = parse_whatsapp(data.get("whatsapp"), problems)
    if problems:
        raise InvalidRequest(problems)
    return ClinicPolicy(
        rules,
        quiet,
        caps,
        sender,
        reply_to,
        phone,
        booking,
        may_cancel,
        limit,
        templates,
        medication=medication,
        opening_hours=opening,
        whatsapp=whatsapp,
    )


def policy_json(policy: ClinicPolicy) -> dict[str, Any]:
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
        "whatsapp": whatsapp_json(policy.whatsapp),
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


def _rules(value: Any, problems: list[FieldProblem]) -> tuple[ReminderRule, ...]:
    if value is None:
        return DEFAULT_RULES
    if not isinstance(value, list) or len(value) > MAX_RULES:
        problems.append(FieldProblem("reminders", f"must be a list of at most {MAX_RULES} rules"))
        return DEFAULT_RULES
    rules: list[ReminderRule] = []
    for index, item in enumerate(value):
        where = f"reminders[{index}]"
        if not isinstance(item, dict):
            problems.append(FieldProblem(where, "must be an object"))
            continue
        # Each part of a rule is checked even when another is wrong: the 400 names every wrong field at once.
        channel: ChannelChoice | None
        try:
            channel = ChannelChoice(item.get("channel", "both"))
        except ValueError:
            problems.append(FieldProblem(f"{where}.channel", "must be sms, email, both or preferred"))
            channel = None
        if "before" in item and item.keys() <= {"before", "channel"}:
            match = _DURATION.match(str(item["before"]))
            if not match or not any(match.groups()):
                problems.append(FieldProblem(f"{where}.before", "must be an ISO 8601 duration such as P1D or PT2H"))
                continue
            days, hours, minutes = (int(part or 0) for part in match.groups())
            before = timedelta(days=days, hours=hours, minutes=minutes)
            if not timedelta(minutes=5) <= before <= MAX_OFFSET:
                problems.append(FieldProblem(f"{where}.before", "must be from 5 minutes to 30 days"))
                continue
            if channel is not None:
                rules.append(OffsetRule(before, channel))
        elif item.keys() >= {"days_before", "at"} and item.keys() <= {"days_before", "at", "channel"}:
            days_before = item["days_before"]
            clock = _CLOCK.match(str(item["at"]))
            days_ok = not isinstance(days_before, bool) and isinstance(days_before, int) and 0 <= days_before <= 30
            if not days_ok:
                problems.append(FieldProblem(f"{where}.days_before", "must be a whole number from 0 to 30"))
            if not clock:
                problems.append(FieldProblem(f"{where}.at", "must be a local time HH:MM such as 18:00"))
            if days_ok and clock and channel is not None:
                rules.append(LocalClockRule(days_before, time(int(clock[1]), int(clock[2])), channel))
        else:
            problems.append(
                FieldProblem(where, 'must be {"before": "PT2H"} or {"days_before": 1, "at": "18:00"}, with "channel"')
            )
    labels = [rule.label for rule in rules]
    if len(set(labels)) != len(labels):
        problems.append(FieldProblem("reminders", "has the same reminder twice"))
    return tuple(rules)


def _quiet_hours(value: Any, problems: list[FieldProblem]) -> QuietHours | None:
    if value == "default":
        return DEFAULT_QUIET_HOURS
    if value is None:
        return None
    if isinstance(value, dict) and value.keys() == {"start", "end"}:
        start, end = _CLOCK.match(str(value["start"])), _CLOCK.match(str(value["end"]))
        if start and end and start[0] != end[0]:
            return QuietHours(time(int(start[1]), int(start[2])), time(int(end[1]), int(end[2])))
    problems.append(FieldProblem("quiet_hours", 'must be null or {"start": "21:00", "end": "08:00"} (different times)'))
    return DEFAULT_QUIET_HOURS


def _opening_hours(value: Any, problems: list[FieldProblem]) -> OpeningHours:
    if value is None:
        return DEFAULT_OPENING_HOURS
    if not isinstance(value, dict):
        problems.append(FieldProblem("opening_hours", 'must be {"open": "08:00", "close": "18:00"}'))
        return DEFAULT_OPENING_HOURS
    for name in sorted(value.keys() - {"open", "close"}):
        problems.append(FieldProblem(f"opening_hours.{name}", "is not part of opening hours (open, close)"))
    times: dict[str, time] = {}
    for name in ("open", "close"):
        clock = _CLOCK.match(str(value.get(name, "")))
        if clock is None:
            problems.append(FieldProblem(f"opening_hours.{name}", "must be a local time HH:MM such as 08:00"))
        else:
            times[name] = time(int(clock[1]), int(clock[2]))
    if len(times) < 2:
        return DEFAULT_OPENING_HOURS
    if not times["open"] < times["close"]:
        # A day that runs past midnight would close on the next calendar day; no clinic we serve has one.
        problems.append(FieldProblem("opening_hours.close", "must be later in the day than opening_hours.open"))
        return DEFAULT_OPENING_HOURS
    return OpeningHours(times["open"], times["close"])


def _boolean(data: dict[str, Any], name: str, default: bool, problems: list[FieldProblem]) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        problems.append(FieldProblem(name, "must be true or false"))
        return default
    return value


def _text(
    data: dict[str, Any],
    name: str,
    shortest: int,
    longest: int,
    pattern: re.Pattern[str] | None,
    problems: list[FieldProblem],
    problem: str = "",
) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not shortest <= len(value.strip()) <= longest:
        problems.append(FieldProblem(name, f"must be text of {shortest} to {longest} characters"))
        return None
    if pattern is not None and not pattern.match(value.strip()):
        problems.append(FieldProblem(name, problem))
        return None
    return value.strip()


def _templates(value: Any, clinic_name: str, limit: int, problems: list[FieldProblem]) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        problems.append(FieldProblem("templates", 'must be an object of languages, e.g. {"es": {"reminder": …}}'))
        return {}
    templates: dict[str, dict[str, str]] = {}
    kinds = {kind.value for kind in Kind}
    for language, texts in value.items():
        if not isinstance(language, str) or not _LANGUAGE.match(language):
            problems.append(FieldProblem(f"templates.{language}", "must be a language tag such as en or es"))
            continue
        if not isinstance(texts, dict):
            problems.append(FieldProblem(f"templates.{language}", "must be an object of message kinds"))
            continue
        for kind, text in texts.items():
            where = f"templates.{language}.{kind}"
            if kind not in kinds:
                problems.append(FieldProblem(where, f"is not a message kind ({', '.join(sorted(kinds))})"))
            elif not isinstance(text, str) or not 1 <= len(text) <= 1000:
                problems.append(FieldProblem(where, "must be text of 1 to 1000 characters"))
            elif problem := _template_problem(text, clinic_name, limit):
                problems.append(FieldProblem(where, problem))
            else:
                templates.setdefault(language, {})[kind] = text
    return templates


def _template_problem(text: str, clinic_name: str, limit: int) -> str | None:
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
