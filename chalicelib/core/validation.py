"""The validation kit for request bodies, on pydantic v2: `Body`, the base of every request model, the shared
field types (text, phone, email, time zone, language, zoned date-time, ISO duration, local time, whole numbers),
and `read_body`, which turns every problem of a body into one `InvalidRequest`, each named by its path
("patient.phone", "reminders[0].before"). The JSON Schema of a model comes from the same declarations
(`chalicelib.schemas`), so the API's schema is never written a second time.

Validation takes a `Context`: the clinic's country (where a phone without a country code is read), "now" (a
start must be in the future) and the clinic's name (a template's length is measured with it).

How to add a field to a request body: declare it on the model with one of the types here (or `X | None = None`
for an optional one) and a default; its problems are named by the field's name, and the JSON Schema lists it.
A new shared rule is a `BeforeValidator` that raises `problem("…")` with the message the caller reads.

Only request routes import this module: importing pydantic and building the models costs a cold start about
75 ms, which the timer-fire path never pays (`tests/unit/test_fire_path_imports.py`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Annotated, Any, ClassVar, TypeVar

from msgspec import Struct
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from chalicelib.core import fields as read
from chalicelib.core.errors import FieldProblem, InvalidRequest

# CareCue uses no pydantic plugin. Unless told so, pydantic looks for plugins when the first model is built, by
# reading every installed distribution's entry points: ~9 ms of a cold booking. Read then, not at import, so it is
# set before the first model below.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

B = TypeVar("B", bound="Body")
Loc = tuple[str | int, ...]

# What a problem reads as when pydantic itself finds it (a missing field, an object that is no object).
_BUILT_IN = {
    "missing": "is required",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
}


class Context(Struct, frozen=True):
    """What a body is validated against, beyond the body itself."""

    region: str | None = None  # the clinic's country (ISO 3166 alpha-2): where a national phone number is read
    now: datetime | None = None  # a start must be after it
    clinic_name: str = ""  # a template's {clinic} when its SMS length is measured
    questionnaires: frozenset[str] | None = None  # the clinic's forms' ids, which a form setting names; None: unchecked


def problem(message: str) -> PydanticCustomError:
    """The error a validator raises: `message` is what the caller reads after the field's name."""
    return PydanticCustomError("invalid", message)


def context_of(info: ValidationInfo) -> Context:
    return info.context if isinstance(info.context, Context) else Context()


def _error(loc: Loc, message: str, value: Any = None) -> InitErrorDetails:
    return {"type": problem(message), "loc": loc, "input": value}


class Body(BaseModel):
    """A request body (or a part of one): every field checked, every problem named, unknown fields refused by
    name. `unknown_problem`, `object_problem` and `ignored` say, per model, how an unknown field and a value
    that is no object read, and which read-only fields (from a GET, PUT back) are accepted and dropped."""

    # `arbitrary_types_allowed`: a field whose validator builds a value type (a Struct) keeps it as built.
    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        arbitrary_types_allowed=True,
        defer_build=True,  # built at its first use: a route builds only the bodies it reads (the booking, ~3 ms)
        json_schema_extra={"additionalProperties": False},
    )
    unknown_problem: ClassVar[str | None] = "is not a known field"  # None: `cross_problems` names such a body
    object_problem: ClassVar[str] = "must be an object"
    missing_problem: ClassVar[str] = "is required"
    ignored: ClassVar[frozenset[str]] = frozenset()
    leading: ClassVar[frozenset[str]] = frozenset()  # fields whose problems are named before unknown fields

    @classmethod
    def cross_problems(cls, data: dict[str, Any], failed: set[str]) -> list[tuple[Loc, str]]:
        """Problems of several fields together, found even when another field is wrong (`failed`: the fields
        already refused). Empty by default."""
        return []

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(data, dict):
            raise problem("is required" if data is None else cls.object_problem)
        unknown = sorted(set(data) - set(cls.model_fields) - cls.ignored, key=str)
        errors = [_error((name,), cls.unknown_problem, data[name]) for name in unknown if cls.unknown_problem]
        leading: list[InitErrorDetails] = []
        result = None
        try:
            result = handler(data)
        except ValidationError as e:
            for err in e.errors():
                message = _BUILT_IN.get(err["type"], err["msg"])
                if err["type"] == "missing" and len(err["loc"]) == 1:
                    message = cls.missing_problem
                found = _error(tuple(err["loc"]), message)
                (leading if err["loc"] and err["loc"][0] in cls.leading else errors).append(found)
        errors = leading + errors
        failed = {str(err["loc"][0]) for err in errors if err["loc"]}
        errors += [_error(loc, message) for loc, message in cls.cross_problems(data, failed)]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return result


def field_path(loc: Loc) -> str:
    """("reminders", 0, "before") as "reminders[0].before", the way every problem names its field."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def problems_of(model: type[B], data: Any, context: Context, prefix: str = "") -> tuple[B | None, list[FieldProblem]]:
    """The model read from `data`, or None and every problem, each path under `prefix` ("patient.")."""
    try:
        return model.model_validate(data, context=context), []
    except ValidationError as e:
        problems = []
        for err in e.errors():
            path = field_path(tuple(err["loc"]))
            message = _BUILT_IN.get(err["type"], err["msg"])
            problems.append(FieldProblem(f"{prefix}{path}" if path else prefix.rstrip(".") or "body", message))
        return None, problems


def read_body(model: type[B], data: Any, context: Context) -> B:
    """The model read from an already decoded body; InvalidRequest naming every wrong field."""
    value, problems = problems_of(model, data, context)
    if problems or value is None:
        raise InvalidRequest(problems)
    return value


def read_json(model: type[B], raw_body: bytes | None, context: Context) -> B:
    """The model read from a raw request body (size-capped, a JSON object), InvalidRequest naming every field."""
    return read_body(model, read.decode_json_object(raw_body), context)


# --- the shared field types ------------------------------------------------------------------------------


# The models' validators are the rules of `chalicelib.core.fields`, each one's `Refused` raised as the problem.

_R = TypeVar("_R")


def _checked(rule: Callable[..., _R], value: Any, *args: Any, **options: Any) -> _R:
    """`rule(value, *args, **options)`, its `Refused` raised as the problem the caller reads."""
    try:
        return rule(value, *args, **options)
    except read.Refused as refused:
        raise problem(refused.message) from None


def text_rule(max_length: int, *, required: bool) -> Callable[[Any], str | None]:
    """Text, stripped: None when absent or blank (unless `required`), at most `max_length` characters."""

    def check(value: Any) -> str | None:
        return _checked(read.text, value, max_length, required=required)

    return check


def _phone(value: Any, info: ValidationInfo) -> str | None:
    return _checked(read.phone, value, context_of(info).region)


def _email(value: Any) -> str | None:
    return _checked(read.email, value)


def _timezone(value: Any) -> str | None:
    return _checked(read.timezone, value)


def _language(value: Any) -> str | None:
    return _checked(read.language, value)


def _future_instant(value: Any, info: ValidationInfo) -> datetime:
    return _checked(read.future_instant, value, context_of(info).now)


def _duration(value: Any) -> timedelta:
    delta = read.read_duration(value) if isinstance(value, str) else None
    if delta is None:
        raise problem("must be an ISO 8601 duration such as P1D or PT2H")
    return delta


def local_time(message: str) -> Callable[[Any], time]:
    """A wall-clock time written HH:MM (24 hours); `message` names an example fitting the field."""

    def check(value: Any) -> time:
        at = read.read_clock(value) if isinstance(value, str) else None
        if at is None:
            raise problem(message)
        return at

    return check


def whole_number(low: int, high: int, message: str = "") -> Callable[[Any], int]:
    """An integer from `low` to `high` (true, 30.0 and "30" are not), or `message`."""

    def check(value: Any) -> int:
        return _checked(read.whole_number, value, low, high, message)

    return check


def boolean(value: Any) -> bool:
    return _checked(read.boolean, value)


Text = Annotated[
    Annotated[str, Field(max_length=read.MAX_TEXT)] | None, BeforeValidator(text_rule(read.MAX_TEXT, required=False))
]
RequiredText = Annotated[
    Annotated[str, Field(max_length=read.MAX_TEXT)], BeforeValidator(text_rule(read.MAX_TEXT, required=True))
]


def nullable(schema: dict[str, Any]) -> WithJsonSchema:
    """The JSON Schema of an optional field: `schema`, or null (which reads as absent)."""
    return WithJsonSchema({"anyOf": [schema, {"type": "null"}]})


def anchored(pattern: re.Pattern[str]) -> str:
    """A full-match regex as a JSON Schema pattern (which, unanchored, matches anywhere in the text)."""
    return f"^{pattern.pattern}$"


Phone = Annotated[
    str | None,
    BeforeValidator(_phone),
    nullable({"type": "string", "maxLength": read.MAX_PHONE_TEXT, "description": "any format; stored in E.164"}),
]
Email = Annotated[str | None, BeforeValidator(_email), nullable({"type": "string", "format": "email"})]
TimeZone = Annotated[
    str | None, BeforeValidator(_timezone), nullable({"type": "string", "description": "an IANA time zone"})
]
Language = Annotated[
    str | None, BeforeValidator(_language), nullable({"type": "string", "pattern": anchored(read.LANGUAGE)})
]
FutureInstant = Annotated[
    datetime, BeforeValidator(_future_instant), WithJsonSchema({"type": "string", "format": "date-time"})
]
IsoDuration = Annotated[timedelta, BeforeValidator(_duration), WithJsonSchema({"type": "string", "format": "duration"})]
LOCAL_TIME_SCHEMA = {"type": "string", "pattern": anchored(read.CLOCK)}
Boolean = Annotated[bool, BeforeValidator(boolean)]
