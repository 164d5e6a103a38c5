"""A patient in a request body, as models of the validation kit (`chalicelib.core.validation`): `PatientBody`,
the `patient` of a booking or a regimen, and `PatientUpdateBody`, a patient's preferences. pydantic models:
imported by request routes only, never on the fire path (`chalicelib.patients.details` holds the plain
`PatientDetails` the services take)."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, WithJsonSchema

from chalicelib.core.timezones import is_known_timezone
from chalicelib.core.validation import (
    Body,
    Boolean,
    Email,
    Language,
    Loc,
    Phone,
    RequiredText,
    TimeZone,
    anchored,
    nullable,
    problem,
)
from chalicelib.core.words import Channel
from chalicelib.patients.details import PatientDetails


def _booking_channel(value: Any) -> Channel | None:
    if value is None:
        return None
    try:
        return Channel(value)
    except ValueError:
        raise problem("must be sms, email, whatsapp or messenger") from None


class PatientBody(Body):
    """`patient` of a booking or a regimen. A new field: declare it here (optional, with a default) and carry it
    into `PatientDetails` in `details()`."""

    name: RequiredText
    phone: Phone = None
    email: Email = None
    timezone: TimeZone = None
    language: Language = None
    # WhatsApp (chalicelib.patients.whatsapp): the opt-in is recorded per phone number when the booking is stored.
    whatsapp_opt_in: Boolean = False
    preferred_channel: Annotated[Channel | None, BeforeValidator(_booking_channel)] = None

    @classmethod
    def cross_problems(cls, data: dict[str, Any], failed: set[str]) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        # Named only when neither contact was itself refused: a wrong phone is said as such, not as "missing".
        blank = all(not (isinstance(data.get(name), str) and data[name].strip()) for name in ("phone", "email"))
        if blank and not failed & {"phone", "email"}:
            problems.append(((), "needs a phone or an email to be reminded"))
        if data.get("whatsapp_opt_in") is True and data.get("phone") is None:
            problems.append((("whatsapp_opt_in",), "needs the patient's phone"))
        return problems

    def details(self) -> PatientDetails:
        preferred = self.preferred_channel.value if self.preferred_channel is not None else None
        return PatientDetails(
            self.name, self.phone, self.email, self.timezone, self.language or "en", self.whatsapp_opt_in, preferred
        )


def _preferred_channel(value: Any) -> Channel | None:
    if value is None:
        return None
    try:
        return Channel(value)
    except ValueError:
        raise problem("must be sms, email, whatsapp, messenger or null") from None


def _preference_language(value: Any) -> str:
    if not isinstance(value, str) or not _PREFERENCE_LANGUAGE.fullmatch(value):
        raise problem("must be a language tag such as en, es or es-MX")
    return value


def _preference_timezone(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not is_known_timezone(value)):
        raise problem("must be an IANA time zone such as Europe/Madrid, or null")
    return value


# Messenger's opt-out is kept by the patient's page-scoped id, as a STOP on Messenger keeps it
# (chalicelib.patients.messenger): only a patient who linked Messenger has one to set.
_OPT_OUT_CHANNELS = ("sms", "email", "whatsapp", "messenger")


def _opt_out(value: Any) -> dict[Channel, bool]:
    if not isinstance(value, dict) or any(
        key not in _OPT_OUT_CHANNELS or not isinstance(flag, bool) for key, flag in value.items()
    ):
        raise problem(
            'must be {"sms": true|false, "email": true|false, "whatsapp": true|false, "messenger": true|false}'
        )
    return {Channel(key): flag for key, flag in value.items()}


# en, es-MX; en, es and ar have texts, others get en
_PREFERENCE_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class PatientUpdateBody(Body):
    """`PUT /v1/patients/{id}`: a patient's preferences. A field absent is left as it is (`model_fields_set` says
    which were sent); the read-only fields of `GET` are accepted and dropped, so a GET can be edited and PUT back.
    A new preference: declare it here with its default and store it in `PatientService.update`."""

    unknown_problem: ClassVar[str | None] = "is not a patient preference"
    ignored: ClassVar[frozenset[str]] = frozenset({"id", "name", "phone", "email"})

    preferred_channel: Annotated[Channel | None, BeforeValidator(_preferred_channel)] = None
    language: Annotated[
        Annotated[str, Field(pattern=anchored(_PREFERENCE_LANGUAGE))], BeforeValidator(_preference_language)
    ] = "en"
    timezone: Annotated[
        str | None,
        BeforeValidator(_preference_timezone),
        nullable({"type": "string", "description": "an IANA time zone"}),
    ] = None
    opt_out: Annotated[
        dict[Channel, bool],
        BeforeValidator(_opt_out),
        WithJsonSchema(
            {
                "type": "object",
                "properties": {
                    "sms": {"type": "boolean"},
                    "email": {"type": "boolean"},
                    "whatsapp": {"type": "boolean"},
                    "messenger": {"type": "boolean"},
                },
                "additionalProperties": False,
            }
        ),
    ] = Field(default_factory=dict)
