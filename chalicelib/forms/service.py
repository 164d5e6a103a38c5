"""The clinic's pre-visit forms through the API: create, read, list and replace FHIR Questionnaires, and read a
patient's answers for an appointment back as a FHIR QuestionnaireResponse."""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import Clock, iso_utc
from chalicelib.core.errors import AlreadyExists, Conflict, InvalidRequest, NotFound, StaleVersion
from chalicelib.core.fields import decode_json_object
from chalicelib.forms.questionnaire import read_questionnaire
from chalicelib.store import forms as store

if TYPE_CHECKING:
    from chalicelib.forms.views import QuestionnaireList

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class Forms:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def create(self, clinic_id: str, raw_body: bytes) -> dict[str, Any]:
        """Stores a new form under the resource's own `id` (or a new one); 409 when that id is taken."""
        resource = decode_json_object(raw_body)
        form = read_questionnaire(resource)
        questionnaire_id = resource.get("id") or f"q-{secrets.token_hex(6)}"
        if not isinstance(questionnaire_id, str) or not _FHIR_ID.match(questionnaire_id):
            raise InvalidRequest.single("id", "must be 1-64 letters, digits, dashes or dots (a FHIR id)")
        resource = {**resource, "id": questionnaire_id}
        try:
            version = store.create_form(clinic_id, questionnaire_id, resource, form.title, self._clock.now())
        except AlreadyExists as e:
            raise Conflict(f"a questionnaire with id {questionnaire_id} exists; PUT it to replace it") from e
        return _view(resource, version, self._clock)

    def replace(self, clinic_id: str, questionnaire_id: str, raw_body: bytes) -> dict[str, Any]:
        current = store.get_form(clinic_id, questionnaire_id)
        resource = decode_json_object(raw_body)
        form = read_questionnaire(resource)
        if resource.get("id", questionnaire_id) != questionnaire_id:
            raise InvalidRequest.single("id", f"must be {questionnaire_id}, the id in the path")
        resource = {**resource, "id": questionnaire_id}
        try:
            version = store.replace_form(
                clinic_id, questionnaire_id, resource, form.title, int(current.version), self._clock.now()
            )
        except StaleVersion as e:
            raise Conflict("the questionnaire was changed by another request; read it and try again") from e
        return _view(resource, version, self._clock)

    def get(self, clinic_id: str, questionnaire_id: str) -> dict[str, Any]:
        stored = store.get_form(clinic_id, questionnaire_id)
        return {**json.loads(stored.resource), "meta": _meta(int(stored.version), iso_utc(stored.updated_at))}

    def list(self, clinic_id: str) -> QuestionnaireList:
        return {
            "questionnaires": [
                {"id": f.questionnaire_id, "title": f.title, "version": int(f.version)}
                for f in store.forms_of(clinic_id)
            ]
        }

    def response_for(self, clinic_id: str, appointment_id: str) -> dict[str, Any]:
        """The patient's answers for the appointment: one QuestionnaireResponse, or a FHIR Bundle when the
        appointment has several forms; 404 when nothing has been answered."""
        found = [json.loads(item.resource) for item in store.answers_of(clinic_id, appointment_id)]
        if not found:
            raise NotFound("questionnaire response")
        if len(found) == 1:
            return dict(found[0])
        return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in found]}


def _meta(version: int, updated: str) -> dict[str, str]:
    return {"versionId": str(version), "lastUpdated": updated}


def _view(resource: dict[str, Any], version: int, clock: Clock) -> dict[str, Any]:
    return {**resource, "meta": _meta(version, iso_utc(clock.now()))}
