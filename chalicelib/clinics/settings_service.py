"""`GET/PUT /v1/clinic`: a clinic reads and replaces its own settings (time zone and policy). A change to
anything that decides when reminders go out re-plans the future reminders of every upcoming appointment."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.clinics.policy import clinic_policy, parse_policy, policy_json
from chalicelib.core.fields import decode_json_object
from chalicelib.errors import Conflict, FieldProblem, InvalidRequest
from chalicelib.observability import logger
from chalicelib.store import clinics as store
from chalicelib.timezones import is_known_timezone

if TYPE_CHECKING:
    from chalicelib.appointments.service import AppointmentService


class ClinicSettingsService:
    def __init__(self, appointments: AppointmentService) -> None:
        self._appointments = appointments

    def view(self, clinic_id: str) -> dict[str, Any]:
        clinic = store.get_clinic(clinic_id)
        return {
            "id": clinic.clinic_id,
            "name": clinic.name,
            "timezone": clinic.timezone,
            **policy_json(clinic_policy(clinic)),
        }

    def replace(self, clinic_id: str, raw_body: bytes) -> dict[str, Any]:
        """Validates the whole body (400 naming every wrong field), stores it, and re-plans if timing changed."""
        body = decode_json_object(raw_body)
        clinic = store.get_clinic(clinic_id)
        timezone = body.pop("timezone", clinic.timezone)
        for read_only in ("id", "name", "replanned_appointments"):
            body.pop(read_only, None)  # accepted so that a GET can be edited and PUT back
        problems: list[FieldProblem] = []
        if not isinstance(timezone, str) or not is_known_timezone(timezone):
            problems.append(FieldProblem("timezone", "must be an IANA time zone such as America/New_York"))
        try:
            policy = parse_policy(body, clinic.name)
        except InvalidRequest as e:
            problems = problems + e.problems
        if problems:
            raise InvalidRequest(problems)
        before = clinic_policy(clinic)
        timing_changed = timezone != clinic.timezone or (before.reminder_rules, before.quiet_hours) != (
            policy.reminder_rules,
            policy.quiet_hours,
        )
        stored = json.dumps(policy_json(policy), separators=(",", ":"), ensure_ascii=False)
        store.set_settings(clinic, timezone, stored)
        replanned = self._replan_all(clinic_id) if timing_changed else 0
        return {**self.view(clinic_id), "replanned_appointments": replanned}

    def _replan_all(self, clinic_id: str) -> int:
        replanned = 0
        for appointment in self._appointments.upcoming(clinic_id):
            try:
                self._appointments.replan(clinic_id, appointment.appointment_id)
            except Conflict:
                # Changed or cancelled by another request meanwhile; that request planned it with the new policy.
                logger.info("replan skipped", extra={"appointment_id": appointment.appointment_id})
                continue
            replanned += 1
        return replanned
