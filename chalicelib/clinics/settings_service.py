"""`GET/PUT/PATCH /v1/clinic`: a clinic reads, replaces or merge-patches its own settings (time zone and policy).
A change to anything that decides when reminders go out re-plans the future reminders of every upcoming
appointment, in the background (`chalicelib.clinics.replan`): the PUT answers at once, and the clinic shows the
re-plan's state.

PATCH is JSON Merge Patch (RFC 7396, `chalicelib.core.merge_patch`) applied to the settable part of what GET
shows (`_settable`: the time zone and the policy, not `id`, `name`, `replan`); the merged body then takes PUT's
one path (`_save`): the same validation and 400, the same version-checked write and 409, the same re-plan, the
same answer. A `null` removes a setting, which PUT then reads as absent: its default (the time zone: unchanged).
So a merge patch cannot turn quiet hours off (`"quiet_hours": null` in a PUT); that takes a PUT."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.clinics.bodies import ClinicSettingsBody
from chalicelib.clinics.policy import clinic_policy, policy_json
from chalicelib.core.clock import Clock, iso_utc
from chalicelib.core.errors import Conflict, StaleVersion
from chalicelib.core.fields import decode_json_object
from chalicelib.core.merge_patch import merge_patch
from chalicelib.core.records import Clinic
from chalicelib.core.timezones import phone_region
from chalicelib.core.validation import Context, read_body
from chalicelib.core.words import ReplanStatus
from chalicelib.store import clinics as store
from chalicelib.store import forms as form_store

if TYPE_CHECKING:
    from chalicelib.appointments.service import AppointmentService
    from chalicelib.clinics.replan import ClinicReplans
    from chalicelib.clinics.views import ClinicSettingsView, ReplanView


class ClinicSettingsService:
    def __init__(self, clock: Clock, appointments: AppointmentService, replans: ClinicReplans) -> None:
        self._clock = clock
        self._appointments = appointments
        self._replans = replans

    def view(self, clinic_id: str) -> ClinicSettingsView:
        clinic = store.get_clinic(clinic_id)
        return {
            "id": clinic.clinic_id,
            "name": clinic.name,
            **_settable(clinic),  # type: ignore[typeddict-item]  # (replanned_appointments: PUT's)
            "replan": _replan_view(clinic),
        }

    def replace(self, clinic_id: str, raw_body: bytes) -> ClinicSettingsView:
        """`PUT`: the whole settings; a setting left out takes its default (see `_save`)."""
        body = decode_json_object(raw_body)
        return self._save(store.get_clinic(clinic_id, consistent=True), body)

    def patch(self, clinic_id: str, raw_body: bytes) -> ClinicSettingsView:
        """`PATCH`: a JSON merge patch (RFC 7396) of the settings as GET shows them, saved as PUT saves a body.
        The settings merged onto are those of the read whose version conditions the write: a change stored in
        between is never silently overwritten, it is a 409. A patch that is not a JSON object is a 400 (RFC 7396
        would replace the settings with it, which no settings are)."""
        patch = decode_json_object(raw_body)
        clinic = store.get_clinic(clinic_id, consistent=True)
        return self._save(clinic, merge_patch(_settable(clinic), patch))

    def _save(self, clinic: Clinic, body: dict[str, Any]) -> ClinicSettingsView:
        """Validates the whole body (400 naming every wrong field), stores it, and queues a re-plan if timing
        changed (or the last re-plan had not finished: it is started again for these settings). `clinic`: read
        consistently; its settings version conditions the write."""
        clinic_id = clinic.clinic_id
        # A contact phone is read in the country of the time zone in the body, or else the clinic's current one.
        # A form setting names one of the clinic's own questionnaires (a 400 naming `forms[i].questionnaire`).
        questionnaires = frozenset(form.questionnaire_id for form in form_store.forms_of(clinic_id))
        context = Context(region=phone_region(clinic.timezone), clinic_name=clinic.name, questionnaires=questionnaires)
        settings = read_body(ClinicSettingsBody, body, context)
        timezone = settings.timezone or clinic.timezone
        policy = settings.to_policy()
        before = clinic_policy(clinic)
        timing_changed = timezone != clinic.timezone or (before.reminder_rules, before.quiet_hours) != (
            policy.reminder_rules,
            policy.quiet_hours,
        )
        stored = json.dumps(policy_json(policy), separators=(",", ":"), ensure_ascii=False)
        replan = timing_changed or clinic.replan_status in (ReplanStatus.PENDING, ReplanStatus.FAILED)
        if not replan and (timezone, stored) == (clinic.timezone, clinic.policy):
            # Nothing changes: no write, so the settings version stays and another admin's save in progress,
            # conditioned on it, is not refused because of this request (a PATCH of {}, a PUT of GET's own body).
            return {**self.view(clinic_id), "replanned_appointments": 0}
        now = self._clock.now()
        try:
            version = store.set_settings(clinic, timezone, stored, replan_requested_at=now if replan else None)
        except StaleVersion as e:
            raise Conflict("the clinic's settings were replaced by another request; read them and try again") from e
        if not replan:
            return {**self.view(clinic_id), "replanned_appointments": 0}
        self._replans.request(clinic_id, version, now)  # QueueUnavailable: 503, and a PUT again queues it
        # Counted, not read: the appointments themselves are re-planned by the queued job.
        upcoming = self._appointments.count_upcoming(clinic_id)
        return {**self.view(clinic_id), "replanned_appointments": upcoming}


def _settable(clinic: Clinic) -> dict[str, Any]:
    """What GET shows of the settings that PUT takes, in PUT's shape: the one base a PATCH is merged onto."""
    return {"timezone": clinic.timezone, **policy_json(clinic_policy(clinic))}


def _replan_view(clinic: Clinic) -> ReplanView | None:
    """The latest re-plan: pending since when, or done (how many appointments) or failed (why), and when."""
    if clinic.replan_status is None:
        return None
    view: ReplanView = {
        "status": clinic.replan_status,
        "settings_version": int(clinic.replan_settings_version or 0),
    }
    if clinic.replan_requested_at is not None:
        view["requested_at"] = iso_utc(clinic.replan_requested_at)
    if clinic.replan_finished_at is not None:
        view["finished_at"] = iso_utc(clinic.replan_finished_at)
    if clinic.replan_appointments is not None:
        view["appointments"] = int(clinic.replan_appointments)
    if clinic.replan_reason is not None:
        view["reason"] = clinic.replan_reason
    return view
