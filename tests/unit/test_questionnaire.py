"""The Questionnaire subset a clinic's pre-visit form may use, and answers read by its rules (`chalicelib.forms`).

The form below follows the shape of HL7's R4 example `questionnaire-example-f201-lifelines` (groups of boolean,
date, string and choice questions, with narrative, identifier, code and publisher the form does not need) plus
an `enableWhen` and a repeating choice."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.core.errors import InvalidRequest
from chalicelib.forms.answers import enabled, questionnaire_response, read_answers
from chalicelib.forms.questionnaire import read_questionnaire

FORM: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "id": "intake",
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Intake</div>'},
    "identifier": [{"system": "http://clinic.example.org/forms", "value": "intake-1"}],
    "url": "http://clinic.example.org/Questionnaire/intake",
    "title": "Before your visit",
    "status": "active",
    "date": "2026-01-10",
    "publisher": "Example Clinic",
    "code": [{"system": "http://example.org/system/code/lifelines/nl", "code": "VL 1-1, 18-65_1.2.2"}],
    "item": [
        {"linkId": "1", "text": "Do you have allergies?", "type": "boolean", "required": True},
        {
            "linkId": "1.1",
            "text": "Which allergies?",
            "type": "string",
            "maxLength": 40,
            "required": True,
            "enableWhen": [{"question": "1", "operator": "=", "answerBoolean": True}],
        },
        {
            "linkId": "2",
            "text": "General questions",
            "type": "group",
            "item": [
                {"linkId": "2.1", "text": "What is your date of birth?", "type": "date"},
                {
                    "linkId": "2.2",
                    "text": "What brings you in?",
                    "type": "choice",
                    "repeats": True,
                    "required": True,
                    "answerOption": [
                        {
                            "valueCoding": {
                                "system": "http://clinic.example.org/reasons",
                                "code": "pain",
                                "display": "Pain",
                            }
                        },
                        {"valueCoding": {"code": "checkup", "display": "Check-up"}},
                        {"valueString": "Other"},
                    ],
                },
                {"linkId": "2.3", "text": "Please arrive 10 minutes early.", "type": "display"},
                {"linkId": "2.4", "text": "How many cigarettes a day?", "type": "integer"},
            ],
        },
    ],
}


def test_a_form_with_the_elements_real_questionnaires_carry_is_read_and_they_are_kept() -> None:
    form = read_questionnaire(FORM)

    assert form.title == "Before your visit"
    assert [q.link_id for q in form.questions()] == ["1", "1.1", "2.1", "2.2", "2.4"]
    assert form.resource["publisher"] == "Example Clinic"  # kept as sent, though it changes nothing asked
    choice = form.questions()[3]
    assert [(o.code, o.display) for o in choice.options] == [
        ("pain", "Pain"),
        ("checkup", "Check-up"),
        ("Other", "Other"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda f: f["item"][0].update(type="attachment"), "item 1.type"),
        (lambda f: f["item"][0].update(initial=[{"valueBoolean": False}]), "item 1.initial"),
        (lambda f: f["item"][1]["enableWhen"][0].update(operator="!="), "item 1.1.enableWhen[0].operator"),
        (lambda f: f["item"][1]["enableWhen"][0].update(question="2.4"), "item 1.1.enableWhen[0].question"),
        (lambda f: f["item"][2]["item"][1].update(answerOption=[]), "item 2.2.answerOption"),
        (lambda f: f["item"][2]["item"][0].update(linkId="1"), "item 1.linkId"),
        (lambda f: f["item"][0].update(repeats=True), "item 1.repeats"),
        (lambda f: f["item"][2]["item"][0].update(answerValueSet="http://example.org/vs"), "item 2.1.answerValueSet"),
    ],
)
def test_what_the_form_cannot_be_asked_with_is_a_400_naming_the_item_and_element(change: Any, field: str) -> None:
    form = copy.deepcopy(FORM)
    change(form)

    with pytest.raises(InvalidRequest) as refused:
        read_questionnaire(form)

    assert field in [p.field for p in refused.value.problems]


def test_every_problem_is_named_at_once() -> None:
    form = copy.deepcopy(FORM)
    form["item"][0]["type"] = "url"
    form["item"][2]["item"][3]["maxLength"] = 3

    with pytest.raises(InvalidRequest) as refused:
        read_questionnaire(form)

    assert [p.field for p in refused.value.problems] == ["item 1.type", "item 2.4.maxLength"]


def test_a_question_shown_only_after_yes_is_required_only_then_and_dropped_after_no() -> None:
    form = read_questionnaire(FORM)
    allergies = form.questions()[1]

    after_yes = read_answers(form, {"1": ["true"], "2.2": ["pain"]}, completing=True)
    after_no = read_answers(form, {"1": ["false"], "1.1": ["pollen"], "2.2": ["pain"]}, completing=True)

    assert [(p.field, p.problem) for p in after_yes.problems] == [("1.1", "is required")]
    assert after_no.problems == []
    assert "1.1" not in after_no.answers
    assert enabled(allergies, {"1": [True]}) and not enabled(allergies, {"1": [False]})


def test_answers_are_read_as_their_types_and_bad_ones_named_while_saving_part_of_the_form() -> None:
    form = read_questionnaire(FORM)

    partial = read_answers(
        form, {"1": ["maybe"], "2.1": ["1990-02-30"], "2.2": ["pain", "fever"], "2.4": ["²"]}, completing=False
    )

    assert [(p.field, p.problem) for p in partial.problems] == [
        ("1", "must be yes or no"),
        ("2.1", "must be a date as YYYY-MM-DD"),
        ("2.2", "must be one of the choices offered"),
        ("2.4", "must be a whole number"),
    ]
    assert partial.answers == {"2.2": ["pain"]}  # what was valid is kept: the page saves as the patient goes


def test_the_answers_become_a_fhir_questionnaire_response_nested_as_the_form() -> None:
    form = read_questionnaire(FORM)
    read = read_answers(
        form, {"1": ["true"], "1.1": ["pollen"], "2.1": ["1990-02-03"], "2.2": ["pain", "Other"]}, completing=True
    )

    response = questionnaire_response(
        form,
        "http://clinic.example.org/Questionnaire/intake",
        "Patient/pat_1",
        read.answers,
        completed=True,
        authored=datetime(2026, 11, 30, 14, 0, tzinfo=UTC),
    )

    assert read.answers["2.1"] == [date(1990, 2, 3)]
    assert response == {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://clinic.example.org/Questionnaire/intake",
        "status": "completed",
        "subject": {"reference": "Patient/pat_1"},
        "authored": "2026-11-30T14:00:00Z",
        "item": [
            {"linkId": "1", "text": "Do you have allergies?", "answer": [{"valueBoolean": True}]},
            {"linkId": "1.1", "text": "Which allergies?", "answer": [{"valueString": "pollen"}]},
            {
                "linkId": "2",
                "text": "General questions",
                "item": [
                    {"linkId": "2.1", "text": "What is your date of birth?", "answer": [{"valueDate": "1990-02-03"}]},
                    {
                        "linkId": "2.2",
                        "text": "What brings you in?",
                        "answer": [
                            {
                                "valueCoding": {
                                    "system": "http://clinic.example.org/reasons",
                                    "code": "pain",
                                    "display": "Pain",
                                }
                            },
                            {"valueCoding": {"code": "Other", "display": "Other"}},
                        ],
                    },
                ],
            },
        ],
    }


def _translated(language: str, content: str) -> dict[str, Any]:
    parts = [{"url": "lang", "valueCode": language}, {"url": "content", "valueString": content}]
    return {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/translation", "extension": parts}]}


def test_fhir_translations_give_the_texts_in_the_patients_language_and_a_bad_one_is_ignored() -> None:
    resource = copy.deepcopy(FORM)
    resource["_title"] = _translated("es", "Antes de su cita")
    resource["item"][0]["_text"] = _translated("ar", "هل لديك حساسية؟")
    resource["item"][2]["item"][1]["answerOption"][0]["valueCoding"]["_display"] = _translated("es", "Dolor")
    resource["item"][2]["item"][1]["answerOption"][2]["_valueString"] = _translated("es", "Otro")
    resource["item"][1]["_text"] = {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/translation"}]}

    form = read_questionnaire(resource)

    allergies, which, _, reason, _ = form.questions()
    assert (form.title_for("es-MX"), form.title_for("ar")) == ("Antes de su cita", "Before your visit")
    assert (allergies.text_for("ar"), allergies.text_for("es")) == ("هل لديك حساسية؟", "Do you have allergies?")
    assert which.text_for("ar") == "Which allergies?"  # its translation names no language: ignored
    pain, _, other = reason.options
    assert [(o.display, o.display_in[0][1]) for o in (pain, other)] == [("Pain", "Dolor"), ("Other", "Otro")]
