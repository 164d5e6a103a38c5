"""A clinic's API key names its clinic: `cc_{clinic_id}.{secret}`, so the authorizer reads that clinic and checks
the key's hash in one DynamoDB call. A key of the old form (`cc_{secret}`, made before) still works, through the
hash index. A key is only accepted whole: another clinic's id, a changed secret, or an id that is not a clinic
id finds no clinic (the API answers 403)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalice.test import Client

from app import app
from chalicelib.clinics.service import hash_api_key
from chalicelib.store import models
from chalicelib.store.models import Clinic
from tests.conftest import ClinicKeys, World


@contextmanager
def dynamodb_calls() -> Iterator[list[str]]:
    """The names of the DynamoDB calls the app makes while inside (PynamoDB's client, which the authorizer uses)."""
    assert models._shared_connection is not None
    events = models._shared_connection.client.meta.events
    made: list[str] = []

    def named(model: Any, **_: Any) -> None:
        made.append(model.name)

    events.register("before-call", named)
    try:
        yield made
    finally:
        events.unregister("before-call", named)


def test_a_new_clinics_key_names_it_and_is_checked_in_one_read(aws: World, clinic: ClinicKeys) -> None:
    assert clinic.api_key.startswith(f"cc_{clinic.clinic_id}.")

    with dynamodb_calls() as made:
        found = aws.services.clinics.authenticate(f"Bearer {clinic.api_key}")

    assert found == clinic.clinic_id
    assert made == ["GetItem"]  # no query of the by-api-key-hash index


def test_a_key_of_the_old_form_still_works_through_the_hash_index(aws: World, clinic: ClinicKeys) -> None:
    old_key = f"cc_{secrets.token_urlsafe(32)}"  # as create-clinic and rotate-api-key made keys before
    Clinic.get(clinic.clinic_id).update(actions=[Clinic.api_key_hash.set(hash_api_key(old_key))])

    with dynamodb_calls() as made:
        found = aws.services.clinics.authenticate(f"Bearer {old_key}")

    assert found == clinic.clinic_id
    assert made == ["Query", "GetItem"]
    assert aws.services.clinics.authenticate(f"Bearer {clinic.api_key}") is None  # the key it replaced


def test_only_the_whole_key_is_accepted(aws: World, clinic: ClinicKeys) -> None:
    other = aws.services.clinics.create("Alder Street Dental", "America/Chicago")
    secret = clinic.api_key.partition(".")[2]
    wrong = [
        f"cc_{other.clinic_id}.{secret}",  # this clinic's secret under another clinic's id
        f"cc_{clinic.clinic_id}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",  # one character changed
        f"cc_cln_000000000000.{secret}",  # a well-formed id of no clinic
        f"cc_{clinic.clinic_id}.",  # no secret at all
    ]

    assert [aws.services.clinics.authenticate(f"Bearer {key}") for key in wrong] == [None] * len(wrong)
    assert aws.services.clinics.authenticate(f"Bearer {other.api_key}") == other.clinic_id


def test_a_key_whose_id_is_no_clinic_id_is_refused_without_a_read(aws: World, clinic: ClinicKeys) -> None:
    secret = clinic.api_key.partition(".")[2]

    with dynamodb_calls() as made:
        found = [
            aws.services.clinics.authenticate(f"Bearer cc_{name}.{secret}")
            for name in ("cln_XYZ", "../clinics", clinic.clinic_id.upper(), "")
        ]

    assert found == [None] * 4
    assert made == []


def test_the_api_answers_a_tampered_key_with_403_and_the_right_one_with_the_clinic(
    aws: World, clinic: ClinicKeys
) -> None:
    other = aws.services.clinics.create("Alder Street Dental", "America/Chicago")
    borrowed = f"cc_{other.clinic_id}.{clinic.api_key.partition('.')[2]}"

    with Client(app, stage_name="local") as client:
        refused = client.http.get("/v1/clinic", headers={"Authorization": f"Bearer {borrowed}"})
        allowed = client.http.get("/v1/clinic", headers=clinic.headers)

    assert refused.status_code == 403
    assert allowed.status_code == 200 and allowed.json_body["id"] == clinic.clinic_id
