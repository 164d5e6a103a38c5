"""A clinic's pre-visit form as an HL7 FHIR R4 `Questionnaire`: the subset a small clinic needs, read strictly
where it changes how the form is asked and leniently everywhere else.

Asked as written: item types `group`, `display`, `string`, `text`, `boolean`, `choice` (with `answerOption`),
`date`, `integer`, `decimal`; `required`; `repeats` on a choice (tick several); `maxLength` on string and text;
`enableWhen` with `=` or `exists` on an earlier question (`enableBehavior` all or any).

Shown in the patient's language: FHIR's translation extension
(`http://hl7.org/fhir/StructureDefinition/translation`, `lang` and `content`) on the form's `_title`, an item's
`_text` and an option's `valueCoding._display` or `_valueString`; a text without one for the patient's language
is shown as written. A translation that is not well formed is ignored, as any element the form does not need.

Kept and ignored: what does not change how the form is asked (`text` of the form, `identifier`, `code`, `date`,
`publisher`, `prefix`, `definition`, `extension`, `meta`, …). Refused (a 400 naming the item's `linkId` and the
element): any other item type, `answerValueSet`, `initial`, `modifierExtension`, another operator, an
`enableWhen` on a later or unknown question, a choice without options, duplicate `linkId`s.
"""

from __future__ import annotations

import re
from typing import Any

from msgspec import Struct

from chalicelib.core.errors import FieldProblem, InvalidRequest

ASKED_TYPES = {"group", "display", "string", "text", "boolean", "choice", "date", "integer", "decimal"}
QUESTION_TYPES = ASKED_TYPES - {"group", "display"}
# Elements of an item CareCue cannot honour: asking the form without them would ask a different form.
REFUSED_ELEMENTS = {"answerValueSet", "initial", "modifierExtension", "readOnly", "answerConstraint"}
ANSWER_KEYS = {
    "answerBoolean": "boolean",
    "answerString": "string",
    "answerInteger": "integer",
    "answerDecimal": "decimal",
    "answerDate": "date",
    "answerCoding": "choice",
}
REFUSED = "refused"  # the type recorded for an item whose own type was refused
MAX_ITEMS = 200
MAX_LENGTH = 5000  # the longest free-text answer stored, whatever maxLength says
_LINK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
Translations = tuple[tuple[str, str], ...]  # (language tag, text)


def translations(element: Any) -> Translations:
    """The translations a primitive's extension element (`_text`, `_display`) carries; anything else: none."""
    found: list[tuple[str, str]] = []
    extensions = element.get("extension") if isinstance(element, dict) else None
    for extension in extensions if isinstance(extensions, list) else []:
        if not isinstance(extension, dict) or extension.get("url") != TRANSLATION:
            continue
        parts = extension.get("extension")
        values = {
            part.get("url"): part.get("valueCode", part.get("valueString"))
            for part in (parts if isinstance(parts, list) else [])
            if isinstance(part, dict)
        }
        language, content = values.get("lang"), values.get("content")
        if isinstance(language, str) and isinstance(content, str) and language and content.strip():
            found.append((language, content))
    return tuple(found)


def in_language(text: str, found: Translations, language: str) -> str:
    """`text` in `language` (its exact tag, else its base language: `ar` for `ar-EG`), else as written."""
    exact = {tag.lower(): content for tag, content in found}
    base = {tag.split("-")[0].lower(): content for tag, content in found}
    wanted = language.lower()
    return exact.get(wanted) or base.get(wanted.split("-")[0]) or text


class Option(Struct, frozen=True):
    code: str
    display: str
    system: str | None = None
    display_in: Translations = ()


class Condition(Struct, frozen=True):
    question: str
    operator: str  # "=" or "exists"
    answer: Any  # the value compared (a code for a choice), or a bool for exists


class Item(Struct, frozen=True):
    link_id: str
    type: str
    text: str
    required: bool = False
    repeats: bool = False
    max_length: int | None = None
    options: tuple[Option, ...] = ()
    enable_when: tuple[Condition, ...] = ()
    enable_any: bool = False
    items: tuple[Item, ...] = ()
    text_in: Translations = ()

    def text_for(self, language: str) -> str:
        return in_language(self.text, self.text_in, language)


class Questionnaire(Struct, frozen=True):
    title: str
    items: tuple[Item, ...]
    resource: dict[str, Any]  # as the clinic sent it, returned as it was
    title_in: Translations = ()

    def title_for(self, language: str) -> str:
        return in_language(self.title, self.title_in, language)

    def questions(self) -> list[Item]:
        """Every question in the order it is asked (groups flattened, display items left out)."""
        found: list[Item] = []

        def walk(items: tuple[Item, ...]) -> None:
            for item in items:
                if item.type in QUESTION_TYPES:
                    found.append(item)
                walk(item.items)

        walk(self.items)
        return found


def read_questionnaire(resource: Any) -> Questionnaire:
    """The form the resource describes, or `InvalidRequest` naming every item and element CareCue cannot ask."""
    problems: list[FieldProblem] = []
    if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
        raise InvalidRequest.single("resourceType", 'must be "Questionnaire"')
    raw_items = resource.get("item")
    if not isinstance(raw_items, list) or not raw_items:
        raise InvalidRequest.single("item", "must list the form's items")
    seen: dict[str, str] = {}  # linkId -> type, in the order asked
    items = _items(raw_items, "item", seen, problems)
    if len(seen) > MAX_ITEMS:
        problems.append(FieldProblem("item", f"has {len(seen)} items; a form has at most {MAX_ITEMS}"))
    if problems:
        raise InvalidRequest(problems)
    title = resource.get("title")
    return Questionnaire(title if isinstance(title, str) else "", items, resource, translations(resource.get("_title")))


def _items(raw: list[Any], where: str, seen: dict[str, str], problems: list[FieldProblem]) -> tuple[Item, ...]:
    items: list[Item] = []
    for index, value in enumerate(raw):
        here = f"{where}[{index}]"
        if not isinstance(value, dict):
            problems.append(FieldProblem(here, "must be an object"))
            continue
        item = _item(value, here, seen, problems)
        if item is not None:
            items.append(item)
    return tuple(items)


def _item(raw: dict[str, Any], here: str, seen: dict[str, str], problems: list[FieldProblem]) -> Item | None:
    link_id = raw.get("linkId")
    if not isinstance(link_id, str) or not _LINK_ID.match(link_id):
        problems.append(FieldProblem(f"{here}.linkId", "must be 1-64 letters, digits, dots, dashes or underscores"))
        return None
    name = f"item {link_id}"
    if link_id in seen:
        problems.append(FieldProblem(f"{name}.linkId", "is used by an earlier item; each linkId names one item"))
        return None
    kind = raw.get("type")
    if kind not in ASKED_TYPES:
        problems.append(FieldProblem(f"{name}.type", f"must be one of {', '.join(sorted(ASKED_TYPES))}"))
        seen[link_id] = REFUSED  # named once: a condition on it is not named again
        return None
    for element in sorted(REFUSED_ELEMENTS & raw.keys()):
        problems.append(FieldProblem(f"{name}.{element}", "is not supported: the form could not be asked as written"))
    text = raw.get("text", "")
    if not isinstance(text, str) or (kind != "group" and not text.strip()):
        problems.append(FieldProblem(f"{name}.text", "must be the question or text shown"))
        text = ""
    required = _flag(raw, "required", name, problems)
    repeats = _flag(raw, "repeats", name, problems)
    if repeats and kind != "choice":
        problems.append(FieldProblem(f"{name}.repeats", "is supported on choice items only"))
    max_length = raw.get("maxLength")
    if max_length is not None:
        if kind not in ("string", "text"):
            problems.append(FieldProblem(f"{name}.maxLength", "is supported on string and text items only"))
        elif isinstance(max_length, bool) or not isinstance(max_length, int) or not 1 <= max_length <= MAX_LENGTH:
            problems.append(FieldProblem(f"{name}.maxLength", f"must be a whole number from 1 to {MAX_LENGTH}"))
            max_length = None
    options = _options(raw.get("answerOption"), kind, name, problems)
    conditions = _conditions(raw.get("enableWhen"), name, seen, problems)
    behaviour = raw.get("enableBehavior", "all")
    if behaviour not in ("all", "any"):
        problems.append(FieldProblem(f"{name}.enableBehavior", "must be all or any"))
    seen[link_id] = kind
    children: tuple[Item, ...] = ()
    if "item" in raw:
        if kind != "group" or not isinstance(raw["item"], list):
            problems.append(FieldProblem(f"{name}.item", "nested items are supported under a group only"))
        else:
            children = _items(raw["item"], f"{name}.item", seen, problems)
    return Item(
        link_id,
        kind,
        text,
        required,
        repeats,
        max_length if isinstance(max_length, int) else None,
        options,
        conditions,
        behaviour == "any",
        children,
        translations(raw.get("_text")),
    )


def _flag(raw: dict[str, Any], element: str, name: str, problems: list[FieldProblem]) -> bool:
    value = raw.get(element, False)
    if not isinstance(value, bool):
        problems.append(FieldProblem(f"{name}.{element}", "must be true or false"))
        return False
    return value


def _options(raw: Any, kind: str, name: str, problems: list[FieldProblem]) -> tuple[Option, ...]:
    if kind != "choice":
        if raw is not None:
            problems.append(FieldProblem(f"{name}.answerOption", "is supported on choice items only"))
        return ()
    if not isinstance(raw, list) or not raw:
        problems.append(FieldProblem(f"{name}.answerOption", "must list the choices"))
        return ()
    options: list[Option] = []
    for index, option in enumerate(raw):
        coding = option.get("valueCoding") if isinstance(option, dict) else None
        text = option.get("valueString") if isinstance(option, dict) else None
        if isinstance(coding, dict) and isinstance(coding.get("code"), str) and coding["code"]:
            display = coding.get("display")
            system = coding.get("system")
            options.append(
                Option(
                    coding["code"],
                    display if isinstance(display, str) and display else coding["code"],
                    system if isinstance(system, str) else None,
                    translations(coding.get("_display")),
                )
            )
        elif isinstance(text, str) and text.strip():
            options.append(Option(text, text, None, translations(option.get("_valueString"))))
        else:
            problems.append(
                FieldProblem(f"{name}.answerOption[{index}]", "must be a valueCoding with a code, or a valueString")
            )
    if len({o.code for o in options}) != len(options):
        problems.append(FieldProblem(f"{name}.answerOption", "lists the same code twice"))
    return tuple(options)


def _conditions(raw: Any, name: str, seen: dict[str, str], problems: list[FieldProblem]) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        problems.append(FieldProblem(f"{name}.enableWhen", "must list its conditions"))
        return ()
    conditions: list[Condition] = []
    for index, value in enumerate(raw):
        here = f"{name}.enableWhen[{index}]"
        if not isinstance(value, dict):
            problems.append(FieldProblem(here, "must be an object"))
            continue
        question, operator = value.get("question"), value.get("operator")
        if isinstance(question, str) and seen.get(question) == REFUSED:
            continue
        if not isinstance(question, str) or seen.get(question) not in QUESTION_TYPES:
            problems.append(FieldProblem(f"{here}.question", "must be the linkId of an earlier question"))
            continue
        answers = [key for key in ANSWER_KEYS if key in value]
        if operator == "exists" and answers == ["answerBoolean"] and isinstance(value["answerBoolean"], bool):
            conditions.append(Condition(question, "exists", value["answerBoolean"]))
        elif operator == "=" and len(answers) == 1 and ANSWER_KEYS[answers[0]] == seen[question]:
            answer = value[answers[0]]
            if answers[0] == "answerCoding":
                answer = answer.get("code") if isinstance(answer, dict) else None
            if answer is None:
                problems.append(FieldProblem(f"{here}.{answers[0]}", "must hold the answer compared"))
                continue
            conditions.append(Condition(question, "=", answer))
        elif operator not in ("=", "exists"):
            problems.append(FieldProblem(f"{here}.operator", "must be = or exists"))
        else:
            problems.append(
                FieldProblem(
                    here, f"needs one answer[x] of the question's type ({seen[question]}), or exists with answerBoolean"
                )
            )
    return tuple(conditions)
