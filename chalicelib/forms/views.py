"""The JSON shapes of `/v1/questionnaires` that are CareCue's own (the list); a Questionnaire and a
QuestionnaireResponse are HL7 FHIR R4 resources, typed here by what CareCue adds (`meta`) and what every
resource has (`resourceType`)."""

from __future__ import annotations

from typing_extensions import TypedDict


class QuestionnaireSummary(TypedDict):
    id: str
    title: str | None
    version: int


class QuestionnaireList(TypedDict):
    questionnaires: list[QuestionnaireSummary]
