"""Medication regimens: creating them (patient, instructions, timers), reading them with their next doses,
pausing, resuming and stopping, and adherence. The dose timers themselves fire into `chalicelib.regimens.doses`.

Timers: each dosage instruction gets Scheduler cron schedules in the patient's zone (StartDate and EndDate from
its bounds, deleted by Scheduler after the end) when its pattern fits cron, else one one-time schedule for its
next dose that arms the one after when it fires. Pausing or stopping disarms them all and raises the version,
so a follow-up already armed for an earlier dose finds the regimen changed and sends nothing.

Nothing half armed: the regimen is written first, with the names of the timers it is about to arm (were the
function to die mid-way, the reconciler sees them missing and arms them), then they are armed. If Scheduler
refuses one, every timer already armed is disarmed again and the regimen (and the patient made for it) is
deleted: the answer is a 503 and nothing is left stored or armed, so the caller can simply retry (with its `id`
/ `external_id`, a retry is idempotent anyway). A resume Scheduler refuses leaves the regimen as it was, paused,
with nothing armed (503). A pause or stop is stored first; a timer Scheduler then fails to delete is logged and
sends nothing when it fires, since the regimen's version has moved on.

Instructions: those with the same FHIR `sequence` run together from the same start; each later sequence (every
instruction of CareCue's own JSON) starts where the one before ends (a taper). An instruction whose last dose is
already past (a 2015 prescription posted today) is stored, armed for nothing, and a note says so: the regimen is
created (201) so a re-post finds it, rather than refusing a real prescription for being old.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.arm.envelope import dose_input
from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.clock import Clock, iso_utc, to_utc
from chalicelib.core.errors import (
    AlreadyExists,
    Conflict,
    FieldProblem,
    InvalidRequest,
    NotFound,
    SchedulerUnavailable,
    TimerError,
)
from chalicelib.core.observability import logger
from chalicelib.core.records import Clinic, Dose, Regimen
from chalicelib.core.timezones import local_time
from chalicelib.core.words import DoseAdherence, DoseStatus, RegimenStatus
from chalicelib.patients.matching import match_patient
from chalicelib.regimens.repeats import content_digest, differing_fields
from chalicelib.regimens.request import NewRegimen
from chalicelib.regimens.timing import (
    DoseTiming,
    cron_expressions,
    dose_times,
    in_zone,
    last_dose,
    timing_from_json,
    timing_json,
)
from chalicelib.regimens.timing_read import Notes
from chalicelib.store import clinics, patients, regimens
from chalicelib.store.patients import PatientWrite

if TYPE_CHECKING:
    from chalicelib.arm.timers import ReminderTimers
    from chalicelib.regimens.views import AdherenceView, DoseView, RegimenNote, RegimenView

ADHERENCE_MAX_DAYS = 366
# How often a regimen matches its patient again when another request stored that patient first.
PATIENT_MATCH_TRIES = 3


class Armed(Struct, frozen=True):
    name: str
    expression: str  # cron(...) in the regimen's zone, or at(...) in UTC
    timezone: str


def instructions_of(regimen: Regimen) -> list[DoseTiming]:
    return [timing_from_json(item) for item in json.loads(regimen.instructions)]


def instruction_start(timing: DoseTiming, regimen: Regimen) -> datetime:
    return timing.bounds.start or regimen.starts_at


def next_doses(regimen: Regimen, after: datetime, limit: int = 5) -> list[tuple[int, datetime]]:
    found = [
        (index, moment)
        for index, timing in enumerate(instructions_of(regimen))
        for moment in dose_times(timing, regimen.timezone, instruction_start(timing, regimen), after=after, limit=limit)
    ]
    return sorted(found, key=lambda item: item[1])[:limit]


class _Planned(Struct, frozen=True):
    armed: Armed
    event: dict[str, Any]
    start: datetime | None = None  # a cron schedule's first and last day
    end: datetime | None = None
    due: datetime | None = None  # a chained link's dose


class RegimenTimers:
    """Arms and disarms a regimen's dose timers (the names are stored on the regimen)."""

    def __init__(self, timers: ReminderTimers) -> None:
        self._timers = timers

    def planned(self, regimen: Regimen, now: datetime) -> list[Armed]:
        """The timers `arm` would arm now, without arming them."""
        return [plan.armed for plan in self._plan(regimen, now)]

    def arm(self, regimen: Regimen, now: datetime) -> list[Armed]:
        """Arms every timer of the regimen. If Scheduler refuses one, those already armed are disarmed again and
        the TimerError raised: never half armed."""
        armed: list[Armed] = []
        try:
            for plan in self._plan(regimen, now):
                if plan.due is not None:
                    self._timers.arm_once(plan.armed.name, plan.due, plan.event)
                else:
                    assert plan.start is not None
                    self._timers.arm_recurring(
                        plan.armed.name, plan.armed.expression, plan.armed.timezone, plan.event, plan.start, plan.end
                    )
                armed.append(plan.armed)
        except TimerError:
            self.disarm_quietly([a.name for a in armed])
            raise
        return armed

    def _plan(self, regimen: Regimen, now: datetime) -> list[_Planned]:
        plans: list[_Planned] = []
        for index, timing in enumerate(instructions_of(regimen)):
            start = instruction_start(timing, regimen)
            event = dose_event(regimen, index)
            expressions = cron_expressions(timing)
            if expressions is None:
                following = dose_times(timing, regimen.timezone, start, after=now, limit=1)
                if following:
                    plans.append(_Planned(self._link(regimen, index, following[0]), event, due=following[0]))
                continue
            last = last_dose(timing, regimen.timezone, start)
            if last is not None and last < now:
                continue
            end = None if last is None else last + timedelta(minutes=1)
            for number, expression in enumerate(expressions):
                name = f"{regimen.regimen_id}.i{index}.c{number}"
                plans.append(_Planned(Armed(name, expression, regimen.timezone), event, max(start, now), end))
        return plans

    def _link(self, regimen: Regimen, index: int, due: datetime) -> Armed:
        name = f"{regimen.regimen_id}.i{index}.{to_utc(due):%Y%m%d%H%M}"
        return Armed(name, f"at({to_utc(due):%Y-%m-%dT%H:%M:%S})", "UTC")

    def arm_link(self, regimen: Regimen, index: int, due: datetime) -> Armed:
        """The one-time timer for a chained pattern's next dose, named after it (a fired one is never updated)."""
        armed = self._link(regimen, index, due)
        self._timers.arm_once(armed.name, due, dose_event(regimen, index))
        return armed

    def disarm(self, regimen: Regimen) -> None:
        for name in regimen.timers or []:
            self._timers.disarm_named(name)

    def disarm_quietly(self, names: list[str]) -> None:
        """Disarms what it can; a timer left armed is logged, and sends nothing when it fires (the regimen's
        version or status no longer matches it, or the regimen is gone)."""
        for name in names:
            try:
                self._timers.disarm_named(name)
            except TimerError as e:
                logger.warning("regimen timer not disarmed", extra={"timer": name, "code": e.code})


def dose_event(regimen: Regimen, index: int) -> dict[str, Any]:
    """The Input of an instruction's dose timers, cron and chained alike (`chalicelib.arm.envelope`)."""
    return dose_input(regimen.clinic_id, regimen.regimen_id, index, int(regimen.version))


class RegimenService:
    def __init__(self, clock: Clock, timers: RegimenTimers) -> None:
        self._clock = clock
        self._timers = timers

    def create(self, clinic_id: str, request: NewRegimen) -> tuple[RegimenView, bool]:
        """The new regimen's view and True; for an `external_id` already created with the same content, that
        regimen and False; with different content, a Conflict naming the fields that differ."""
        regimen_id = _regimen_id(clinic_id, request.external_id)
        if request.external_id is not None:
            stored = regimens.find(clinic_id, regimen_id)
            if stored is not None:
                return self._repeat(stored, request), False
        now = self._clock.now()
        clinic = clinics.get_clinic(clinic_id)
        for attempt in range(PATIENT_MATCH_TRIES):
            patient_write = self._patient(clinic, request, now)
            regimen, past = self._new_regimen(clinic, regimen_id, request, patient_write, now)
            active = regimen.status == RegimenStatus.ACTIVE
            # The names go in with the write: should arming stop half way, the reconciler finds them missing.
            regimen = replace(regimen, timers=[a.name for a in self._timers.planned(regimen, now)] if active else [])
            try:
                regimens.create(regimen, patient_write)
                break
            except AlreadyExists as e:
                if e.what == "patient":
                    if attempt + 1 < PATIENT_MATCH_TRIES:
                        continue  # another request stored this patient first: match again, and find it
                    raise Conflict("the patient was stored by another request meanwhile; retry") from e
                if request.external_id is None:
                    raise
                # The same regimen sent twice at once: the other request stored it, under the same timer names.
                return self._repeat(regimens.get_existing(clinic_id, regimen_id, consistent=True), request), False
        if request.patient is not None and request.patient.whatsapp_opt_in and request.patient.phone:
            from chalicelib.patients.whatsapp import record_opt_in

            record_opt_in(clinic_id, request.patient.phone, "regimen", now)
        armed: list[Armed] = []
        if active:
            try:
                armed = self._timers.arm(regimen, now)
            except TimerError as e:
                self._withdraw(regimen, patient_write)
                logger.error("regimen not created: timers refused", extra={"regimen_id": regimen_id, "code": e.code})
                raise SchedulerUnavailable(
                    f"the reminder scheduler refused the dose timers ({e.code}); nothing was stored or armed: retry"
                ) from e
        logger.info("regimen created", extra={"clinic_id": clinic_id, "regimen_id": regimen.regimen_id})
        notes: list[RegimenNote] = [{"field": field, "note": note} for field, note in (*request.notes, *past)]
        return {**self.view(regimen, armed), "notes": notes}, True

    def _new_regimen(
        self, clinic: Clinic, regimen_id: str, request: NewRegimen, patient_write: PatientWrite, now: datetime
    ) -> tuple[Regimen, Notes]:
        """The regimen item (not yet stored), and the notes on its instructions that are already over."""
        patient = patient_write.patient
        zone = patient.timezone or clinic.timezone
        instructions, past = _consecutive(request, zone, now)
        regimen = Regimen(
            clinic_id=clinic.clinic_id,
            regimen_id=regimen_id,
            patient_id=patient.patient_id,
            patient_matched=patient_write.matched,
            content_digest=content_digest(request) if request.external_id is not None else None,
            medication=request.medication,
            dose_text=request.dose_text,
            timezone=zone,
            instructions=json.dumps([timing_json(t) for t in instructions]),
            starts_at=to_utc(instructions[0].bounds.start or now) if instructions else now,
            status=request.status,
            version=1,
            supply=request.supply,
            created_at=now,
            updated_at=now,
        )
        if request.caregiver is not None:
            regimen = replace(
                regimen,
                caregiver_first_name=request.caregiver.first_name,
                caregiver_phone=request.caregiver.phone,
                caregiver_email=request.caregiver.email,
            )
        return regimen, past

    def _repeat(self, stored: Regimen, request: NewRegimen) -> RegimenView:
        """The stored regimen's view for a true repeat of its `external_id`; a Conflict when the content differs."""
        differing = differing_fields(stored.content_digest, request)
        if differing:
            raise Conflict(
                f"this external_id is already a regimen with a different {', '.join(differing)}; "
                f"pause, resume or stop that one with PATCH /v1/regimens/{stored.regimen_id}, or send a new "
                "external_id"
            )
        return self.view(stored)

    def _withdraw(self, regimen: Regimen, patient: PatientWrite) -> None:
        """Deletes a regimen whose timers could not be armed (and the patient made for it): nothing half stored."""
        regimens.withdraw(regimen, patient)

    def get(self, clinic_id: str, regimen_id: str) -> RegimenView:
        return self.view(self._regimen(clinic_id, regimen_id))

    def change_status(self, clinic_id: str, regimen_id: str, status: RegimenStatus) -> RegimenView:
        regimen = self._regimen(clinic_id, regimen_id)
        if regimen.status == RegimenStatus.STOPPED:
            raise Conflict("a stopped regimen cannot be changed; create a new one")
        if status == regimen.status:
            return self.view(regimen)
        now = self._clock.now()
        previous, armed_before = regimen.status, list(regimen.timers or [])
        regimen = replace(regimen, version=int(regimen.version) + 1, status=status, updated_at=now)
        # Planned for the regimen at its new version: the timers' names carry it.
        planned = [a.name for a in self._timers.planned(regimen, now)] if status == RegimenStatus.ACTIVE else []
        regimen = replace(regimen, timers=planned)
        regimens.write(regimen)
        # The old timers are stale now (their version is behind): one Scheduler fails to delete sends nothing.
        self._timers.disarm_quietly(armed_before)
        armed: list[Armed] = []
        if status == RegimenStatus.ACTIVE:
            try:
                armed = self._timers.arm(regimen, now)
            except TimerError as e:
                regimen = replace(regimen, status=previous, timers=[])
                regimens.write(regimen)
                logger.error("regimen not resumed: timers refused", extra={"regimen_id": regimen_id, "code": e.code})
                raise SchedulerUnavailable(
                    f"the reminder scheduler refused the dose timers ({e.code}); the regimen stays {previous}: retry"
                ) from e
        logger.info("regimen changed", extra={"regimen_id": regimen_id, "status": status})
        return self.view(regimen, armed)

    def adherence(self, clinic_id: str, regimen_id: str, start: datetime, end: datetime) -> AdherenceView:
        if end <= start or end - start > timedelta(days=ADHERENCE_MAX_DAYS):
            raise InvalidRequest.single("to", f"must be after from, at most {ADHERENCE_MAX_DAYS} days later")
        regimen = self._regimen(clinic_id, regimen_id)
        settings = clinic_policy(clinics.get_clinic(clinic_id)).medication
        now = self._clock.now()
        doses: list[DoseView] = []
        for dose in regimens.doses_due_between(regimen_id, iso_utc(start), iso_utc(end)):
            due = datetime.fromisoformat(dose.due_at)
            status = dose_status(dose, due, now, settings.follow_up, settings.caregiver_after)
            doses.append(
                {
                    "due": local_time(due, regimen.timezone).isoformat(),
                    "status": status,
                    "taken_at": None
                    if dose.taken_at is None
                    else local_time(dose.taken_at, regimen.timezone).isoformat(),
                    "taken_via": dose.taken_via,
                }
            )
        counted = [d for d in doses if d["status"] in (DoseAdherence.TAKEN, DoseAdherence.LATE, DoseAdherence.MISSED)]
        taken = [d for d in counted if d["status"] in (DoseAdherence.TAKEN, DoseAdherence.LATE)]
        percentage = None if not counted else round(100 * len(taken) / len(counted), 1)
        return {"regimen_id": regimen_id, "doses": doses, "taken_percent": percentage}

    def view(self, regimen: Regimen, armed: list[Armed] | None = None) -> RegimenView:
        now = self._clock.now()
        instructions = instructions_of(regimen)
        upcoming = next_doses(regimen, now) if regimen.status == RegimenStatus.ACTIVE else []
        return {
            "id": regimen.regimen_id,
            "patient_id": regimen.patient_id,
            "medication": regimen.medication,
            "dose": regimen.dose_text,
            "status": regimen.status,
            "version": int(regimen.version),
            "timezone": regimen.timezone,
            "instructions": [
                {
                    **timing_json(t),
                    "schedule": {"cron": list(c), "timezone": regimen.timezone}
                    if (c := cron_expressions(t)) is not None
                    else {"chained": True},
                }
                for t in instructions
            ],
            "timers": [{"name": a.name, "expression": a.expression, "timezone": a.timezone} for a in armed]
            if armed is not None
            else [{"name": name} for name in regimen.timers or []],
            "next_doses": [local_time(moment, regimen.timezone).isoformat() for _, moment in upcoming],
            "caregiver": None
            if regimen.caregiver_first_name is None
            else {
                "first_name": regimen.caregiver_first_name,
                "phone": regimen.caregiver_phone,
                "email": regimen.caregiver_email,
            },
            "supply": None if regimen.supply is None else int(regimen.supply),
        }

    def _regimen(self, clinic_id: str, regimen_id: str) -> Regimen:
        found = regimens.find(clinic_id, regimen_id)
        if found is None:
            raise NotFound("regimen")
        return found

    def _patient(self, clinic: Clinic, request: NewRegimen, now: datetime) -> PatientWrite:
        """The regimen's patient: the one it names, the one the prescriber's reference is on, or the clinic's
        patient with its contact and name (chalicelib.patients.matching), else a new one stored with it."""
        if request.patient_id is not None:
            found = patients.find_patient(clinic.clinic_id, request.patient_id)
            if found is not None:
                return PatientWrite(found, new=False)
            if request.external_ref is None:
                raise InvalidRequest.single("patient_id", "is not a patient of this clinic")
        if request.external_ref is not None:
            known = regimens.patient_by_external_ref(clinic.clinic_id, request.external_ref)
            if known is not None:
                return PatientWrite(known, new=False)
            if request.patient is None:
                raise InvalidRequest.single(
                    "subject.reference",
                    "is not a patient CareCue knows: send `patient` (name, phone or email) with it to create them",
                )
        details = request.patient
        assert details is not None  # the request parser requires one of the three
        # POST /v1/regimens is the clinic's: a contact it gives an existing patient is the clinic's change.
        return replace(
            match_patient(clinic.clinic_id, details, now, external_ref=request.external_ref),
            changed_by=("clinic", "api"),
        )


def _regimen_id(clinic_id: str, external_id: str | None) -> str:
    """Random, or derived from the caller's own id so that sending the same regimen twice creates it once."""
    if external_id is None:
        return f"rgm_{secrets.token_hex(10)}"
    digest = hashlib.sha256(f"{clinic_id}\x1f{external_id}".encode()).hexdigest()
    return f"rgm_{digest[:20]}"


def dose_status(
    dose: Dose, due: datetime, now: datetime, late_after: timedelta, missed_after: timedelta
) -> DoseAdherence:
    """taken (within the follow-up window), late (after it), missed (not taken by the caregiver window),
    skipped (never sent: opted out, no contact), or due (still open)."""
    if dose.status == DoseStatus.SKIPPED:
        return DoseAdherence.SKIPPED
    if dose.taken_at is not None:
        return DoseAdherence.TAKEN if dose.taken_at <= due + late_after else DoseAdherence.LATE
    return DoseAdherence.MISSED if now >= due + missed_after else DoseAdherence.DUE


def _consecutive(request: NewRegimen, zone: str, now: datetime) -> tuple[list[DoseTiming], Notes]:
    """Each instruction read in the patient's zone with its start filled in: instructions sharing a sequence start
    together, each later sequence where the one before ends; overlapping or open steps are refused. And the notes
    on instructions that are already over."""
    groups: list[list[int]] = []
    for index, sequence in enumerate(request.sequences or [None] * len(request.instructions)):
        if groups and sequence is not None and request.sequences[groups[-1][0]] == sequence:
            groups[-1].append(index)
        else:
            groups.append([index])
    steps: list[DoseTiming] = []
    notes: Notes = []
    previous_end: datetime | None = None
    for number, group in enumerate(groups):
        ends: list[datetime | None] = []
        for index in group:
            path = request.path_of(index)
            where = f"{path}.repeat" if path == "timing" else f"{path}.timing.repeat"
            timing = in_zone(request.instructions[index], zone)
            start = timing.bounds.start or previous_end or now
            if previous_end is not None and start < previous_end:
                raise InvalidRequest.single(f"{where}.boundsPeriod.start", "overlaps the instruction before it")
            timing = replace(timing, bounds=replace(timing.bounds, start=to_utc(start)))
            last = last_dose(timing, zone, start)
            end = timing.bounds.end_from(start)
            if end is None and timing.bounds.count is not None:
                end = None if last is None else last + timedelta(minutes=1)
            if end is not None and (last is None or last < now):
                when = (
                    "no dose falls within its bounds"
                    if last is None
                    else f"its last dose was {local_time(last, zone):%Y-%m-%d}"
                )
                notes.append((_bound_path(where, timing), f"is over ({when}): no reminder is armed for it"))
            ends.append(end)
            steps.append(timing)
        open_ended = any(end is None for end in ends)
        if open_ended and number < len(groups) - 1:
            path = request.path_of(group[ends.index(None)])
            where = f"{path}.repeat" if path == "timing" else f"{path}.timing.repeat"
            raise InvalidRequest(
                [
                    FieldProblem(
                        f"{where}.boundsDuration",
                        "is needed on every step of a taper but the last: without an end (boundsDuration, "
                        "boundsPeriod.end or count) CareCue cannot tell when the next sequence starts",
                    )
                ]
            )
        previous_end = None if open_ended else max(end for end in ends if end is not None)
    return steps, notes


def _bound_path(where: str, timing: DoseTiming) -> str:
    """The element that ends an instruction, for a note that it is over."""
    if timing.events:
        return where.removesuffix(".repeat") + ".event"
    if timing.bounds.end is not None:
        return f"{where}.boundsPeriod.end"
    if timing.bounds.duration is not None:
        return f"{where}.boundsDuration"
    return f"{where}.count"
