"""The audit trail in DynamoDB: one item per change, per clinic, in time order (`chalicelib.audit`)."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Mapping
from datetime import datetime

from chalicelib.core import records
from chalicelib.core.clock import iso_utc
from chalicelib.store.convert import to_model, to_records
from chalicelib.store.models import AuditEntry

# Entries in one second keep their order within a process (a frozen clock, or a burst of changes); across
# processes the time orders them and the random part keeps two from colliding.
_SEQUENCE = itertools.count()


def record(
    clinic_id: str,
    at: datetime,
    actor: str,
    action: str,
    target: Mapping[str, str],
    status: int | None,
    expires_at: datetime,
) -> None:
    to_model(entry(clinic_id, at, actor, action, target, status, expires_at), AuditEntry).save()


def entry(
    clinic_id: str,
    at: datetime,
    actor: str,
    action: str,
    target: Mapping[str, str],
    status: int | None,
    expires_at: datetime,
) -> records.AuditEntry:
    """The entry `record` writes, not written: a change that writes its own transaction (a booking) adds it there
    (`store.appointments.create`), so the trail costs it no call of its own."""
    return records.AuditEntry(
        clinic_id=clinic_id,
        entry=f"{iso_utc(at)}#{next(_SEQUENCE):010d}{secrets.token_hex(3)}",
        actor=actor,
        action=action,
        target=json.dumps(dict(target), sort_keys=True) if target else None,
        status=status,
        expires_at=expires_at,
    )


def entries(clinic_id: str, since: datetime, until: datetime) -> list[records.AuditEntry]:
    """The clinic's entries from `since` to `until`, oldest first."""
    found = AuditEntry.query(clinic_id, AuditEntry.entry.between(iso_utc(since), iso_utc(until) + "~"))
    return to_records(found, records.AuditEntry)
