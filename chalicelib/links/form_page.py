"""The patient's pre-visit form (`GET/POST /f/{token}`): the form of the appointment the signed link names (the
clinic's `forms` setting picks it), one step at a time, in the patient's language.

- **Saves as the patient goes.** Every button posts the step; its answers are merged into those saved and the
  whole is stored as an `in-progress` FHIR QuestionnaireResponse, so leaving and coming back (the same link)
  shows every saved answer, on the first step with a required question still unanswered.
- **Checked on the server by the API's rules** (`chalicelib.forms.answers`: types, maxLength, enableWhen,
  required). An answer that is not valid is not saved and is named next to its question; "Save and continue"
  stays on a step until its required questions are answered; a question that a new answer enables appears on
  the same step. "Send the form" checks the whole form and stores it `completed`, or shows the first step with a
  problem.
- **Once sent, the form is the clinic's**: the link then says it was sent, and a repeated post changes nothing
  (to change an answer the patient calls the clinic, which may already have read it).
- The link works until 2 hours after the start (the waiting room), for a booked or checked-in appointment.
- Answers are health data: never logged (the log says which appointment saved, and the status), never in a
  message or a metric.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from msgspec import Struct

from chalicelib.clinics.form_settings import form_for
from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.clock import Clock
from chalicelib.core.errors import NotFound
from chalicelib.core.observability import logger
from chalicelib.core.records import Appointment, Clinic
from chalicelib.core.words import AppointmentStatus
from chalicelib.forms.answers import enabled, given_of, questionnaire_response, read_answers
from chalicelib.forms.questionnaire import Item, Questionnaire, read_questionnaire
from chalicelib.forms.steps import questions_of, steps
from chalicelib.links.form_html import StepView, message_page, step_page
from chalicelib.links.form_words import form_text, problem_text
from chalicelib.links.service import Page, _refused, _when, patient_language
from chalicelib.links.tokens import InvalidLink, Purpose, verify
from chalicelib.store import appointments as appointment_store
from chalicelib.store import clinics as clinic_store
from chalicelib.store import forms as form_store

if TYPE_CHECKING:
    from chalicelib.links.service import LinkSigner

OPEN_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)
MAX_POST_BYTES = 200_000  # a whole form's answers at their longest fit well inside this


class _Opened(Struct, frozen=True):
    appointment: Appointment
    clinic: Clinic
    questionnaire_id: str
    form: Questionnaire
    canonical: str
    language: str
    saved: dict[str, Any] | None  # the stored QuestionnaireResponse


class FormPages:
    def __init__(self, clock: Clock, signer: LinkSigner) -> None:
        self._clock = clock
        self._signer = signer

    def show(self, token: str) -> Page:
        opened = self._open(token)
        if isinstance(opened, Page):
            return opened
        given = given_of(opened.saved) if opened.saved else {}
        all_steps = steps(opened.form)
        answers = read_answers(opened.form, given, completing=False).answers
        # Coming back: the first step with a required question still unanswered (else the last one).
        first_open = next(
            (
                index
                for index, step in enumerate(all_steps)
                if any(q.required and enabled(q, answers) and q.link_id not in answers for q in questions_of(step))
            ),
            len(all_steps) - 1,
        )
        return Page(200, self._step(opened, first_open, given, {}))

    def save(self, token: str, raw_body: bytes) -> Page:
        opened = self._open(token)
        if isinstance(opened, Page):
            return opened
        posted = _posted(raw_body)
        if posted is None:
            return self.show(token)  # nothing of it is read, so nothing saved is cleared
        all_steps = steps(opened.form)
        try:
            index = min(max(int(posted.get("_step", ["0"])[0]), 0), len(all_steps) - 1)
        except ValueError:
            index = 0
        action = posted.get("_action", ["next"])[0]
        saved = given_of(opened.saved) if opened.saved else {}
        shown_before = {q.link_id for q in questions_of(all_steps[index]) if enabled(q, _answers(opened.form, saved))}
        given = dict(saved)
        for question in questions_of(all_steps[index]):
            given[question.link_id] = posted.get(question.link_id, [])  # a box left empty clears its answer
        read = read_answers(opened.form, given, completing=False)
        self._store(opened, read.answers, completed=False)
        # What the inputs show again: what was posted, the invalid values too, so the patient can correct them.
        problems = {p.field: problem_text(p.problem, opened.language) for p in read.problems}
        here = {q.link_id for q in questions_of(all_steps[index])}
        shown_now = {q.link_id for q in questions_of(all_steps[index]) if enabled(q, read.answers)}
        if action == "back":
            problems_here = {k: v for k, v in problems.items() if k in here}
            if problems_here:
                return Page(200, self._step(opened, index, given, problems_here))
            return Page(200, self._step(opened, max(index - 1, 0), given, {}))
        if shown_now - shown_before:
            note = form_text("More questions appeared below: please answer them too.", opened.language)
            return Page(200, self._step(opened, index, given, _here(problems, here), note))
        completing = read_answers(opened.form, given, completing=True)
        if action == "complete" and not completing.problems:
            self._store(opened, completing.answers, completed=True)
            return self._sent(opened)
        all_problems = {p.field: problem_text(p.problem, opened.language) for p in completing.problems}
        problems_here = _here(all_problems, here)
        if problems_here or action != "complete":
            if problems_here or index == len(all_steps) - 1:
                return Page(200, self._step(opened, index, given, problems_here))
            return Page(200, self._step(opened, index + 1, given, {}))
        # Sent with a problem on another step: that step, its problems named.
        first = next(i for i, step in enumerate(all_steps) if _here(all_problems, _link_ids(step)))
        return Page(200, self._step(opened, first, given, _here(all_problems, _link_ids(all_steps[first]))))

    def _store(self, opened: _Opened, answers: dict[str, list[Any]], *, completed: bool) -> None:
        appointment = opened.appointment
        resource = questionnaire_response(
            opened.form,
            opened.canonical,
            f"Patient/{appointment.patient_id}",
            answers,
            completed=completed,
            authored=self._clock.now(),
        )
        form_store.save_answers(
            appointment.clinic_id, appointment.appointment_id, opened.questionnaire_id, resource, self._clock.now()
        )
        logger.info(
            "pre-visit form saved",
            extra={"appointment_id": appointment.appointment_id, "status": resource["status"]},
        )

    def _step(
        self,
        opened: _Opened,
        index: int,
        given: dict[str, list[str]],
        problems: dict[str, str],
        note: str | None = None,
    ) -> str:
        all_steps = steps(opened.form)
        answers = _answers(opened.form, given)
        when = _when(opened.appointment, opened.language)
        view = StepView(
            opened.form.title_for(opened.language) or form_text("Before your visit", opened.language),
            opened.clinic.name,
            form_text("For your appointment on {when}.", opened.language, when=when),
            opened.language,
            all_steps[index],
            index + 1,
            len(all_steps),
            given,
            problems,
            lambda item: enabled(item, answers),
            note,
        )
        return step_page(view)

    def _sent(self, opened: _Opened) -> Page:
        message = form_text("Thank you. Your form has been sent to the clinic.", opened.language)
        return Page(200, message_page(opened.clinic.name, message, opened.language))

    def _open(self, token: str) -> _Opened | Page:
        try:
            claim = verify(token, self._signer.key(), self._clock.now())
        except InvalidLink as e:
            return _refused(type(e).__name__)
        if claim.purpose is not Purpose.FORM:
            return _refused("NotAFormLink")
        appointment = appointment_store.find(claim.clinic_id, claim.appointment_id)
        clinic = clinic_store.find_clinic(claim.clinic_id) if appointment is not None else None
        if appointment is None or clinic is None:
            return _refused("DoesNotExist")
        language = patient_language(clinic.clinic_id, appointment.patient_id)
        questionnaire_id = form_for(clinic_policy(clinic).forms, appointment.provider, appointment.event_type)
        stored = None
        if questionnaire_id is not None:
            try:
                stored = form_store.get_form(clinic.clinic_id, questionnaire_id)
            except NotFound:
                stored = None
        if questionnaire_id is None or stored is None:
            text = form_text("There is no form to fill in for this appointment.", language)
            return Page(404, message_page(clinic.name, text, language))
        saved_item = form_store.answers_for(clinic.clinic_id, appointment.appointment_id, questionnaire_id)
        saved = json.loads(saved_item.resource) if saved_item is not None else None
        resource = json.loads(stored.resource)
        opened = _Opened(
            appointment,
            clinic,
            questionnaire_id,
            read_questionnaire(resource),
            _canonical(resource, questionnaire_id),
            language,
            saved,
        )
        if saved is not None and saved.get("status") == "completed":
            return self._sent(opened)
        if appointment.status not in OPEN_STATUSES:
            text = form_text("This form can no longer be filled in here. Please call the clinic.", language)
            return Page(409, message_page(clinic.name, text, language))
        return opened


def _canonical(resource: dict[str, Any], questionnaire_id: str) -> str:
    """The Questionnaire's canonical URL (`url|version` when it has both), else its reference in this API."""
    url, version = resource.get("url"), resource.get("version")
    if isinstance(url, str) and url:
        return f"{url}|{version}" if isinstance(version, str) and version else url
    return f"Questionnaire/{questionnaire_id}"


def _answers(form: Questionnaire, given: dict[str, list[str]]) -> dict[str, list[Any]]:
    return read_answers(form, given, completing=False).answers


def _link_ids(step: tuple[Item, ...]) -> set[str]:
    return {q.link_id for q in questions_of(step)}


def _here(problems: dict[str, str], link_ids: set[str]) -> dict[str, str]:
    return {field: text for field, text in problems.items() if field in link_ids}


def _posted(raw_body: bytes) -> dict[str, list[str]] | None:
    """The form post's fields, or None for a body too long, with too many fields, or not UTF-8 text."""
    if len(raw_body) > MAX_POST_BYTES:
        return None
    try:
        return parse_qs(raw_body.decode("utf-8"), keep_blank_values=True, max_num_fields=1000)
    except (UnicodeDecodeError, ValueError):
        return None
