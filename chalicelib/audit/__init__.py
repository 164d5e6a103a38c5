"""The audit trail an auditor queries: every change made through the API (clinic settings, patients,
appointments, regimens, forms, board links), a booking tool's webhook, a patient's link, or the admin CLI (clinic
keys and secrets, status, merges), as who, what and when, with ids only.

Recording never fails the change it records: the change is already made when it is recorded, and a clinic must
not see a booking refused because the audit table was slow. A failed record is logged and counted
(`AuditNotRecorded`) so an operator can see the gap.

A booking writes its entry in its own transaction (`entry`, then `written_with_change`: one AWS call fewer, and
the entry is there exactly when the booking is); if that transaction is refused for any reason but the booking's
own conditions, the booking is stored without it and the entry is recorded on its own as any other
(`store.appointments.create`), so the rule above holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core.clock import Clock
from chalicelib.core.observability import count, logger
from chalicelib.core.records import AuditEntry
from chalicelib.store import audit as store

# HIPAA keeps the documentation of safeguards six years (45 CFR 164.316(b)(2)); the trail is kept as long.
AUDIT_RETENTION = timedelta(days=6 * 366)
STAGE_WIDE = "stage"
# Set by a request whose change wrote its own entry (a booking): the audit middleware then records none.
_WRITTEN: ContextVar[bool] = ContextVar("carecue_audit_written", default=False)


def key_id(authorization: str | None) -> str:
    """`api_key:<12 hex>` for the key a request presented: which key made a change, never the key itself."""
    _, _, key = (authorization or "").strip().partition(" ")
    return f"api_key:{hashlib.sha256(key.strip().encode()).hexdigest()[:12]}"


def audit_actor(
    context: Mapping[str, Any], path: Mapping[str, str], headers: Mapping[str, str]
) -> tuple[str | None, str]:
    """The clinic a request changed and who changed it, from what API Gateway and the route already checked."""
    from chalicelib.links.tokens import clinic_of

    principal = (context.get("authorizer") or {}).get("principalId")
    if principal:
        return str(principal), key_id(headers.get("authorization"))
    if "provider" in path:
        return path.get("clinic_id"), f"booking_tool:{path['provider']}"
    if "token" in path:
        return clinic_of(path["token"]), "patient_link"
    return None, "anonymous"


class AuditTrail:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def record(
        self, clinic_id: str | None, actor: str, action: str, target: Mapping[str, str], status: int | None = None
    ) -> None:
        now = self._clock.now()
        try:
            store.record(clinic_id or STAGE_WIDE, now, actor, action, target, status, now + AUDIT_RETENTION)
        except Exception as e:  # noqa: BLE001 - see the module docstring: the change stands, the gap is visible
            logger.error("audit entry not recorded", extra={"action": action, "error": type(e).__name__})
            count("AuditNotRecorded", channel="audit")

    def entry(
        self, clinic_id: str | None, actor: str, action: str, target: Mapping[str, str], status: int | None = None
    ) -> AuditEntry:
        """The entry `record` would write now, for a change that writes it in its own transaction."""
        now = self._clock.now()
        return store.entry(clinic_id or STAGE_WIDE, now, actor, action, target, status, now + AUDIT_RETENTION)

    def written_with_change(self) -> None:
        """This request's change wrote its entry in its own transaction: the middleware records none for it."""
        _WRITTEN.set(True)

    def take_written(self) -> bool:
        """Whether this request's change wrote its own entry; clears the mark whatever the answer, so the next
        request (a warm Lambda runs one after another in one context) starts without it."""
        written = _WRITTEN.get()
        _WRITTEN.set(False)
        return written

    def entries(self, clinic_id: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return [
            {
                "at": entry.entry.split("#", 1)[0],
                "actor": entry.actor,
                "action": entry.action,
                "target": json.loads(entry.target) if entry.target else {},
                "status": int(entry.status) if entry.status is not None else None,
            }
            for entry in store.entries(clinic_id, since, until)
        ]
