"""A clinic's WhatsApp templates, the `"whatsapp"` part of `PUT /v1/clinic`, validated when saved.

WhatsApp lets a business write first only with a template Meta approved. The clinic names, per message kind and
patient language, the template it had approved, states the template's body text as approved (its `{{1}}`,
`{{2}}`, … placeholders) and which fact fills each placeholder, in order:

    "whatsapp": {"templates": {"confirmation": {"es": {
        "name": "carecue_confirmation",
        "body": "{{1}}: su cita es el {{2}} a las {{3}}.",
        "parameters": ["clinic", "day", "time"]}}}}

- kinds: confirmation, reminder, reschedule, cancellation, dose, follow-up, caregiver, wait-time, running-late;
- language: the patient's language tag (`es`, `es-MX`); a patient in `es-MX` uses `es-MX`, else `es`;
- `language_code` (optional): Meta's code for the template's language when it is not the tag with `_` for `-`;
- parameters: `clinic`, `day`, `time`, `place`, `link`, `phone`, filled in the patient's language. Their count
  must be the number of placeholders in `body` (Meta refuses a send with any other count), which is checked here,
  when the clinic saves, instead of at every send; `link` only on kinds that carry a link (reminder, dose).

CareCue keeps `body` so it can show the words the patient got (the outbox, the local stack) and check the
count; Meta's copy is the one the patient sees. A kind and language with no template goes on the next channel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.errors import FieldProblem

KINDS = (
    "confirmation",
    "reminder",
    "reschedule",
    "cancellation",
    "dose",
    "follow-up",
    "caregiver",
    "wait-time",
    "running-late",
)
PARAMETERS = frozenset({"clinic", "day", "time", "place", "link", "phone"})
_LINKED_KINDS = frozenset({"reminder", "dose"})
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_META_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]{2,8})?$")
_NAME = re.compile(r"^[a-z0-9_]{1,512}$")  # Meta's template names: lower case, digits and underscores
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_TEMPLATE_FIELDS = {"name", "body", "parameters", "language_code"}


@dataclass(frozen=True)
class WhatsAppTemplateSetting:
    name: str
    body: str
    parameters: tuple[str, ...]
    language_code: str  # Meta's


@dataclass(frozen=True)
class WhatsAppSettings:
    templates: Mapping[str, Mapping[str, WhatsAppTemplateSetting]] = field(default_factory=dict)  # kind → language

    def template(self, kind: str, language: str) -> WhatsAppTemplateSetting | None:
        """The template for this kind in the patient's language, or in its base language (`es` for `es-MX`)."""
        by_language = self.templates.get(kind, {})
        return by_language.get(language) or by_language.get(language.split("-")[0])


NO_WHATSAPP = WhatsAppSettings()


def placeholders(body: str) -> list[int]:
    """The distinct placeholder numbers of a template body, in ascending order."""
    return sorted({int(number) for number in _PLACEHOLDER.findall(body)})


def parse_whatsapp(value: Any, problems: list[FieldProblem]) -> WhatsAppSettings:
    if value is None:
        return NO_WHATSAPP
    if not isinstance(value, dict):
        problems.append(FieldProblem("whatsapp", 'must be an object such as {"templates": {...}}'))
        return NO_WHATSAPP
    for name in sorted(value.keys() - {"templates"}):
        problems.append(FieldProblem(f"whatsapp.{name}", "is not a WhatsApp setting"))
    raw = value.get("templates", {})
    if not isinstance(raw, dict):
        problems.append(FieldProblem("whatsapp.templates", "must map message kinds to languages to templates"))
        return NO_WHATSAPP
    templates: dict[str, dict[str, WhatsAppTemplateSetting]] = {}
    for kind, by_language in raw.items():
        where = f"whatsapp.templates.{kind}"
        if kind not in KINDS:
            problems.append(FieldProblem(where, f"is not a message kind: one of {', '.join(KINDS)}"))
            continue
        if not isinstance(by_language, dict):
            problems.append(FieldProblem(where, "must map language tags such as es to templates"))
            continue
        for language, template in by_language.items():
            parsed = _template(kind, template, f"{where}.{language}", problems)
            if not isinstance(language, str) or not _LANGUAGE.match(language):
                problems.append(FieldProblem(f"{where}.{language}", "must be keyed by a language tag such as es"))
            elif parsed is not None:
                templates.setdefault(kind, {})[language] = parsed
    return WhatsAppSettings(templates)


def _template(kind: str, value: Any, where: str, problems: list[FieldProblem]) -> WhatsAppTemplateSetting | None:
    if not isinstance(value, dict):
        problems.append(FieldProblem(where, 'must be {"name", "body", "parameters"}'))
        return None
    before = len(problems)
    for name in sorted(value.keys() - _TEMPLATE_FIELDS):
        problems.append(FieldProblem(f"{where}.{name}", "is not a template field"))
    name = value.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(FieldProblem(f"{where}.name", "must be the approved template's name (a-z, 0-9, _)"))
    body = value.get("body")
    if not isinstance(body, str) or not body.strip() or len(body) > 1024:
        problems.append(FieldProblem(f"{where}.body", "must be the approved template's body text (up to 1024)"))
        body = None
    parameters = value.get("parameters", [])
    if not isinstance(parameters, list) or not all(isinstance(p, str) and p in PARAMETERS for p in parameters):
        problems.append(FieldProblem(f"{where}.parameters", f"must list facts among {', '.join(sorted(PARAMETERS))}"))
        parameters = None
    elif "link" in parameters and kind not in _LINKED_KINDS:
        problems.append(FieldProblem(f"{where}.parameters", f"a {kind} message carries no link"))
    if body is not None and parameters is not None:
        numbers = placeholders(body)
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(FieldProblem(f"{where}.body", "must number its placeholders {{1}}, {{2}}, … in a row"))
        elif len(numbers) != len(parameters):
            problems.append(
                FieldProblem(
                    f"{where}.parameters",
                    f"the template has {len(numbers)} placeholders and {len(parameters)} parameters are named",
                )
            )
    language = where.rsplit(".", 1)[-1]
    code = value.get("language_code", language.replace("-", "_"))
    if not isinstance(code, str) or not _META_LANGUAGE.match(code):
        problems.append(FieldProblem(f"{where}.language_code", "must be Meta's language code such as es or en_US"))
    if len(problems) > before:
        return None
    assert isinstance(name, str) and isinstance(body, str) and isinstance(parameters, list)
    return WhatsAppTemplateSetting(name, body, tuple(parameters), str(code))


def whatsapp_json(settings: WhatsAppSettings) -> dict[str, Any]:
    return {
        "templates": {
            kind: {
                language: {
                    "name": t.name,
                    "body": t.body,
                    "parameters": list(t.parameters),
                    "language_code": t.language_code,
                }
                for language, t in by_language.items()
            }
            for kind, by_language in settings.templates.items()
        }
    }
