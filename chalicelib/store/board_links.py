"""The store of the waiting-room board's link: the hash of a clinic's current board token, on its clinic item."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.core import records
from chalicelib.core.errors import NotFound
from chalicelib.store.conditions import condition_failed
from chalicelib.store.convert import to_record
from chalicelib.store.models import Clinic


def set_board_token_hash(clinic_id: str, token_hash: str) -> None:
    """Replaces the clinic's board token hash (the old link stops working). NotFound: no such clinic."""
    _update(clinic_id, Clinic.board_token_hash.set(token_hash))


def remove_board_token_hash(clinic_id: str) -> None:
    """The clinic has no board link any more. NotFound: no such clinic."""
    _update(clinic_id, Clinic.board_token_hash.remove())


def clinic_or_none(clinic_id: str) -> records.Clinic | None:
    try:
        return to_record(Clinic.get(clinic_id), records.Clinic)
    except DoesNotExist:
        return None


def _update(clinic_id: str, action: Action) -> None:
    try:
        # The condition keeps an update from creating a clinic item that holds nothing but a hash.
        Clinic(clinic_id).update(actions=[action], condition=Clinic.clinic_id.exists())
    except UpdateError as e:
        if condition_failed(e):
            raise NotFound("clinic") from None
        raise
