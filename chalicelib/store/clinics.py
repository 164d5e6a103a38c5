"""Clinics, the tenants, in DynamoDB: creating one, finding one by id or by its API key's hash, listing them,
and the few attributes that change (API key hash, status, time zone and policy).

A failed condition is a domain error (`AlreadyExists`, `NotFound`); any other PynamoDB error propagates as it is.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.errors import AlreadyExists, NotFound
from chalicelib.store.models import Clinic

_SUMMARY = ["clinic_id", "name", "timezone", "status", "created_at"]


def get_clinic(clinic_id: str) -> Clinic:
    """The clinic a request was authorised for, or that a stored item names. It is always there, so a missing
    one is not a domain outcome: PynamoDB's `DoesNotExist` propagates, as it always has."""
    return Clinic.get(clinic_id)


def find_clinic(clinic_id: str) -> Clinic | None:
    try:
        return Clinic.get(clinic_id)
    except DoesNotExist:
        return None


def create_clinic(clinic: Clinic) -> None:
    """Stores a new clinic; `AlreadyExists("clinic")` when one with its id is there already."""
    try:
        clinic.save(condition=Clinic.clinic_id.does_not_exist())
    except PutError as e:
        if _condition_failed(e):
            raise AlreadyExists("clinic") from e
        raise


def clinic_with_api_key_hash(api_key_hash: str) -> Clinic | None:
    """The clinic whose API key has this SHA-256 hash (through the `by-api-key-hash` index), or None."""
    for match in Clinic.by_api_key.query(api_key_hash, limit=1):
        return get_clinic(match.clinic_id)
    return None


def all_clinics() -> list[Clinic]:
    """Every clinic of the stage, with its id, name, zone, status and creation time only. A scan: clinics are
    few, and only an admin's command lists them."""
    return list(Clinic.scan(attributes_to_get=_SUMMARY))


def set_api_key_hash(clinic_id: str, api_key_hash: str) -> None:
    """Replaces the clinic's API key hash; `NotFound("clinic …")` when there is no such clinic."""
    _update_existing(clinic_id, Clinic.api_key_hash.set(api_key_hash))


def set_status(clinic_id: str, status: str) -> None:
    """Sets the clinic's status; `NotFound("clinic …")` when there is no such clinic."""
    _update_existing(clinic_id, Clinic.status.set(status))


def set_settings(clinic: Clinic, timezone: str, policy: str) -> None:
    """Replaces the clinic's time zone and its policy (JSON)."""
    clinic.update(actions=[Clinic.timezone.set(timezone), Clinic.policy.set(policy)])


def _update_existing(clinic_id: str, action: Action) -> None:
    try:
        Clinic(clinic_id).update(actions=[action], condition=Clinic.clinic_id.exists())
    except UpdateError as e:
        if _condition_failed(e):
            raise NotFound(f"clinic {clinic_id}") from None
        raise


def _condition_failed(error: PynamoDBException) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"
