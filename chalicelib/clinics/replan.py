"""Re-planning a clinic's upcoming appointments in the background, after `PUT /v1/clinic` changed what decides
when reminders go out (schedule, quiet hours, time zone).

The request stores the settings as a new settings version, marks a re-plan for that version pending on the
clinic and queues one job; it answers without re-planning anything. The job re-plans one bounded page of
upcoming appointments per invocation and queues the rest as a new job from where it stopped, so no invocation
grows with the clinic. The last page records the re-plan done (with how many appointments it covered) on the
clinic, where `GET /v1/clinic` shows it.

Idempotent, because SQS delivers at least once: a job for an older settings version does nothing (the newer
version's own job re-plans everything); an appointment already re-planned for this version is left alone, and
only a pending re-plan can be finished, so a job that runs twice changes nothing. A job that keeps failing is
recorded failed (with the error's class name) on its last attempt, then SQS moves it to the dead-letter queue.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.core.clock import Clock, iso_utc, to_utc
from chalicelib.core.errors import Conflict, StaleVersion
from chalicelib.core.observability import logger
from chalicelib.core.words import ReplanStatus
from chalicelib.store import clinics as store

if TYPE_CHECKING:
    from chalicelib.appointments.service import AppointmentService

# Appointments re-planned per invocation: each is about a dozen AWS calls, so a page stays well inside the
# function's timeout however large the clinic is.
PAGE_SIZE = 25
# Attempts SQS makes at one job before its dead-letter queue takes it (the stack's redrive policy).
MAX_RECEIVES = 5
# How long a job taken by one invocation stays hidden from others: six times the function's 30 s timeout,
# as AWS advises for an SQS event source.
VISIBILITY_TIMEOUT_SECONDS = 180


class JobQueue(Protocol):
    def send(self, body: str) -> None: ...


class BadReplanJob(ValueError):
    """A message that is not a re-plan job: no retry can make it one."""


class ReplanJob(Struct, frozen=True):
    clinic_id: str
    settings_version: int  # the settings the job re-plans for; any other version makes it stale
    after: datetime  # appointments starting after this instant (when the settings were stored) are re-planned
    cursor: str | None = None  # where the previous page stopped; None: the first page
    covered: int = 0  # appointments the previous pages re-planned for this version

    def to_message(self) -> str:
        body: dict[str, object] = {
            "clinic_id": self.clinic_id,
            "settings_version": self.settings_version,
            "after": iso_utc(self.after),
            "covered": self.covered,
        }
        if self.cursor is not None:
            body["cursor"] = self.cursor
        return json.dumps(body, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_message(cls, text: str) -> ReplanJob:
        try:
            body = json.loads(text)
            job = cls(
                clinic_id=str(body["clinic_id"]),
                settings_version=int(body["settings_version"]),
                after=to_utc(datetime.fromisoformat(str(body["after"]))),
                cursor=str(body["cursor"]) if body.get("cursor") is not None else None,
                covered=int(body.get("covered", 0)),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as e:  # json.JSONDecodeError is a ValueError
            raise BadReplanJob(f"not a re-plan job: {type(e).__name__}") from None
        return job


class ClinicReplans:
    def __init__(
        self, clock: Clock, appointments: AppointmentService, queue: JobQueue, page_size: int = PAGE_SIZE
    ) -> None:
        self._clock = clock
        self._appointments = appointments
        self._queue = queue
        self._page_size = page_size

    def request(self, clinic_id: str, settings_version: int, requested_at: datetime) -> None:
        """Queues the first job of the re-plan for `settings_version` (already marked pending on the clinic)."""
        self._queue.send(ReplanJob(clinic_id, settings_version, requested_at).to_message())

    def handle(self, message: str, receive_count: int) -> str:
        """Runs one queued job (the SQS handler's body). An error propagates so that SQS tries again; on the
        last attempt the re-plan is first recorded failed, with the error's class name as the reason."""
        try:
            job = ReplanJob.from_message(message)
        except BadReplanJob as e:
            logger.error("re-plan job rejected", extra={"problem": str(e)})
            return "rejected"
        try:
            return self.run(job)
        except Exception as e:
            if receive_count >= MAX_RECEIVES:
                self._finish(job, ReplanStatus.FAILED, None, f"{type(e).__name__} after {receive_count} attempts")
            raise

    def run(self, job: ReplanJob) -> str:
        """Re-plans one page of the job's appointments: `stale`, `finished` (nothing left to do), `continued`
        (the rest is queued) or `done`."""
        clinic = store.current_clinic(job.clinic_id)
        if clinic is None or int(clinic.settings_version or 0) != job.settings_version:
            logger.info("re-plan job stale", extra={"clinic_id": job.clinic_id, "for": job.settings_version})
            return "stale"
        if clinic.replan_status != ReplanStatus.PENDING or clinic.replan_settings_version != job.settings_version:
            return "finished"
        page, next_cursor = self._appointments.upcoming_page(job.clinic_id, job.after, job.cursor, self._page_size)
        now = self._clock.now()
        # One that has begun since the settings were stored is no longer upcoming: its reminders are behind it.
        covered = job.covered + self._replan_page(job, [a.appointment_id for a in page if a.start > now])
        if next_cursor is not None:
            self._queue.send(replace(job, cursor=next_cursor, covered=covered).to_message())
            return "continued"
        return self._finish(job, ReplanStatus.DONE, covered, None)

    def _replan_page(self, job: ReplanJob, appointment_ids: list[str]) -> int:
        covered = 0
        for appointment_id in appointment_ids:
            try:
                self._appointments.replan(job.clinic_id, appointment_id, job.settings_version)
            except Conflict:
                # Changed or cancelled by another request meanwhile; that request planned it with the new policy.
                logger.info("replan skipped", extra={"appointment_id": appointment_id})
                continue
            covered += 1
        return covered

    def _finish(self, job: ReplanJob, status: ReplanStatus, appointments: int | None, reason: str | None) -> str:
        try:
            store.finish_replan(job.clinic_id, job.settings_version, status, self._clock.now(), appointments, reason)
        except StaleVersion:
            return "finished"  # newer settings have their own re-plan, or this one was recorded already
        logger.info("re-plan " + status, extra={"clinic_id": job.clinic_id, "appointments": appointments})
        return status
