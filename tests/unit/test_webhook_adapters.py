"""Each booking tool's adapter on its own (no AWS): signatures accepted over the exact bytes and refused when one
byte of the body, the secret or the timestamp changes; documented-shape payloads parsed to the right booking,
its start instant and the zone the patient reads it in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.core.errors import InvalidRequest, SignatureRejected
from chalicelib.core.timezones import local_time
from chalicelib.intake.context import ProviderContext, ProviderCredentials
from chalicelib.intake.events import BookingEvent, EventKind, Ignored, WebhookRequest
from chalicelib.intake.form_mapping import parse_mapping
from chalicelib.intake.providers import ADAPTERS
from tests.webhook_support import CONTENT_TYPES, SQUARE_URL, body_of, fake_lookups, fixture, signature_headers

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
SECRET = "whsec-test-0123456789"
SIGNED = {
    "calcom": ("calcom", "booking_created.json"),
    "calendly": ("calendly", "invitee_created.json"),
    "square": ("square", "booking_created.json"),
    "acuity": ("acuity", "scheduled.txt"),
    "typeform": ("typeform", "form_response.json"),
    "form": ("form", None),
}
FORM_BODY = {
    "submission_id": "sub-1001",
    "full_name": "Pat Example",
    "phone": "+14155550106",
    "email": "pat@example.org",
    "visit_date": "2026-12-02",
    "visit_time": "10:00",
    "tz": "America/Chicago",
}


def context(provider: str, secret: str = SECRET, now: datetime = NOW) -> ProviderContext:
    settings: dict[str, str] = {}
    if provider == "square":
        settings = {"notification-url": SQUARE_URL, "access-token": "sq-token"}
    elif provider == "acuity":
        settings = {"user-id": "11145481"}
    elif provider == "typeform":
        settings = {"mapping": json.dumps(fixture("typeform", "mapping.json"))}
    elif provider == "form":
        settings = {"mapping": json.dumps(fixture("form", "mapping.json"))}
    lookups, _, _ = fake_lookups()
    credentials = ProviderCredentials(secret, settings)
    return ProviderContext("cln_test", "America/New_York", credentials, now, now, lookups)


def documented_body(provider: str) -> bytes:
    folder, name = SIGNED[provider]
    return body_of(FORM_BODY if name is None else fixture(folder, name))


def signed(provider: str, body: bytes, secret: str = SECRET, timestamp: int | None = None) -> WebhookRequest:
    stamp = int(NOW.timestamp()) if timestamp is None else timestamp
    headers = {k.lower(): v for k, v in signature_headers(provider, secret, body, stamp).items()}
    headers["content-type"] = CONTENT_TYPES.get(provider, "application/json")
    return WebhookRequest(body, headers)


def parsed(provider: str, body: bytes | None = None, **overrides: Any) -> BookingEvent:
    request = signed(provider, documented_body(provider) if body is None else body)
    result = ADAPTERS[provider].parse(request, context(provider))
    assert isinstance(result, BookingEvent)
    return result


@pytest.mark.parametrize("provider", sorted(SIGNED))
def test_a_signature_over_the_exact_bytes_is_accepted(provider: str) -> None:
    body = documented_body(provider)
    ADAPTERS[provider].verify(signed(provider, body), context(provider))


@pytest.mark.parametrize("provider", sorted(SIGNED))
def test_one_changed_byte_of_the_body_is_refused(provider: str) -> None:
    body = documented_body(provider)
    request = signed(provider, body)
    middle = len(body) // 2
    tampered = WebhookRequest(body[:middle] + bytes([body[middle] ^ 1]) + body[middle + 1 :], request.headers)

    with pytest.raises(SignatureRejected, match="does not match"):
        ADAPTERS[provider].verify(tampered, context(provider))


@pytest.mark.parametrize("provider", sorted(SIGNED))
def test_one_changed_byte_of_the_secret_is_refused(provider: str) -> None:
    body = documented_body(provider)

    with pytest.raises(SignatureRejected, match="does not match"):
        ADAPTERS[provider].verify(signed(provider, body, secret=SECRET[:-1] + "X"), context(provider))


@pytest.mark.parametrize("provider", sorted(SIGNED))
def test_a_missing_signature_is_refused(provider: str) -> None:
    request = WebhookRequest(documented_body(provider), {"content-type": "application/json"})

    with pytest.raises(SignatureRejected, match="missing"):
        ADAPTERS[provider].verify(request, context(provider))


@pytest.mark.parametrize("provider", ["calendly", "form"])
def test_a_changed_timestamp_is_refused(provider: str) -> None:
    body = documented_body(provider)
    request = signed(provider, body)
    header = "calendly-webhook-signature" if provider == "calendly" else "x-carecue-signature"
    stamp = int(NOW.timestamp())
    moved = {**request.headers, header: request.headers[header].replace(f"t={stamp}", f"t={stamp + 1}")}

    with pytest.raises(SignatureRejected, match="does not match"):
        ADAPTERS[provider].verify(WebhookRequest(body, moved), context(provider))


@pytest.mark.parametrize("skew", [timedelta(minutes=-2, seconds=-59), timedelta(minutes=2, seconds=59)])
def test_calendly_accepts_a_timestamp_within_three_minutes_either_way(skew: timedelta) -> None:
    body = documented_body("calendly")
    stamp = int((NOW + skew).timestamp())
    ADAPTERS["calendly"].verify(signed("calendly", body, timestamp=stamp), context("calendly"))


@pytest.mark.parametrize("skew", [timedelta(minutes=-3, seconds=-1), timedelta(minutes=3, seconds=1)])
def test_calendly_refuses_a_timestamp_over_three_minutes_away(skew: timedelta) -> None:
    body = documented_body("calendly")
    stamp = int((NOW + skew).timestamp())

    with pytest.raises(SignatureRejected, match="outside the allowed window"):
        ADAPTERS["calendly"].verify(signed("calendly", body, timestamp=stamp), context("calendly"))


@pytest.mark.parametrize("provider", ["calendly", "form"])
def test_freshness_is_judged_by_the_transport_clock_not_the_apps(provider: str) -> None:
    body = documented_body(provider)
    app_two_days_on = replace(context(provider), now=NOW + timedelta(days=2))  # transport_now stays NOW

    ADAPTERS[provider].verify(signed(provider, body), app_two_days_on)
    with pytest.raises(SignatureRejected, match="outside the allowed window"):
        stamp = int((NOW + timedelta(days=2)).timestamp())
        ADAPTERS[provider].verify(signed(provider, body, timestamp=stamp), app_two_days_on)


def test_square_signs_the_notification_url_too() -> None:
    body = documented_body("square")
    request = signed("square", body)
    other_url = ProviderCredentials(SECRET, {"notification-url": SQUARE_URL + "/"})
    lookups, _, _ = fake_lookups()

    with pytest.raises(SignatureRejected, match="does not match"):
        ADAPTERS["square"].verify(request, ProviderContext("cln_test", "UTC", other_url, NOW, NOW, lookups))


def test_a_form_tool_that_cannot_sign_uses_the_secret_token_in_the_query() -> None:
    body = documented_body("form")
    ADAPTERS["form"].verify(WebhookRequest(body, {}, {"token": SECRET}), context("form"))

    with pytest.raises(SignatureRejected, match="token does not match"):
        ADAPTERS["form"].verify(WebhookRequest(body, {}, {"token": SECRET + "x"}), context("form"))


def local(event: BookingEvent) -> str:
    return local_time(event.start, event.patient.timezone or "America/New_York").isoformat()


def test_calcom_created_is_the_attendees_booking_in_the_attendees_zone_and_language() -> None:
    event = parsed("calcom")

    assert event.kind is EventKind.CREATED
    assert event.external_id == "bFJeNb2uX8ANpT3JL5EfXw"
    assert local(event) == "2026-12-02T10:00:00-05:00"
    assert event.patient.timezone == "America/New_York"
    assert event.patient.language == "es"
    assert (event.patient.name, event.patient.phone, event.patient.email) == (
        "Pat Example",
        "+14155550101",
        "pat@example.org",
    )
    assert (event.duration_minutes, event.location) == (30, "Room 4")
    assert event.sequence == int(datetime(2026, 11, 30, 13, 58, tzinfo=UTC).timestamp() * 1000)


def test_calcom_rescheduled_names_the_old_booking_it_replaces() -> None:
    event = parsed("calcom", body_of(fixture("calcom", "booking_rescheduled.json")))

    assert event.kind is EventKind.RESCHEDULED
    assert event.external_id == "n7Qk2mWq9ZxR4tYb1cLs8e"
    assert event.previous_external_id == "bFJeNb2uX8ANpT3JL5EfXw"
    assert local(event) == "2026-12-03T15:30:00-05:00"


def test_calcom_events_that_change_no_booking_are_ignored_with_a_reason() -> None:
    request = signed("calcom", body_of(fixture("calcom", "meeting_ended.json")))

    assert ADAPTERS["calcom"].parse(request, context("calcom")) == Ignored(
        "Cal.com MEETING_ENDED is not a booking change CareCue uses"
    )


def test_calendly_created_reads_the_invitees_own_zone_and_sms_number() -> None:
    event = parsed("calendly")

    assert event.kind is EventKind.CREATED
    assert event.external_id.endswith("/invitees/AAAAAAAAAAAAAAA1")
    assert event.patient.timezone == "Europe/London"
    assert local(event) == "2026-12-02T15:00:00+00:00"
    assert event.patient.phone == "+14155550102"
    assert event.location == "Room 4"


def test_calendly_reschedule_ignores_the_cancel_and_moves_with_the_new_invitee() -> None:
    cancel = signed("calendly", body_of(fixture("calendly", "invitee_canceled_rescheduled.json")))
    created = parsed("calendly", body_of(fixture("calendly", "invitee_created_rescheduled.json")))

    ignored = ADAPTERS["calendly"].parse(cancel, context("calendly"))
    assert isinstance(ignored, Ignored) and ignored.reason.startswith("rescheduled")
    assert created.kind is EventKind.RESCHEDULED
    assert created.previous_external_id is not None
    assert created.previous_external_id.endswith("/invitees/AAAAAAAAAAAAAAA1")
    assert created.start == datetime(2026, 12, 3, 20, 30, tzinfo=UTC)


def test_calendly_plain_cancel_is_a_cancellation() -> None:
    assert parsed("calendly", body_of(fixture("calendly", "invitee_canceled.json"))).kind is EventKind.CANCELLED


def test_square_reads_the_customer_and_orders_by_booking_version() -> None:
    created = parsed("square")
    cancelled = parsed("square", body_of(fixture("square", "booking_updated_cancelled.json")))

    assert created.kind is EventKind.CREATED
    assert (created.patient.name, created.patient.phone) == ("Pat Example", "+14155550103")
    assert created.patient.timezone is None  # the clinic's zone applies
    assert created.duration_minutes == 45
    assert (created.sequence, cancelled.sequence) == (0, 2)
    assert cancelled.kind is EventKind.CANCELLED


def test_acuity_fetches_the_appointment_and_reads_its_offset_and_zone() -> None:
    ctx = context("acuity")
    event = ADAPTERS["acuity"].parse(signed("acuity", documented_body("acuity")), ctx)

    assert isinstance(event, BookingEvent)
    assert ctx.lookups.acuity.calls == [("11145481", SECRET, "400123")]  # type: ignore[attr-defined]
    assert event.start == datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    assert event.patient.timezone == "America/Chicago"
    assert local(event) == "2026-12-02T09:00:00-06:00"
    assert event.sequence == int(NOW.timestamp() * 1000)


def test_typeform_answers_are_read_through_the_mapping_in_the_clinics_zone() -> None:
    event = parsed("typeform")

    assert event.external_id == "a3a12ec67a1365927098a606107fac15"
    assert event.patient.phone == "+14155550105"
    assert local(event) == "2026-12-02T14:00:00-05:00"


@pytest.mark.parametrize("encoding", ["json", "form", "multipart"])
def test_a_form_submission_reads_the_same_in_every_encoding(encoding: str) -> None:
    if encoding == "json":
        body, kind = json.dumps(FORM_BODY).encode(), "application/json"
    elif encoding == "form":
        from urllib.parse import urlencode

        body, kind = urlencode(FORM_BODY).encode(), "application/x-www-form-urlencoded"
    else:
        parts = [
            f'--B0UNDARY\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in FORM_BODY.items()
        ]
        body, kind = ("".join(parts) + "--B0UNDARY--\r\n").encode(), "multipart/form-data; boundary=B0UNDARY"
    request = WebhookRequest(body, {"content-type": kind})

    event = ADAPTERS["form"].parse(request, context("form"))

    assert isinstance(event, BookingEvent)
    assert event.external_id == "sub-1001"
    assert event.patient.timezone == "America/Chicago"
    assert local(event) == "2026-12-02T10:00:00-06:00"
    assert event.patient.email == "pat@example.org"


def test_an_unusable_phone_is_dropped_not_fatal() -> None:
    payload = fixture("calcom", "booking_created.json")
    payload["payload"]["attendees"][0]["phoneNumber"] = "555 0101"  # no number in any country
    payload["payload"]["responses"]["attendeePhoneNumber"]["value"] = "555 0101"

    event = parsed("calcom", body_of(payload))

    assert event.patient.phone is None
    assert event.patient.email == "pat@example.org"


def test_a_phone_without_country_code_is_read_in_the_clinics_country() -> None:
    payload = fixture("calcom", "booking_created.json")
    payload["payload"]["attendees"][0]["phoneNumber"] = "(415) 555-0101"  # the clinic is in New York
    payload["payload"]["responses"]["attendeePhoneNumber"]["value"] = "(415) 555-0101"

    event = parsed("calcom", body_of(payload))

    assert event.patient.phone == "+14155550101"


def test_a_phone_without_country_code_is_dropped_for_a_clinic_of_no_country() -> None:
    payload = fixture("calcom", "booking_created.json")
    payload["payload"]["attendees"][0]["phoneNumber"] = "(415) 555-0101"
    payload["payload"]["responses"]["attendeePhoneNumber"]["value"] = "(415) 555-0101"
    request = signed("calcom", body_of(payload))
    in_utc = replace(context("calcom"), clinic_timezone="Etc/UTC")

    event = ADAPTERS["calcom"].parse(request, in_utc)

    assert isinstance(event, BookingEvent)
    assert event.patient.phone is None


@pytest.mark.parametrize(
    ("provider", "body", "field"),
    [
        ("calcom", b"{not json", "body"),
        ("calcom", json.dumps({"triggerEvent": "BOOKING_CREATED", "createdAt": "2026-11-30T13:58:00Z"}), "payload"),
        (
            "calendly",
            json.dumps({"event": "invitee.created", "created_at": "x", "payload": {}}),
            "payload.scheduled_event.start_time",
        ),
        ("square", json.dumps({"type": "booking.created", "data": {"object": {}}}), "data.object.booking"),
        ("acuity", "action=appointment.scheduled&id=abc", "id"),
    ],
)
def test_a_malformed_payload_names_the_field(provider: str, body: str | bytes, field: str) -> None:
    raw = body.encode() if isinstance(body, str) else body

    with pytest.raises(InvalidRequest) as raised:
        ADAPTERS[provider].parse(signed(provider, raw), context(provider))

    assert [p.field for p in raised.value.problems] == [field]


def test_a_mapping_without_a_start_or_contact_is_refused_naming_each_key() -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_mapping('{"name": "n", "colour": "c"}')

    assert sorted(p.field for p in raised.value.problems) == ["colour", "phone", "start"]
