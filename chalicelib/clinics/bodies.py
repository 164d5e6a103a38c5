"""`PUT /v1/clinic` as models of the validation kit (`chalicelib.core.validation`): the clinic's time zone and
policy (reminder rules, quiet hours, caps, contact details, SMS templates, medication settings, opening hours,
board labels, WhatsApp templates, pre-visit forms, the inbox, the channel order),
every wrong field named, and the API's JSON Schema of the body (`chalicelib.schemas`). pydantic models:
imported by the settings route only; the fire path reads a stored policy with `policy.policy_from_json`.

A new setting: declare it on `ClinicSettingsBody` with its type and default, add it to `ClinicPolicy` and to
`policy_json`/`policy_from_json` (`policy.py`); `to_policy()` carries it over."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, ValidationInfo, WithJsonSchema
from pydantic_core import InitErrorDetails

from chalicelib.clinics.form_settings import MAX_FORMS, MAX_NAMES, FormRule
from chalicelib.clinics.inbox_settings import EMERGENCY_DIGITS, MAX_HOURS, NO_INBOX_SETTINGS, InboxSettings
from chalicelib.clinics.medication import MedicationSettings
from chalicelib.clinics.policy import (
    DELIVERY_WINDOW_MINUTES,
    MAX_OFFSET,
    MAX_RULES,
    PLACEHOLDERS,
    ClinicPolicy,
    OpeningHours,
    channel_order_problem,
    template_problem,
)
from chalicelib.clinics.whatsapp_settings import KINDS as WHATSAPP_KINDS
from chalicelib.clinics.whatsapp_settings import (
    MAX_BODY,
    NO_WHATSAPP,
    PARAMETERS,
    WhatsAppSettings,
    WhatsAppTemplateSetting,
    read_templates,
)
from chalicelib.core import fields as read
from chalicelib.core.timezones import is_known_timezone, phone_region
from chalicelib.core.validation import (
    LOCAL_TIME_SCHEMA,
    Body,
    Boolean,
    Email,
    IsoDuration,
    Loc,
    anchored,
    context_of,
    local_time,
    problem,
    whole_number,
)
from chalicelib.core.words import Channel, Kind
from chalicelib.plan.appointment_reminders import ChannelChoice, LocalClockRule, OffsetRule, ReminderRule
from chalicelib.plan.channel_order import DEFAULT_ORDER
from chalicelib.plan.event_timing import DEFAULT_WHEN_TIMES
from chalicelib.plan.quiet_hours import DEFAULT_QUIET_HOURS, QuietHours

_URL = re.compile(r"https://[^\s/$.?#][^\s]*")
_TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_RULE_SHAPE = 'must be {"before": "PT2H"} or {"days_before": 1, "at": "18:00"}, with "channel"'


def _several(errors: list[tuple[Loc, str]]) -> ValidationError:
    """Several problems inside one field (each under its own key), all reported."""
    details: list[InitErrorDetails] = [{"type": problem(message), "loc": loc, "input": None} for loc, message in errors]
    return ValidationError.from_exception_data("field", details)


def _bounded_text(shortest: int, longest: int, pattern: re.Pattern[str] | None = None, message: str = "") -> Any:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not shortest <= len(value.strip()) <= longest:
            raise problem(f"must be text of {shortest} to {longest} characters")
        if pattern is not None and not pattern.fullmatch(value.strip()):
            raise problem(message)
        return value.strip()

    return BeforeValidator(check)


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


# --- reminder rules --------------------------------------------------------------------------------------


def _channel(value: Any) -> ChannelChoice:
    try:
        return ChannelChoice(value)
    except ValueError:
        raise problem("must be order, sms, email, both or preferred") from None


def _offset(value: timedelta | None) -> timedelta | None:
    if value is not None and not timedelta(minutes=5) <= value <= MAX_OFFSET:
        raise problem("must be from 5 minutes to 30 days")
    return value


class ReminderRuleBody(Body):
    """One reminder: `{"before": "PT2H"}` ahead of the start, or `{"days_before": 1, "at": "18:00"}` on the
    clinic's clock; `channel` (`ChannelChoice`): order (the default: one message, on the first channel of the
    patient's channel order they can receive it on), sms, email, both (one to the phone and one by email) or
    preferred (the same as order). Each part is checked even when another is wrong."""

    unknown_problem: ClassVar[str | None] = None  # a rule of neither shape is named as a whole instead
    channel: Annotated[ChannelChoice, BeforeValidator(_channel)] = ChannelChoice.ORDER
    before: Annotated[IsoDuration | None, AfterValidator(_offset)] = None
    days_before: Annotated[
        Annotated[int, Field(ge=0, le=30)] | None, BeforeValidator(_optional(whole_number(0, 30)))
    ] = None
    at: Annotated[
        time | None,
        BeforeValidator(_optional(local_time("must be a local time HH:MM such as 18:00"))),
        WithJsonSchema(LOCAL_TIME_SCHEMA),
    ] = None

    @classmethod
    def cross_problems(cls, data: dict[str, Any], failed: set[str]) -> list[tuple[Loc, str]]:
        offset = "before" in data and data.keys() <= {"before", "channel"}
        clock = data.keys() >= {"days_before", "at"} and data.keys() <= {"days_before", "at", "channel"}
        return [] if offset or clock else [((), _RULE_SHAPE)]

    def rule(self) -> ReminderRule:
        if self.before is not None:
            return OffsetRule(self.before, self.channel)
        assert self.days_before is not None and self.at is not None  # the shape is checked
        return LocalClockRule(self.days_before, self.at, self.channel)


def _rule_list(value: Any) -> Any:
    if value is not None and (not isinstance(value, list) or len(value) > MAX_RULES):
        raise problem(f"must be a list of at most {MAX_RULES} rules")
    return value


def _no_repeats(rules: list[ReminderRuleBody] | None) -> list[ReminderRuleBody] | None:
    labels = [rule.rule().label for rule in rules or []]
    if len(set(labels)) != len(labels):
        raise problem("has the same reminder twice")
    return rules


# --- quiet hours, opening hours --------------------------------------------------------------------------


def _quiet_hours(value: Any) -> QuietHours | None:
    if value is None:
        return None
    if isinstance(value, dict) and value.keys() == {"start", "end"}:
        start, end = (read.read_clock(value[k]) if isinstance(value[k], str) else None for k in ("start", "end"))
        if start is not None and end is not None and start != end:
            return QuietHours(start, end)
    raise problem('must be null or {"start": "21:00", "end": "08:00"} (different times)')


_QUIET_SCHEMA = {
    "anyOf": [
        {
            "type": "object",
            "properties": {"start": LOCAL_TIME_SCHEMA, "end": LOCAL_TIME_SCHEMA},
            "required": ["start", "end"],
            "additionalProperties": False,
        },
        {"type": "null"},
    ],
    "description": "null: no quiet hours; absent: 21:00 to 08:00",
}
_OPENING_TIME = local_time("must be a local time HH:MM such as 08:00")


def _closes_after_opening(value: time, info: ValidationInfo) -> time:
    opens = info.data.get("open")
    # A day that runs past midnight would close on the next calendar day; no clinic we serve has one.
    if opens is not None and not opens < value:
        raise problem("must be later in the day than opening_hours.open")
    return value


class OpeningHoursBody(Body):
    unknown_problem: ClassVar[str | None] = "is not part of opening hours (open, close)"
    object_problem: ClassVar[str] = 'must be {"open": "08:00", "close": "18:00"}'
    missing_problem: ClassVar[str] = "must be a local time HH:MM such as 08:00"
    open: Annotated[time, BeforeValidator(_OPENING_TIME), WithJsonSchema(LOCAL_TIME_SCHEMA)]
    close: Annotated[
        time, BeforeValidator(_OPENING_TIME), AfterValidator(_closes_after_opening), WithJsonSchema(LOCAL_TIME_SCHEMA)
    ]


# --- medication settings ---------------------------------------------------------------------------------


def _when_times(value: Any) -> dict[str, time]:
    if not isinstance(value, dict):
        raise problem("must map EventTiming codes to HH:MM")
    times: dict[str, time] = {}
    errors: list[tuple[Loc, str]] = []
    for code, clock in value.items():
        at = read.read_clock(clock) if isinstance(clock, str) else None
        if code not in DEFAULT_WHEN_TIMES or at is None:
            errors.append(((str(code),), "must be a known EventTiming code at HH:MM"))
        else:
            times[code] = at
    if errors:
        raise _several(errors)
    return times


def _after_follow_up(value: int, info: ValidationInfo) -> int:
    if value <= info.data.get("follow_up_minutes", 30):
        raise problem("must be after the follow-up")
    return value


def _minutes(low: int, high: int) -> Any:
    return BeforeValidator(whole_number(low, high))


class MedicationBody(Body):
    """`medication`: where the FHIR `when` codes fall on the clinic's clock, names in SMS, and the windows."""

    unknown_problem: ClassVar[str | None] = "is not a medication setting"
    when_times: Annotated[
        dict[str, time],
        BeforeValidator(_when_times),
        WithJsonSchema(
            {
                "type": "object",
                "propertyNames": {"enum": sorted(DEFAULT_WHEN_TIMES)},
                "additionalProperties": LOCAL_TIME_SCHEMA,
            }
        ),
    ] = Field(default_factory=dict)
    names_in_sms: Boolean = False
    snooze_minutes: Annotated[Annotated[int, Field(ge=5, le=120)], _minutes(5, 120)] = 15
    follow_up_minutes: Annotated[Annotated[int, Field(ge=10, le=180)], _minutes(10, 180)] = 30
    caregiver_minutes: Annotated[
        Annotated[int, Field(ge=15, le=360)], _minutes(15, 360), AfterValidator(_after_follow_up)
    ] = 60
    refill_days: Annotated[Annotated[int, Field(ge=1, le=14)], _minutes(1, 14)] = 3
    min_interval_minutes: Annotated[Annotated[int, Field(ge=15, le=1440)], _minutes(15, 1440)] = 60

    def settings(self) -> MedicationSettings:
        return MedicationSettings(
            {**DEFAULT_WHEN_TIMES, **self.when_times},
            self.names_in_sms,
            timedelta(minutes=self.snooze_minutes),
            timedelta(minutes=self.follow_up_minutes),
            timedelta(minutes=self.caregiver_minutes),
            self.refill_days,
            timedelta(minutes=self.min_interval_minutes),
        )


# --- templates and the contact phone ---------------------------------------------------------------------


def _templates(value: Any, info: ValidationInfo) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        raise problem('must be an object of languages, e.g. {"es": {"reminder": …}}')
    limit = info.data.get("sms_segment_limit", 2)  # measured against the limit in the same body
    kinds = {kind.value for kind in Kind}
    templates: dict[str, dict[str, str]] = {}
    errors: list[tuple[Loc, str]] = []
    for language, texts in value.items():
        if not isinstance(language, str) or not _TEMPLATE_LANGUAGE.fullmatch(language):
            errors.append(((str(language),), "must be a language tag such as en or es"))
            continue
        if not isinstance(texts, dict):
            errors.append(((language,), "must be an object of message kinds"))
            continue
        for kind, text in texts.items():
            if kind not in kinds:
                errors.append(((language, kind), f"is not a message kind ({', '.join(sorted(kinds))})"))
            elif not isinstance(text, str) or not 1 <= len(text) <= 1000:
                errors.append(((language, kind), "must be text of 1 to 1000 characters"))
            elif found := template_problem(text, context_of(info).clinic_name, limit):
                errors.append(((language, kind), found))
            else:
                templates.setdefault(language, {})[kind] = text
    if errors:
        raise _several(errors)
    return templates


def _contact_phone(value: Any, info: ValidationInfo) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise problem("must be a string")
    # Read in the country of the time zone in the same body, if it is a good one; else the clinic's current.
    zone = info.data.get("timezone")
    region = phone_region(zone) if zone else context_of(info).region
    number = read.read_phone(value, region) if len(value.strip()) <= read.MAX_PHONE_TEXT else None
    if number is None:
        raise problem(read.phone_problem(value, region))
    return number


# --- WhatsApp templates ----------------------------------------------------------------------------------


def _whatsapp_templates(value: Any) -> dict[str, dict[str, WhatsAppTemplateSetting]]:
    templates, errors = read_templates(value)
    if any(loc == () for loc, _ in errors):
        raise problem(errors[0][1])
    if errors:
        raise _several(list(errors))
    return templates


_WHATSAPP_TEMPLATE_SCHEMA = {
    "type": "object",
    "description": "message kind → language tag → the template Meta approved; as many parameters as {{n}} in body",
    "propertyNames": {"enum": list(WHATSAPP_KINDS)},
    "additionalProperties": {
        "type": "object",
        "propertyNames": {"pattern": "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
        "additionalProperties": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9_]{1,512}$"},
                "body": {"type": "string", "minLength": 1, "maxLength": MAX_BODY},
                "parameters": {"type": "array", "items": {"enum": sorted(PARAMETERS)}},
                "language_code": {"type": "string", "pattern": "^[a-z]{2,3}(_[A-Za-z0-9]{2,8})?$"},
            },
            "required": ["name", "body"],
            "additionalProperties": False,
        },
    },
}


class WhatsAppBody(Body):
    """`whatsapp`: the clinic's approved templates per kind and language (`chalicelib.clinics.whatsapp_settings`),
    each template's parameter count checked against its body's placeholders when the clinic saves."""

    unknown_problem: ClassVar[str | None] = "is not a WhatsApp setting"
    object_problem: ClassVar[str] = 'must be an object such as {"templates": {...}}'
    templates: Annotated[
        dict[str, dict[str, WhatsAppTemplateSetting]],
        BeforeValidator(_whatsapp_templates),
        WithJsonSchema(_WHATSAPP_TEMPLATE_SCHEMA),
    ] = Field(default_factory=dict)

    def settings(self) -> WhatsAppSettings:
        return WhatsAppSettings(self.templates)


# --- pre-visit forms ------------------------------------------------------------------------------------


def _questionnaire(value: Any, info: ValidationInfo) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("must be the id of one of the clinic's questionnaires")
    known = context_of(info).questionnaires
    if known is not None and value not in known:
        raise problem(f"is not a questionnaire of this clinic ({value!r}); POST /v1/questionnaires first")
    return value


def _names(value: Any) -> Any:
    if value is None:
        return None
    valid = isinstance(value, list) and all(isinstance(n, str) and 1 <= len(n.strip()) <= 200 for n in value)
    if not valid or not 1 <= len(value) <= MAX_NAMES:
        raise problem(f"must list 1 to {MAX_NAMES} names (texts of 1 to 200 characters); leave it out for any")
    return [name.strip() for name in value]


Names = Annotated[
    Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=1, max_length=MAX_NAMES)]
    | None,
    BeforeValidator(_names),
]


def _form_list(value: Any) -> Any:
    if not isinstance(value, list) or len(value) > MAX_FORMS:
        raise problem(f"must be a list of at most {MAX_FORMS} forms")
    return value


class FormBody(Body):
    """One entry of `forms`: the questionnaire, and optionally the providers and event types it is for."""

    unknown_problem: ClassVar[str | None] = "is not part of a form setting (questionnaire, providers, event_types)"
    object_problem: ClassVar[str] = 'must be {"questionnaire": "<id>"}, optionally with providers and event_types'
    questionnaire: Annotated[str, BeforeValidator(_questionnaire)]
    providers: Names = None
    event_types: Names = None

    def rule(self) -> FormRule:
        return FormRule(self.questionnaire, tuple(self.providers or ()), tuple(self.event_types or ()))


class MessengerBody(WhatsAppBody):
    """`messenger`: the clinic's Messenger utility templates, the same shape and rule as WhatsApp's
    (`chalicelib.clinics.messenger_settings`)."""

    unknown_problem: ClassVar[str | None] = "is not a Messenger setting"


# --- the inbox -----------------------------------------------------------------------------------------

_EMERGENCY = re.compile(r"[0-9]{" + f"{EMERGENCY_DIGITS[0]},{EMERGENCY_DIGITS[1]}" + "}")


def _urgent_phone(value: Any, info: ValidationInfo) -> str | None:
    """A phone (stored in E.164, read as `contact_phone` is) or a local emergency number such as 911 or 112."""
    if isinstance(value, str) and _EMERGENCY.fullmatch(value.strip()):
        return value.strip()
    try:
        return _contact_phone(value, info)
    except ValueError:
        raise problem("must be a phone number or a local emergency number such as 911 or 112") from None


class InboxBody(Body):
    """`inbox`: what the automatic answer to a patient's message says (`hours`, `urgent_phone`) and where the
    "a patient wrote" notice goes (`notice_email`); `chalicelib.clinics.inbox_settings`."""

    unknown_problem: ClassVar[str | None] = "is not an inbox setting (hours, urgent_phone, notice_email)"
    object_problem: ClassVar[str] = 'must be an object such as {"hours": "Mon-Fri 8 AM to 6 PM"}'
    hours: Annotated[Annotated[str, Field(min_length=1, max_length=MAX_HOURS)] | None, _bounded_text(1, MAX_HOURS)] = (
        None
    )
    urgent_phone: Annotated[
        str | None,
        BeforeValidator(_urgent_phone),
        WithJsonSchema({"anyOf": [{"type": "string", "description": "a phone or e.g. 911"}, {"type": "null"}]}),
    ] = None
    notice_email: Email = None

    def settings(self) -> InboxSettings:
        return InboxSettings(self.hours, self.urgent_phone, self.notice_email)


def _channel_order(value: Any) -> Any:
    message = channel_order_problem(value)
    if message is not None:
        raise problem(message)
    return value


_CHANNEL_ORDER_SCHEMA = {
    "type": "array",
    "items": {"enum": [channel.value for channel in Channel]},
    "uniqueItems": True,
    "description": "the clinic's order of channels; a patient's preferred channel goes first. Every message goes "
    "on the first the patient can receive it on (an address, opted in, not opted out). Must include sms and email.",
}


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not is_known_timezone(value):
        raise problem("must be an IANA time zone such as America/New_York")
    return value


_TEMPLATE_SCHEMA = {
    "type": "object",
    "description": f"language → message kind → SMS text, with placeholders {sorted(PLACEHOLDERS)}",
    "additionalProperties": {
        "type": "object",
        "propertyNames": {"enum": sorted(kind.value for kind in Kind)},
        "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 1000},
    },
}


class ClinicSettingsBody(Body):
    """`PUT /v1/clinic`: the whole settings, as `GET /v1/clinic` shows them (its read-only fields are accepted
    and dropped). An absent setting takes its default; an absent time zone stays as it is. `PATCH /v1/clinic`'s
    merge patch, applied to GET's settings, is checked by this same model (`clinics.settings_service`)."""

    unknown_problem: ClassVar[str | None] = "is not a clinic setting"
    leading: ClassVar[frozenset[str]] = frozenset({"timezone"})  # named first, before unknown settings
    ignored: ClassVar[frozenset[str]] = frozenset({"id", "name", "replan", "replanned_appointments"})

    timezone: Annotated[
        str | None,
        BeforeValidator(_timezone),
        WithJsonSchema({"type": "string", "description": "an IANA time zone; absent: unchanged"}),
    ] = None
    reminders: Annotated[
        Annotated[list[ReminderRuleBody], Field(max_length=MAX_RULES)] | None,
        BeforeValidator(_rule_list),
        AfterValidator(_no_repeats),
    ] = None
    quiet_hours: Annotated[QuietHours | None, BeforeValidator(_quiet_hours), WithJsonSchema(_QUIET_SCHEMA)] = Field(
        # A factory: pydantic cannot write a Struct as the schema's default, which `json_schema_extra` gives.
        default_factory=lambda: DEFAULT_QUIET_HOURS,
        json_schema_extra={"default": {"start": "21:00", "end": "08:00"}},
    )
    frequency_caps: Boolean = False
    patients_may_cancel: Boolean = True
    sms_segment_limit: Annotated[Annotated[int, Field(ge=1, le=10)], BeforeValidator(whole_number(1, 10))] = 2
    sender_name: Annotated[Annotated[str, Field(min_length=1, max_length=40)] | None, _bounded_text(1, 40)] = None
    reply_to: Email = None
    contact_phone: Annotated[
        str | None,
        BeforeValidator(_contact_phone),
        WithJsonSchema({"anyOf": [{"type": "string", "description": "any format"}, {"type": "null"}]}),
    ] = None
    booking_url: Annotated[
        Annotated[str, Field(min_length=9, max_length=500, pattern=anchored(_URL))] | None,
        _bounded_text(9, 500, _URL, "must be an https:// URL"),
    ] = None
    templates: Annotated[dict[str, dict[str, str]], BeforeValidator(_templates), WithJsonSchema(_TEMPLATE_SCHEMA)] = (
        Field(default_factory=dict)
    )
    medication: MedicationBody | None = None
    opening_hours: OpeningHoursBody | None = None
    # The waiting-room board names patients by initials, or by ticket number (the order they arrived) only.
    board_labels: Literal["initials", "tickets"] = "initials"
    # How long before an appointment's start the patient may check in by replying HERE (or by the link).
    check_in_window_minutes: Annotated[Annotated[int, Field(ge=0, le=1440)], BeforeValidator(whole_number(0, 1440))] = (
        60
    )
    whatsapp: WhatsAppBody | None = None
    # The pre-visit forms: an appointment gets the first whose filters it matches (`clinics.form_settings`).
    forms: Annotated[list[FormBody], Field(max_length=MAX_FORMS), BeforeValidator(_form_list)] = Field(
        default_factory=list
    )
    messenger: MessengerBody | None = None
    inbox: InboxBody | None = None
    channel_order: Annotated[list[Channel], BeforeValidator(_channel_order), WithJsonSchema(_CHANNEL_ORDER_SCHEMA)] = (
        Field(
            default_factory=lambda: list(DEFAULT_ORDER), json_schema_extra={"default": [c.value for c in DEFAULT_ORDER]}
        )
    )
    # The notices' channel (confirmation, reschedule, cancellation), as a reminder rule's `channel`.
    notice_channel: Annotated[ChannelChoice, BeforeValidator(_channel)] = ChannelChoice.ORDER
    # How long WhatsApp, Messenger or email (with the configuration set) has to report a message delivered before
    # it goes once on the patient's next channel (chalicelib.fire.delivery_window).
    delivery_window_minutes: Annotated[
        Annotated[int, Field(ge=DELIVERY_WINDOW_MINUTES[0], le=DELIVERY_WINDOW_MINUTES[1])],
        BeforeValidator(whole_number(*DELIVERY_WINDOW_MINUTES)),
    ] = 15

    def to_policy(self) -> ClinicPolicy:
        default = ClinicPolicy()
        return ClinicPolicy(
            tuple(rule.rule() for rule in self.reminders) if self.reminders is not None else default.reminder_rules,
            self.quiet_hours,
            self.frequency_caps,
            self.sender_name,
            self.reply_to,
            self.contact_phone,
            self.booking_url,
            self.patients_may_cancel,
            self.sms_segment_limit,
            self.templates,
            medication=self.medication.settings() if self.medication else default.medication,
            opening_hours=OpeningHours(self.opening_hours.open, self.opening_hours.close)
            if self.opening_hours
            else default.opening_hours,
            board_labels=self.board_labels,
            check_in_window_minutes=self.check_in_window_minutes,
            whatsapp=self.whatsapp.settings() if self.whatsapp else NO_WHATSAPP,
            forms=tuple(form.rule() for form in self.forms),
            messenger=self.messenger.settings() if self.messenger else NO_WHATSAPP,
            inbox=self.inbox.settings() if self.inbox else NO_INBOX_SETTINGS,
            channel_order=tuple(Channel(channel) for channel in self.channel_order),
            notice_channel=self.notice_channel,
            delivery_window_minutes=self.delivery_window_minutes,
        )
