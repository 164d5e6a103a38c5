"""Whether each appointment's pre-visit form is done, for the front desk's queue (`GET /v1/queue`): the form the
clinic's `forms` setting gives the appointment and `done` (the patient sent it, `completed`) or not (not
started, or saved part way). Never the answers: the clinic reads them by
`GET /v1/appointments/{id}/questionnaire-response`."""

from __future__ import annotations

from collections.abc import Iterable

from typing_extensions import TypedDict

from chalicelib.clinics.form_settings import form_for
from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.records import Appointment, Clinic
from chalicelib.store import forms as form_store


class FormState(TypedDict):
    """An appointment's pre-visit form in the queue: which questionnaire, and whether the patient sent it."""

    questionnaire: str
    done: bool


def form_states(clinic: Clinic, appointments: Iterable[Appointment]) -> dict[str, FormState | None]:
    """Per appointment id: `{"questionnaire": id, "done": bool}`, or None when it has no form."""
    rules = clinic_policy(clinic).forms
    forms = {a.appointment_id: form_for(rules, a.provider, a.event_type) if rules else None for a in appointments}
    keys = [(appointment_id, form) for appointment_id, form in forms.items() if form is not None]
    statuses = form_store.answer_statuses(clinic.clinic_id, keys) if keys else {}
    return {
        appointment_id: None
        if form is None
        else {"questionnaire": form, "done": statuses.get((appointment_id, form)) == "completed"}
        for appointment_id, form in forms.items()
    }
