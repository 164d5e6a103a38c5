"""The exact words a patient reads in each SMS and email (`chalicelib.messages.templates`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.messages.templates import AppointmentFacts, Message, local_when, render
from chalicelib.planning.appointment_reminders import Channel, Kind
from chalicelib.timezones import local_time

NEW_YORK = ZoneInfo("America/New_York")
CLINIC = "Riverside Family Clinic"
TUE_1_DEC_9AM = datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK)
FOOTER = "\n\nPlease contact the clinic if you need to change it."

# GSM 03.38 default alphabet, code points 0x00-0x7F in table order, without 0x1B (the escape to the extension
# table, which is not a character). A text made only of these costs 7 bits a character: 160 to a segment.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def facts(local_start: datetime = TUE_1_DEC_9AM, location: str | None = None) -> AppointmentFacts:
    return AppointmentFacts(CLINIC, local_start, location)


def test_gsm7_table_literal_is_complete() -> None:
    assert len(GSM7_BASIC) == 127
    assert len(set(GSM7_BASIC)) == 127


# --- local_when ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_start", "text"),
    [
        (datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK), "Tue 1 Dec at 9:00 AM"),
        (datetime(2026, 12, 1, 12, 30, tzinfo=NEW_YORK), "Tue 1 Dec at 12:30 PM"),
        (datetime(2026, 12, 1, 0, 5, tzinfo=NEW_YORK), "Tue 1 Dec at 12:05 AM"),
        (datetime(2026, 12, 1, 0, 0, tzinfo=NEW_YORK), "Tue 1 Dec at 12:00 AM"),
        (datetime(2026, 12, 1, 12, 0, tzinfo=NEW_YORK), "Tue 1 Dec at 12:00 PM"),
        (datetime(2026, 12, 1, 13, 7, tzinfo=NEW_YORK), "Tue 1 Dec at 1:07 PM"),
        (datetime(2026, 12, 1, 23, 59, tzinfo=NEW_YORK), "Tue 1 Dec at 11:59 PM"),
        (datetime(2026, 9, 30, 10, 45, tzinfo=NEW_YORK), "Wed 30 Sep at 10:45 AM"),
    ],
)
def test_local_when_reads_as_day_date_and_12_hour_time(local_start: datetime, text: str) -> None:
    assert local_when(local_start) == text


def test_local_when_names_the_local_time_of_a_utc_instant() -> None:
    # GIVEN the stored start, in UTC, of an appointment in New York (EST, UTC-5)
    stored = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

    # THEN the patient reads 9:00 AM, not 2:00 PM
    assert local_when(local_time(stored, "America/New_York")) == "Tue 1 Dec at 9:00 AM"
    assert local_when(local_time(stored, "Europe/Berlin")) == "Tue 1 Dec at 3:00 PM"


def test_local_when_right_after_spring_forward() -> None:
    # On Sun 8 Mar 2026 New York clocks jump from 1:59:59 EST to 3:00 EDT.
    assert local_when(datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)) == "Sun 8 Mar at 3:30 AM"
    assert local_when(local_time(datetime(2026, 3, 8, 7, 30, tzinfo=UTC), "America/New_York")) == "Sun 8 Mar at 3:30 AM"
    assert local_when(local_time(datetime(2026, 3, 8, 6, 59, tzinfo=UTC), "America/New_York")) == "Sun 8 Mar at 1:59 AM"


def test_local_when_in_the_repeated_hour_after_fall_back() -> None:
    # On Sun 1 Nov 2026 1:00-1:59 AM happens twice in New York; both read as the wall-clock time.
    first = local_time(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "America/New_York")
    second = local_time(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "America/New_York")

    assert (first.utcoffset(), second.utcoffset()) == (timedelta(hours=-4), timedelta(hours=-5))
    assert local_when(first) == local_when(second) == "Sun 1 Nov at 1:30 AM"


# --- SMS -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (Kind.CONFIRMATION, "Riverside Family Clinic: your appointment is booked for Tue 1 Dec at 9:00 AM."),
        (Kind.REMINDER, "Riverside Family Clinic: reminder of your appointment on Tue 1 Dec at 9:00 AM."),
        (Kind.RESCHEDULE_NOTICE, "Riverside Family Clinic: your appointment has moved to Tue 1 Dec at 9:00 AM."),
        (Kind.CANCELLATION_NOTICE, "Riverside Family Clinic: your appointment on Tue 1 Dec at 9:00 AM is cancelled."),
    ],
)
def test_sms_names_the_clinic_and_the_local_time(kind: Kind, body: str) -> None:
    assert render(kind, Channel.SMS, facts()) == Message(subject=None, body=body)


@pytest.mark.parametrize("kind", list(Kind))
def test_sms_never_carries_the_location(kind: Kind) -> None:
    message = render(kind, Channel.SMS, facts(location="Suite 200, 14 Elm Street"))

    assert "Elm Street" not in message.body
    assert message.subject is None


def test_sms_right_after_spring_forward_names_the_new_local_time() -> None:
    message = render(Kind.REMINDER, Channel.SMS, facts(datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)))

    assert message.body == "Riverside Family Clinic: reminder of your appointment on Sun 8 Mar at 3:30 AM."


_local_starts = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2036, 12, 31), timezones=st.just(NEW_YORK)
)


@given(kind=st.sampled_from(list(Kind)), local_start=_local_starts)
def test_every_default_sms_fits_one_gsm7_segment(kind: Kind, local_start: datetime) -> None:
    body = render(kind, Channel.SMS, facts(local_start)).body

    assert len(body) <= 160, body
    assert set(body) <= set(GSM7_BASIC), sorted(set(body) - set(GSM7_BASIC))


def test_longest_default_sms_fits_one_gsm7_segment() -> None:
    # The longest date text: a three-letter day, a two-digit date and a two-digit hour.
    longest = max(
        (render(kind, Channel.SMS, facts(datetime(2026, 9, 30, 12, 30, tzinfo=NEW_YORK))).body for kind in Kind),
        key=len,
    )

    assert longest == "Riverside Family Clinic: your appointment on Wed 30 Sep at 12:30 PM is cancelled."
    assert len(longest) == 81
    assert set(longest) <= set(GSM7_BASIC)


# --- email ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "subject", "first_line"),
    [
        (
            Kind.CONFIRMATION,
            "Riverside Family Clinic: Appointment booked: Tue 1 Dec at 9:00 AM",
            "Your appointment with Riverside Family Clinic is booked for Tue 1 Dec at 9:00 AM.",
        ),
        (
            Kind.REMINDER,
            "Riverside Family Clinic: Appointment reminder: Tue 1 Dec at 9:00 AM",
            "This is a reminder of your appointment with Riverside Family Clinic on Tue 1 Dec at 9:00 AM.",
        ),
        (
            Kind.RESCHEDULE_NOTICE,
            "Riverside Family Clinic: Appointment moved: Tue 1 Dec at 9:00 AM",
            "Your appointment with Riverside Family Clinic has moved to Tue 1 Dec at 9:00 AM.",
        ),
        (
            Kind.CANCELLATION_NOTICE,
            "Riverside Family Clinic: Appointment cancelled: Tue 1 Dec at 9:00 AM",
            "Your appointment with Riverside Family Clinic on Tue 1 Dec at 9:00 AM is cancelled.",
        ),
    ],
)
def test_email_without_location(kind: Kind, subject: str, first_line: str) -> None:
    assert render(kind, Channel.EMAIL, facts(location=None)) == Message(subject=subject, body=first_line + FOOTER)


@pytest.mark.parametrize(
    ("kind", "first_line"),
    [
        (Kind.CONFIRMATION, "Your appointment with Riverside Family Clinic is booked for Tue 1 Dec at 9:00 AM."),
        (Kind.REMINDER, "This is a reminder of your appointment with Riverside Family Clinic on Tue 1 Dec at 9:00 AM."),
        (Kind.RESCHEDULE_NOTICE, "Your appointment with Riverside Family Clinic has moved to Tue 1 Dec at 9:00 AM."),
    ],
)
def test_email_names_the_place_when_the_appointment_has_one(kind: Kind, first_line: str) -> None:
    message = render(kind, Channel.EMAIL, facts(location="Suite 200, 14 Elm Street"))

    assert message.body == first_line + "\nPlace: Suite 200, 14 Elm Street" + FOOTER


def test_cancellation_email_does_not_send_the_patient_to_the_place() -> None:
    message = render(Kind.CANCELLATION_NOTICE, Channel.EMAIL, facts(location="Suite 200, 14 Elm Street"))

    assert "Place:" not in message.body
    assert "Elm Street" not in message.body


@pytest.mark.parametrize("location", [None, ""])
def test_email_without_a_location_has_no_place_line(location: str | None) -> None:
    message = render(Kind.REMINDER, Channel.EMAIL, facts(location=location))

    assert "Place:" not in message.body


def test_email_right_after_spring_forward_names_the_new_local_time() -> None:
    local_start = local_time(datetime(2026, 3, 8, 7, 30, tzinfo=UTC), "America/New_York")

    message = render(Kind.CONFIRMATION, Channel.EMAIL, facts(local_start))

    assert message.subject == "Riverside Family Clinic: Appointment booked: Sun 8 Mar at 3:30 AM"
    assert message.body.startswith("Your appointment with Riverside Family Clinic is booked for Sun 8 Mar at 3:30 AM.")
