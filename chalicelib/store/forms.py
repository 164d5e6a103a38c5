"""Clinics' forms (FHIR Questionnaires) and patients' answers (QuestionnaireResponses) in DynamoDB.

A form is replaced whole on the version it was read at, so two admins editing at once cannot both win
(`StaleVersion`). Answers are one item per appointment and form, written whole each time the patient saves.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.core import records
from chalicelib.core.errors import AlreadyExists, NotFound, StaleVersion
from chalicelib.store.conditions import condition_failed
from chalicelib.store.convert import to_record, to_records
from chalicelib.store.models import QuestionnaireAnswers, QuestionnaireForm


def create_form(clinic_id: str, questionnaire_id: str, resource: dict[str, Any], title: str, now: datetime) -> int:
    form = QuestionnaireForm(
        clinic_id, questionnaire_id, resource=json.dumps(resource), title=title or None, version=1, updated_at=now
    )
    try:
        form.save(condition=QuestionnaireForm.questionnaire_id.does_not_exist())
    except PutError as e:
        if condition_failed(e):
            raise AlreadyExists("questionnaire") from e
        raise
    return 1


def replace_form(
    clinic_id: str, questionnaire_id: str, resource: dict[str, Any], title: str, expected_version: int, now: datetime
) -> int:
    """Replaces the form if it is still at `expected_version`; the new version."""
    form = QuestionnaireForm(
        clinic_id,
        questionnaire_id,
        resource=json.dumps(resource),
        title=title or None,
        version=expected_version + 1,
        updated_at=now,
    )
    try:
        form.save(condition=QuestionnaireForm.version == expected_version)
    except PutError as e:
        if condition_failed(e):
            raise StaleVersion("questionnaire") from e
        raise
    return expected_version + 1


def get_form(clinic_id: str, questionnaire_id: str) -> records.QuestionnaireForm:
    try:
        return to_record(
            QuestionnaireForm.get(clinic_id, questionnaire_id, consistent_read=True), records.QuestionnaireForm
        )
    except DoesNotExist:
        raise NotFound("questionnaire") from None


def forms_of(clinic_id: str) -> list[records.QuestionnaireForm]:
    return to_records(QuestionnaireForm.query(clinic_id), records.QuestionnaireForm)


def save_answers(
    clinic_id: str, appointment_id: str, questionnaire_id: str, resource: dict[str, Any], now: datetime
) -> None:
    QuestionnaireAnswers(
        clinic_id,
        f"{appointment_id}/{questionnaire_id}",
        resource=json.dumps(resource),
        status=str(resource["status"]),
        updated_at=now,
    ).save()


def answers_status(clinic_id: str, appointment_id: str, questionnaire_id: str) -> str | None:
    """in-progress or completed, or None when the patient has saved nothing; the answers themselves are not read."""
    try:
        item = QuestionnaireAnswers.get(
            clinic_id, f"{appointment_id}/{questionnaire_id}", attributes_to_get=["status"], consistent_read=True
        )
    except DoesNotExist:
        return None
    return str(item.status)


def answers_for(clinic_id: str, appointment_id: str, questionnaire_id: str) -> records.QuestionnaireAnswers | None:
    try:
        found = QuestionnaireAnswers.get(clinic_id, f"{appointment_id}/{questionnaire_id}", consistent_read=True)
        return to_record(found, records.QuestionnaireAnswers)
    except DoesNotExist:
        return None


def answers_of(clinic_id: str, appointment_id: str) -> list[records.QuestionnaireAnswers]:
    """Every form's answers for the appointment."""
    return to_records(
        QuestionnaireAnswers.query(clinic_id, QuestionnaireAnswers.response_key.startswith(f"{appointment_id}/")),
        records.QuestionnaireAnswers,
    )


def answer_statuses(clinic_id: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """in-progress or completed per (appointment id, questionnaire id) saved, in one batched read (the statuses
    only, never the answers); a pair the patient has saved nothing for is absent."""
    wanted = list(dict.fromkeys(keys))
    found: dict[tuple[str, str], str] = {}
    items = QuestionnaireAnswers.batch_get(
        [(clinic_id, f"{appointment_id}/{questionnaire_id}") for appointment_id, questionnaire_id in wanted],
        attributes_to_get=["response_key", "status"],
    )
    for item in items:
        appointment_id, questionnaire_id = item.response_key.split("/", 1)
        found[(appointment_id, questionnaire_id)] = str(item.status)
    return found
