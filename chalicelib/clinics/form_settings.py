"""Which pre-visit form an appointment gets: the clinic's `"forms"` setting of `PUT /v1/clinic` (validated by
`chalicelib.clinics.bodies.FormBody`), stored in the clinic's policy and read back here without pydantic.

    "forms": [{"questionnaire": "intake-new", "event_types": ["New patient"]},
              {"questionnaire": "cardio", "providers": ["Dr. Rivera"]},
              {"questionnaire": "general"}]

An entry without a filter matches every appointment; with `providers` and/or `event_types`, an appointment
matches when its provider is one of them and its event type is one of them (each filter given must hold). The
first entry that matches is the appointment's form, so a catch-all goes last. Names are compared without
regard to case or surrounding spaces ("dr. rivera " is "Dr. Rivera"), as front desks type them differently.
An appointment that matches no entry has no form. Pure.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct

MAX_FORMS = 20
MAX_NAMES = 50


class FormRule(Struct, frozen=True):
    questionnaire: str
    providers: tuple[str, ...] = ()  # empty: any provider
    event_types: tuple[str, ...] = ()  # empty: any event type

    def matches(self, provider: str | None, event_type: str | None) -> bool:
        return _one_of(provider, self.providers) and _one_of(event_type, self.event_types)


def form_for(rules: tuple[FormRule, ...], provider: str | None, event_type: str | None) -> str | None:
    """The questionnaire id of the first rule the appointment matches, or None: no form."""
    return next((rule.questionnaire for rule in rules if rule.matches(provider, event_type)), None)


def _one_of(value: str | None, names: tuple[str, ...]) -> bool:
    if not names:
        return True
    return value is not None and value.strip().casefold() in {name.strip().casefold() for name in names}


def forms_json(rules: tuple[FormRule, ...]) -> list[dict[str, Any]]:
    """As `GET /v1/clinic` shows them and the policy stores them: a filter only where one was given."""
    out: list[dict[str, Any]] = []
    for rule in rules:
        entry: dict[str, Any] = {"questionnaire": rule.questionnaire}
        if rule.providers:
            entry["providers"] = list(rule.providers)
        if rule.event_types:
            entry["event_types"] = list(rule.event_types)
        out.append(entry)
    return out


def forms_from_json(data: Any) -> tuple[FormRule, ...]:
    """The stored form of `forms_json`; anything else raises ValueError or TypeError (the caller falls back to
    the default policy, as for any bad hand edit)."""
    if data is None:
        return ()
    if not isinstance(data, list) or len(data) > MAX_FORMS:
        raise TypeError("forms")
    rules: list[FormRule] = []
    for entry in data:
        if not isinstance(entry, dict) or not entry.keys() <= {"questionnaire", "providers", "event_types"}:
            raise ValueError("forms")
        questionnaire = entry.get("questionnaire")
        if not isinstance(questionnaire, str) or not questionnaire:
            raise ValueError("forms")
        rules.append(FormRule(questionnaire, _names(entry.get("providers")), _names(entry.get("event_types"))))
    return tuple(rules)


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(name, str) and name for name in value):
        raise TypeError("forms")
    return tuple(value)
