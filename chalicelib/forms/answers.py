"""A patient's answers to a clinic's form, read and checked on the server by the form's own rules, and written as
an HL7 FHIR R4 `QuestionnaireResponse`.

Answers arrive as text (a form post: linkId → the values given). Each is read as its item's type (a boolean,
a whole number, a decimal, a date, one of the choice's codes, text within its maxLength). An item whose
`enableWhen` is not met is not asked, so an answer to it is dropped and it cannot be required. Saving part of a
form (`in-progress`) checks what was given; completing it (`completed`) also needs every enabled required item.
Answers are health data: nothing here logs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from msgspec import Struct

from chalicelib.core.errors import FieldProblem
from chalicelib.forms.questionnaire import Condition, Item, Questionnaire

Answers = dict[str, list[Any]]  # linkId -> typed values (a choice's codes)


class ReadAnswers(Struct, frozen=True):
    answers: Answers
    problems: list[FieldProblem]


def read_answers(form: Questionnaire, given: Mapping[str, list[str]], *, completing: bool) -> ReadAnswers:
    answers: Answers = {}
    problems: list[FieldProblem] = []
    for item in form.questions():
        values = [v.strip() for v in given.get(item.link_id, []) if v.strip()]
        if not enabled(item, answers):
            continue
        typed = [value for value in (_typed(item, v, problems) for v in values) if value is not None]
        if len(typed) > 1 and not item.repeats:
            problems.append(FieldProblem(item.link_id, "takes one answer"))
            typed = typed[:1]
        if typed:
            answers[item.link_id] = typed
        elif completing and item.required and not any(p.field == item.link_id for p in problems):
            problems.append(FieldProblem(item.link_id, "is required"))
    return ReadAnswers(answers, problems)


def enabled(item: Item, answers: Answers) -> bool:
    """Whether the item is asked, given the answers to the questions before it."""
    if not item.enable_when:
        return True
    met = [_met(condition, answers) for condition in item.enable_when]
    return any(met) if item.enable_any else all(met)


def _met(condition: Condition, answers: Answers) -> bool:
    given = answers.get(condition.question, [])
    if condition.operator == "exists":
        return bool(given) is bool(condition.answer)
    return condition.answer in given


def _typed(item: Item, text: str, problems: list[FieldProblem]) -> Any:
    try:
        return _parse(item, text)
    except ValueError as e:
        problems.append(FieldProblem(item.link_id, str(e)))
        return None


def _parse(item: Item, text: str) -> Any:
    if item.type == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError("must be yes or no")
        return text.lower() == "true"
    if item.type == "integer":
        if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()) or len(text) > 9:
            raise ValueError("must be a whole number")
        return int(text)
    if item.type == "decimal":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 9:
            raise ValueError("must be a number")
        return number
    if item.type == "date":
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError("must be a date as YYYY-MM-DD") from None
        if not 1900 <= day.year <= 2200:
            raise ValueError("must be a date from 1900 to 2200")
        return day
    if item.type == "choice":
        if text not in {option.code for option in item.options}:
            raise ValueError("must be one of the choices offered")
        return text
    limit = item.max_length or 5000
    if len(text) > limit:
        raise ValueError(f"must be at most {limit} characters")
    return text


def questionnaire_response(
    form: Questionnaire,
    canonical: str,
    subject: str,
    answers: Answers,
    *,
    completed: bool,
    authored: datetime,
) -> dict[str, Any]:
    """The FHIR R4 QuestionnaireResponse of the answers, its items nested as the form's groups are."""
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": canonical,
        "status": "completed" if completed else "in-progress",
        "subject": {"reference": subject},
        "authored": authored.isoformat().replace("+00:00", "Z"),
        "item": _response_items(form.items, answers),
    }


def _response_items(items: tuple[Item, ...], answers: Answers) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if item.type == "group":
            children = _response_items(item.items, answers)
            if children:
                out.append({"linkId": item.link_id, **({"text": item.text} if item.text else {}), "item": children})
        elif item.link_id in answers:
            out.append(
                {"linkId": item.link_id, "text": item.text, "answer": [_value(item, v) for v in answers[item.link_id]]}
            )
    return out


def _value(item: Item, value: Any) -> dict[str, Any]:
    if item.type == "boolean":
        return {"valueBoolean": value}
    if item.type == "integer":
        return {"valueInteger": value}
    if item.type == "decimal":
        return {"valueDecimal": float(value)}
    if item.type == "date":
        return {"valueDate": value.isoformat()}
    if item.type == "choice":
        option = next(o for o in item.options if o.code == value)
        coding = {"code": option.code, "display": option.display}
        return {"valueCoding": {**({"system": option.system} if option.system else {}), **coding}}
    return {"valueString": value}


def given_of(response: Mapping[str, Any]) -> dict[str, list[str]]:
    """A stored QuestionnaireResponse's answers as the form posts them (linkId → texts): what a patient who comes
    back sees filled in, and what the next save merges its step into."""
    given: dict[str, list[str]] = {}

    def walk(items: Any) -> None:
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            texts = [_text(answer) for answer in item.get("answer", []) if isinstance(answer, dict)]
            if texts and isinstance(item.get("linkId"), str):
                given[item["linkId"]] = [t for t in texts if t is not None]
            walk(item.get("item"))

    walk(response.get("item"))
    return given


def _text(answer: dict[str, Any]) -> str | None:
    if "valueBoolean" in answer:
        return "true" if answer["valueBoolean"] else "false"
    if "valueCoding" in answer and isinstance(answer["valueCoding"], dict):
        return str(answer["valueCoding"].get("code", ""))
    for key in ("valueInteger", "valueDecimal", "valueDate", "valueString"):
        if key in answer:
            return str(answer[key])
    return None
