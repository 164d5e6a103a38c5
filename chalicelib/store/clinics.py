"""Clinics, the tenants, in DynamoDB: creating one, finding one by id or by its API key's hash, listing them,
and the few attributes that change (API key hash, status, time zone and policy with their settings version,
the state of the latest re-plan).

A failed condition is a domain error (`AlreadyExists`, `NotFound`, `StaleVersion`); any other PynamoDB error
propagates as it is.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.core import records
from chalicelib.core.errors import AlreadyExists, NotFound, StaleVersion
from chalicelib.core.words import ClinicStatus, ReplanStatus
from chalicelib.store import reads
from chalicelib.store.conditions import condition_failed
from chalicelib.store.convert import to_model, to_record, to_records
from chalicelib.store.models import Clinic


def get_clinic(clinic_id: str, consistent: bool = False) -> records.Clinic:
    """The clinic a request was authorised for, or that a stored item names. It is always there, so a missing
    one is not a domain outcome: PynamoDB's `DoesNotExist` propagates, as it always has."""
    return to_record(reads.get(Clinic, clinic_id, consistent_read=consistent), records.Clinic)  # prefetched, or now


def find_clinic(clinic_id: str) -> records.Clinic | None:
    try:
        return to_record(Clinic.get(clinic_id), records.Clinic)
    except DoesNotExist:
        return None


def create_clinic(clinic: records.Clinic) -> None:
    """Stores a new clinic; `AlreadyExists("clinic")` when one with its id is there already."""
    try:
        to_model(clinic, Clinic).save(condition=Clinic.clinic_id.does_not_exist())
    except PutError as e:
        if condition_failed(e):
            raise AlreadyExists("clinic") from e
        raise


def clinic_with_api_key_hash(api_key_hash: str) -> records.Clinic | None:
    """The clinic whose API key has this SHA-256 hash (through the `by-api-key-hash` index), or None."""
    for match in Clinic.by_api_key.query(api_key_hash, limit=1):
        return get_clinic(match.clinic_id)
    return None


def all_clinics() -> list[records.ClinicSummary]:
    """Every clinic of the stage by id, with its id, name, zone, status and creation time only: one query of the
    `by-status` index per status (a page per MB of it), never a scan of the table. A clinic whose `status` was
    hand-edited to a word that is no `ClinicStatus` (docs/operations.md: only `active` and `suspended` mean
    anything) is not listed."""
    found = [clinic for status in ClinicStatus for clinic in Clinic.by_status.query(status.value)]
    return to_records(sorted(found, key=lambda clinic: clinic.clinic_id), records.ClinicSummary)


def set_api_key_hash(clinic_id: str, api_key_hash: str) -> None:
    """Replaces the clinic's API key hash; `NotFound("clinic …")` when there is no such clinic."""
    _update_existing(clinic_id, Clinic.api_key_hash.set(api_key_hash))


def set_status(clinic_id: str, status: str) -> None:
    """Sets the clinic's status; `NotFound("clinic …")` when there is no such clinic."""
    _update_existing(clinic_id, Clinic.status.set(status))


def clinic_with_whatsapp_sender(phone_number_id: str) -> records.Clinic | None:
    """The clinic whose WhatsApp sender this is, through the sparse `by-whatsapp-sender` index (one query of at
    most one row, then the clinic), or None. `set-whatsapp` refuses a sender another clinic has, so there is
    one; a clinic that moved its sender elsewhere since the index saw it is not taken for its owner."""
    for match in Clinic.by_whatsapp_sender.query(phone_number_id, limit=1):
        clinic = find_clinic(match.clinic_id)
        if clinic is not None and clinic.whatsapp_phone_number_id == phone_number_id:
            return clinic
    return None


def set_whatsapp_phone_number_id(clinic_id: str, phone_number_id: str) -> None:
    """Connects the clinic's WhatsApp sender; `NotFound("clinic …")` when there is no such clinic."""
    _update_existing(clinic_id, Clinic.whatsapp_phone_number_id.set(phone_number_id))


def clinic_with_messenger_page(page_id: str) -> records.Clinic | None:
    """The clinic whose Facebook Page this is, through the sparse `by-messenger-page` index (one query of at most
    one row, then the clinic), or None. `set-messenger` refuses a Page another clinic has, so there is one; a
    clinic that moved to another Page since the index saw it is not taken for its owner."""
    for match in Clinic.by_messenger_page.query(page_id, limit=1):
        clinic = find_clinic(match.clinic_id)
        if clinic is not None and clinic.messenger_page_id == page_id:
            return clinic
    return None


def set_messenger_page_id(clinic_id: str, page_id: str) -> None:
    """Connects the clinic's Facebook Page; `NotFound("clinic …")` when there is no such clinic."""
    _update_existing(clinic_id, Clinic.messenger_page_id.set(page_id))


def set_settings(clinic: records.Clinic, timezone: str, policy: str, replan_requested_at: datetime | None) -> int:
    """Replaces the clinic's time zone and its policy (JSON) as the next settings version, which it returns;
    with `replan_requested_at`, marks a re-plan for that version pending in the same write. Conditioned on the
    version `clinic` was read at: `StaleVersion("clinic settings")` when another request replaced them since."""
    read_at = int(clinic.settings_version or 0)
    version = read_at + 1
    actions: list[Action] = [
        Clinic.timezone.set(timezone),
        Clinic.policy.set(policy),
        Clinic.settings_version.set(version),
    ]
    if replan_requested_at is not None:
        actions += [
            Clinic.replan_status.set(ReplanStatus.PENDING),
            Clinic.replan_settings_version.set(version),
            Clinic.replan_requested_at.set(replan_requested_at),
            Clinic.replan_finished_at.remove(),
            Clinic.replan_appointments.remove(),
            Clinic.replan_reason.remove(),
        ]
    unchanged = Clinic.settings_version.does_not_exist() if read_at == 0 else Clinic.settings_version == read_at
    try:
        to_model(clinic, Clinic).update(actions=actions, condition=unchanged)
    except UpdateError as e:
        if condition_failed(e):
            raise StaleVersion("clinic settings") from e
        raise
    return version


def current_clinic(clinic_id: str) -> records.Clinic | None:
    """The clinic read strongly consistent (a background job checks the settings version it was queued for)."""
    try:
        return to_record(Clinic.get(clinic_id, consistent_read=True), records.Clinic)
    except DoesNotExist:
        return None


def finish_replan(
    clinic_id: str,
    settings_version: int,
    status: ReplanStatus,
    at: datetime,
    appointments: int | None,
    reason: str | None,
) -> None:
    """Records the end (done or failed) of the pending re-plan for `settings_version`. `StaleVersion("re-plan")`
    when it is not that one's to finish: newer settings were stored, or it was finished already."""
    actions: list[Action] = [Clinic.replan_status.set(status), Clinic.replan_finished_at.set(at)]
    actions.append(
        Clinic.replan_appointments.remove() if appointments is None else Clinic.replan_appointments.set(appointments)
    )
    actions.append(Clinic.replan_reason.remove() if reason is None else Clinic.replan_reason.set(reason))
    condition = (
        (Clinic.settings_version == settings_version)
        & (Clinic.replan_settings_version == settings_version)
        & (Clinic.replan_status == ReplanStatus.PENDING)
    )
    try:
        Clinic(clinic_id).update(actions=actions, condition=condition)
    except UpdateError as e:
        if condition_failed(e):
            raise StaleVersion("re-plan") from e
        raise


def _update_existing(clinic_id: str, action: Action) -> None:
    try:
        Clinic(clinic_id).update(actions=[action], condition=Clinic.clinic_id.exists())
    except UpdateError as e:
        if condition_failed(e):
            raise NotFound(f"clinic {clinic_id}") from None
        raise
