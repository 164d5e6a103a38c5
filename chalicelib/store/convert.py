"""The store's boundary: each PynamoDB model to its domain record (`chalicelib.core.records`) and back.

One conversion each way, derived from the record's fields (`__struct_fields__`, their names: `msgspec.structs.fields`
would also resolve every annotation, each time), which are the model's attributes by name
(`tests/unit/test_store_records.py` checks that the two match, name for name). A listing record
(`ListedReminder`, `ListedRegimen`, `ClinicSummary`) is read the same way from what an index or projection
returns; it is never written, so it has no entry in `MODELS`. A record is built from every attribute the item
has; a model is built from every field of the record, so a record written is stored whole.
"""

from __future__ import annotations

from typing import Any, TypeVar

from msgspec import Struct
from pynamodb.models import Model

from chalicelib.core import records
from chalicelib.store import models

_R = TypeVar("_R", bound=Struct)
_M = TypeVar("_M", bound=Model)

# Each record type and the model it is stored as.
MODELS: dict[type[Any], type[Model]] = {
    records.Clinic: models.Clinic,
    records.Patient: models.Patient,
    records.PatientKey: models.PatientKey,
    records.Contact: models.Contact,
    records.Appointment: models.Appointment,
    records.BookingLink: models.BookingLink,
    records.Reminder: models.Reminder,
    records.Delivery: models.Delivery,
    records.Regimen: models.Regimen,
    records.Dose: models.Dose,
    records.Usage: models.Usage,
    records.QuestionnaireForm: models.QuestionnaireForm,
    records.QuestionnaireAnswers: models.QuestionnaireAnswers,
    records.AuditEntry: models.AuditEntry,
    records.PatientChange: models.PatientChange,
    records.ContactProof: models.ContactProof,
    records.Conversation: models.Conversation,
    records.ConversationMessage: models.ConversationMessage,
}


def to_record(model: Model, record_type: type[_R]) -> _R:
    """The record of a model read from a table."""
    values: dict[str, Any] = {}
    for name in record_type.__struct_fields__:
        value = getattr(model, name)
        values[name] = list(value) if isinstance(value, list) else value
    return record_type(**values)


def to_records(found: Any, record_type: type[_R]) -> list[_R]:
    """The records of the models a query, scan or batch read returned."""
    return [to_record(model, record_type) for model in found]


def to_model(record: Struct, model_type: type[_M]) -> _M:
    """The model that writes a record, every field set (an absent one as `None`)."""
    values = {name: getattr(record, name) for name in record.__struct_fields__}
    return model_type(**values)
