"""The store's boundary: each domain record (`chalicelib.core.records`) has exactly its model's attributes, with the
same defaults, and a record goes through its model and back unchanged. A new attribute on a model that its
record lacks would be silently dropped on read: this is where that fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from msgspec import NODEFAULT
from msgspec.structs import fields

from chalicelib.core import records
from chalicelib.store import models
from chalicelib.store.convert import MODELS, to_model, to_record

PAIRS = sorted(MODELS.items(), key=lambda pair: pair[0].__name__)


@pytest.mark.parametrize(("record_type", "model_type"), PAIRS, ids=[r.__name__ for r, _ in PAIRS])
def test_a_record_has_its_models_attributes_and_defaults(record_type: type[Any], model_type: type[Any]) -> None:
    attributes = model_type.get_attributes()
    assert {field.name for field in fields(record_type)} == set(attributes)
    for field in fields(record_type):
        attribute = attributes[field.name]
        default = field.default_factory() if field.default_factory is not NODEFAULT else field.default
        if attribute.default is not None:
            expected = attribute.default() if callable(attribute.default) else attribute.default
            assert default == expected, field.name
        elif attribute.null:
            assert default is None, field.name
        else:
            assert default is NODEFAULT, f"{field.name} is required on the model"


def test_a_clinic_goes_through_its_model_and_back_unchanged() -> None:
    clinic = records.Clinic(
        clinic_id="cln_1",
        name="Example Clinic",
        timezone="America/New_York",
        api_key_hash="h1",
        created_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        policy='{"quiet_hours": null}',
        monthly_spend_cap_usd=25.5,
    )
    model = to_model(clinic, MODELS[records.Clinic])
    assert model.serialize()["monthly_spend_cap_usd"] == {"N": "25.5"}
    assert to_record(model, records.Clinic) == clinic


def test_a_contact_keeps_its_list_of_recent_sends() -> None:
    sent = [datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 10, 30, tzinfo=UTC)]
    contact = records.Contact(clinic_id="cln_1", address="+14155550101", channel="sms", recent_sends=sent)
    model = MODELS[records.Contact].from_raw_data(to_model(contact, MODELS[records.Contact]).serialize())
    assert to_record(model, records.Contact) == contact


@pytest.mark.parametrize(
    ("listing", "model", "index"),
    [
        (records.ListedReminder, models.Reminder, models.Reminder.by_due),
        (records.ListedRegimen, models.Regimen, models.Regimen.by_timer_check),
        (records.ClinicSummary, models.Clinic, models.Clinic.by_status),
    ],
    ids=["ListedReminder", "ListedRegimen", "ClinicSummary"],
)
def test_a_listing_has_what_its_index_projects(listing: type[Any], model: Any, index: Any) -> None:
    # An index query returns the table's keys, the index's keys and the attributes it projects, nothing else.
    projected = {model._hash_keyname, model._range_keyname, *index.Meta.attributes} - {
        None
    }  # a table may have no sort key
    projected |= set(getattr(index.Meta.projection, "non_key_attributes", None) or [])
    assert {field.name for field in fields(listing)} == projected
