"""A clinic's WhatsApp templates, the `"whatsapp"` part of `PUT /v1/clinic`, validated when saved (by
`chalicelib.clinics.bodies.WhatsAppBody`, with the rule `read_templates` here) and read back from the stored
policy by `whatsapp_from_json`.

WhatsApp lets a business write first only with a template Meta approved. The clinic names, per message kind and
patient language, the template it had approved, states the template's body text as approved (its `{{1}}`,
`{{2}}`, … placeholders) and which fact fills each placeholder, in order:

    "whatsapp": {"templates": {"confirmation": {"es": {
        "name": "carecue_confirmation",
        "body": "{{1}}: su cita es el {{2}} a las {{3}}.",
        "parameters": ["clinic", "day", "time"]}}}}

- kinds: confirmation, reminder, reschedule, cancellation, dose (also a snoozed dose's re-reminder), follow-up
  (a dose's "have you taken it?"), caregiver, wait-time, running-late (a refill reminder has no template: it
  goes on a chat channel only inside the 24-hour window, else by SMS);
- language: the patient's language tag (`es`, `es-MX`); a patient in `es-MX` uses `es-MX`, else `es`;
- `language_code` (optional): Meta's code for the template's language when it is not the tag with `_` for `-`;
- parameters: `clinic`, `day`, `time`, `place`, `link`, `phone`, filled in the patient's language (on a dose
  message `day` and `time` are the dose's; on the waiting-room kinds the appointment's), and the facts only some
  kinds have: `name` (caregiver: the patient's first name as the caregiver knows it), `minutes` (wait-time: the
  estimated wait; running-late: how late the provider runs), `provider` (running-late). Their count
  must be the number of placeholders in `body` (Meta refuses a send with any other count), which is checked here,
  when the clinic saves, instead of at every send; `link` only on kinds that carry a link (reminder: the confirm
  link; dose and follow-up: the dose's taken link);
  `form` (the pre-visit form's link) on confirmation and reminder only (`-` when there is no form to fill).

CareCue keeps `body` so it can show the words the patient got (the outbox, the local stack) and check the
count; Meta's copy is the one the patient sees. A kind and language with no template goes on the next channel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from msgspec import Struct, field

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
PARAMETERS = frozenset({"clinic", "day", "time", "place", "link", "phone", "form", "name", "minutes", "provider"})
# The facts only some kinds have, each with the kinds that have it and how a refusal names it.
_ONLY_ON: dict[str, tuple[frozenset[str], str]] = {
    "link": (frozenset({"reminder", "dose", "follow-up"}), "link"),  # dose, follow-up: the dose's taken link
    "form": (frozenset({"confirmation", "reminder"}), "form link"),
    "name": (frozenset({"caregiver"}), "patient's name"),
    "minutes": (frozenset({"wait-time", "running-late"}), "minutes"),
    "provider": (frozenset({"running-late"}), "provider"),
}
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_META_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]{2,8})?$")
_NAME = re.compile(r"^[a-z0-9_]{1,512}$")  # Meta's template names: lower case, digits and underscores
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_TEMPLATE_FIELDS = {"name", "body", "parameters", "language_code"}
MAX_BODY = 1024  # Meta's limit on a template body


class WhatsAppTemplateSetting(Struct, frozen=True):
    name: str
    body: str
    parameters: tuple[str, ...]
    language_code: str  # Meta's


class WhatsAppSettings(Struct, frozen=True):
    templates: Mapping[str, Mapping[str, WhatsAppTemplateSetting]] = field(default_factory=dict)  # kind → language

    def template(self, kind: str, language: str) -> WhatsAppTemplateSetting | None:
        """The template for this kind in the patient's language, or in its base language (`es` for `es-MX`)."""
        by_language = self.templates.get(kind, {})
        return by_language.get(language) or by_language.get(language.split("-")[0])


NO_WHATSAPP = WhatsAppSettings()


def placeholders(body: str) -> list[int]:
    """The distinct placeholder numbers of a template body, in ascending order."""
    return sorted({int(number) for number in _PLACEHOLDER.findall(body)})


Loc = tuple[str, ...]  # a problem's place under `whatsapp.templates`: (kind, language, field)


def read_templates(raw: Any) -> tuple[dict[str, dict[str, WhatsAppTemplateSetting]], list[tuple[Loc, str]]]:
    """The templates of `whatsapp.templates` and every problem, each at its place under it. The rule behind
    `chalicelib.clinics.bodies.WhatsAppBody` (when a clinic saves) and `whatsapp_from_json` (a stored policy):
    plain Python, as the fire path reads it."""
    if not isinstance(raw, dict):
        return {}, [((), "must map message kinds to languages to templates")]
    problems: list[tuple[Loc, str]] = []
    templates: dict[str, dict[str, WhatsAppTemplateSetting]] = {}
    for kind, by_language in raw.items():
        if kind not in KINDS:
            problems.append(((str(kind),), f"is not a message kind: one of {', '.join(KINDS)}"))
            continue
        if not isinstance(by_language, dict):
            problems.append(((kind,), "must map language tags such as es to templates"))
            continue
        for language, template in by_language.items():
            parsed = _template(kind, template, (kind, str(language)), problems)
            if not isinstance(language, str) or not _LANGUAGE.match(language):
                problems.append(((kind, str(language)), "must be keyed by a language tag such as es"))
            elif parsed is not None:
                templates.setdefault(kind, {})[language] = parsed
    return templates, problems


def whatsapp_from_json(value: Any) -> WhatsAppSettings:
    """Stored WhatsApp settings (the form `whatsapp_json` writes, checked by `read_templates` when saved); anything
    else raises ValueError, and the caller uses the defaults. Absent: no templates."""
    if value is None:
        return NO_WHATSAPP
    if not isinstance(value, dict) or value.keys() - {"templates"}:
        raise ValueError("whatsapp")
    templates, problems = read_templates(value.get("templates", {}))
    if problems:
        raise ValueError("whatsapp.templates")
    return WhatsAppSettings(templates)


def _template(kind: str, value: Any, where: Loc, problems: list[tuple[Loc, str]]) -> WhatsAppTemplateSetting | None:
    if not isinstance(value, dict):
        problems.append((where, 'must be {"name", "body", "parameters"}'))
        return None
    before = len(problems)
    for name in sorted(value.keys() - _TEMPLATE_FIELDS, key=str):
        problems.append(((*where, str(name)), "is not a template field"))
    name = value.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(((*where, "name"), "must be the approved template's name (a-z, 0-9, _)"))
    body = value.get("body")
    if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY:
        problems.append(((*where, "body"), f"must be the approved template's body text (up to {MAX_BODY})"))
        body = None
    parameters = value.get("parameters", [])
    if not isinstance(parameters, list) or not all(isinstance(p, str) and p in PARAMETERS for p in parameters):
        problems.append(((*where, "parameters"), f"must list facts among {', '.join(sorted(PARAMETERS))}"))
        parameters = None
    else:
        for fact, (kinds, what) in _ONLY_ON.items():
            if fact in parameters and kind not in kinds:
                problems.append(((*where, "parameters"), f"a {kind} message carries no {what}"))
                break
    if body is not None and parameters is not None:
        numbers = placeholders(body)
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(((*where, "body"), "must number its placeholders {{1}}, {{2}}, … in a row"))
        elif len(numbers) != len(parameters):
            problems.append(
                (
                    (*where, "parameters"),
                    f"the template has {len(numbers)} placeholders and {len(parameters)} parameters are named",
                )
            )
    code = value.get("language_code", where[-1].replace("-", "_"))
    if not isinstance(code, str) or not _META_LANGUAGE.match(code):
        problems.append(((*where, "language_code"), "must be Meta's language code such as es or en_US"))
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
