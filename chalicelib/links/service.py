"""Patient links (`/p/{token}`): making them for messages, and the small pages behind them.

`GET /p/{token}` only shows a page with one button; the action (confirm, cancel, stop reminders) happens on
the button's POST, so a mail scanner or link preview that follows links changes nothing. A tampered or expired
token gets a page that says so and changes nothing. Reschedule sends the patient to the clinic's booking page.
Pages are in the patient's language (`page_words`); a page for a link that is not valid names nobody: English.
The signing key is an SSM SecureString, read with one `GetParameter` and kept for five minutes (`LinkSigner.key`).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from msgspec import Struct

from chalicelib.clinics.policy import clinic_policy
from chalicelib.core.clock import Clock
from chalicelib.core.errors import Conflict
from chalicelib.core.observability import logger
from chalicelib.core.records import Appointment, Clinic
from chalicelib.core.timezones import local_time
from chalicelib.core.words import AppointmentStatus, Channel
from chalicelib.links.page_words import page_text
from chalicelib.links.tokens import InvalidLink, LinkClaim, Purpose, can_link, sign, verify
from chalicelib.patients.contacts import opt_out
from chalicelib.store import appointments as appointment_store
from chalicelib.store import clinics as clinic_store
from chalicelib.store import patients as patient_store

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

    from chalicelib.appointments.service import AppointmentService

KEY_CACHE_SECONDS = 300
STOP_LINK_LIFETIME = timedelta(days=30)  # after the visit, "stop reminders" still works for a while
LATE_CHECK_IN = timedelta(hours=2)  # "I'm here" works for a late patient this long after the start, as HERE does


class CheckIn(Protocol):
    """The front desk's check-in (`chalicelib.visits.service.VisitService.check_in`), which the patient's own
    "I'm here" uses with `source="patient_link"`: the same rules, the same wait-time text afterwards."""

    def check_in(self, clinic_id: str, appointment_id: str, source: str = "front_desk") -> Appointment: ...


class Page(Struct, frozen=True):
    status: int
    html: str
    redirect: str | None = None


class LinkSigner:
    """Makes and checks link tokens with the stage's signing key."""

    def __init__(
        self, ssm: SSMClient, key_parameter: str, public_url: str, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._ssm = ssm
        self._key_parameter = key_parameter
        self._public_url = public_url.rstrip("/")
        self._monotonic = monotonic  # the key's age is process time, not the application's clock
        self._key: bytes | None = None
        self._key_read_at = 0.0

    def url(self, purpose: Purpose, clinic_id: str, appointment_id: str, start: datetime) -> str | None:
        """The link, or None when this stage has no public URL (links are then left out of messages)."""
        if not self._public_url or not can_link(clinic_id, appointment_id):
            return None
        # A form can still be filled in the waiting room, and a late patient can still check in.
        lifetimes = {
            Purpose.STOP: STOP_LINK_LIFETIME,
            Purpose.CHECK_IN: LATE_CHECK_IN,
            Purpose.FORM: LATE_CHECK_IN,
            Purpose.DETAILS: STOP_LINK_LIFETIME,  # details are the patient's, not the visit's: as long as "stop"
        }
        expires = start + lifetimes.get(purpose, timedelta())
        token = sign(LinkClaim(purpose, clinic_id, appointment_id, expires), self.key())
        page = {Purpose.FORM: "f", Purpose.DETAILS: "u"}.get(purpose, "p")
        return f"{self._public_url}/{page}/{token}"

    def key(self) -> bytes:
        """The signing key, read from SSM at most once every `KEY_CACHE_SECONDS` a process, so a rotated key is
        used within five minutes. One `GetParameter` by hand rather than Powertools Parameters, whose package
        imports boto3 and every provider it has on import: ~25 ms of CPU of a cold fire, which reads nothing
        else from SSM (docs/performance.md, "a fire without boto3")."""
        now = self._monotonic()
        if self._key is None or now - self._key_read_at >= KEY_CACHE_SECONDS:
            found = self._ssm.get_parameter(Name=self._key_parameter, WithDecryption=True)
            self._key = found["Parameter"]["Value"].encode("utf-8")  # a SecureString always has one
            self._key_read_at = now
        return self._key


class PatientLinks:
    def __init__(
        self, clock: Clock, signer: LinkSigner, appointments: AppointmentService, visits: CheckIn | None = None
    ) -> None:
        self._clock = clock
        self._signer = signer
        self._appointments = appointments
        self._visits = visits

    def show(self, token: str) -> Page:
        found = self._open(token)
        if isinstance(found, Page):
            return found
        claim, appointment, clinic = found
        language = patient_language(appointment.clinic_id, appointment.patient_id)
        when = _when(appointment, language)

        def words(english: str) -> str:
            return page_text(english, language, when=when)

        if claim.purpose is Purpose.RESCHEDULE:
            booking = clinic_policy(clinic).booking_url
            if booking is None:
                text = words("To change your appointment on {when}, please call the clinic.")
                return page(200, clinic.name, text, language)
            return Page(303, html_page(clinic.name, words("Taking you to the booking page…"), language), booking)
        question = {
            Purpose.CONFIRM: ("Confirm your appointment on {when}?", "Confirm"),
            Purpose.CANCEL: ("Cancel your appointment on {when}?", "Cancel appointment"),
            Purpose.STOP: ("Stop appointment reminders from this clinic?", "Stop reminders"),
            Purpose.CHECK_IN: ("Have you arrived for your appointment on {when}?", "I'm here"),
        }[claim.purpose]
        if claim.purpose is Purpose.CANCEL and not clinic_policy(clinic).patients_may_cancel:
            return page(
                200, clinic.name, words("To cancel your appointment on {when}, please call the clinic."), language
            )
        form = f'<form method="post"><button type="submit">{html.escape(words(question[1]))}</button></form>'
        if claim.purpose is Purpose.CONFIRM and self._check_in_open(appointment, clinic):
            # On the day, inside the clinic's check-in window, the confirm page also lets the patient say they are here.
            here = self._signer.url(Purpose.CHECK_IN, clinic.clinic_id, appointment.appointment_id, appointment.start)
            if here is not None:
                label = html.escape(words("I'm here"))
                form += (
                    f'<form method="post" action="{html.escape(here)}"><button type="submit">{label}</button></form>'
                )
        form += self._details_link(appointment, language)
        return Page(200, html_page(clinic.name, f"<p>{html.escape(words(question[0]))}</p>{form}", language))

    def _details_link(self, appointment: Appointment, language: str) -> str:
        """The patient's "update my details" link (`chalicelib.links.details_page`), offered under the button."""
        from chalicelib.links.details_words import details_text

        url = self._signer.url(Purpose.DETAILS, appointment.clinic_id, appointment.appointment_id, appointment.start)
        if url is None:
            return ""
        return f'<p><a href="{html.escape(url)}">{html.escape(details_text("Update my details", language))}</a></p>'

    def _check_in_open(self, appointment: Appointment, clinic: Clinic) -> bool:
        now = self._clock.now()
        opens = appointment.start - timedelta(minutes=clinic_policy(clinic).check_in_window_minutes)
        return self._visits is not None and appointment.status == AppointmentStatus.BOOKED and opens <= now

    def act(self, token: str) -> Page:
        found = self._open(token)
        if isinstance(found, Page):
            return found
        claim, appointment, clinic = found
        appointments = self._appointments
        language = patient_language(appointment.clinic_id, appointment.patient_id)
        when = _when(appointment, language)
        try:
            if claim.purpose is Purpose.CONFIRM:
                appointments.confirm(clinic.clinic_id, appointment.appointment_id, via="link")
                message = "Thank you. Your appointment on {when} is confirmed."
            elif claim.purpose is Purpose.CANCEL and clinic_policy(clinic).patients_may_cancel:
                appointments.cancel(clinic.clinic_id, appointment.appointment_id, via="link")
                message = "Your appointment on {when} is cancelled."
            elif claim.purpose is Purpose.STOP:
                self._stop(clinic.clinic_id, appointment.patient_id)
                message = "You will get no more reminders from this clinic."
            elif claim.purpose is Purpose.CHECK_IN and self._visits is not None:
                if not self._check_in_open(appointment, clinic) and appointment.status == AppointmentStatus.BOOKED:
                    return page(200, clinic.name, words_at_opening(appointment, clinic, language), language)
                self._visits.check_in(clinic.clinic_id, appointment.appointment_id, source="patient_link")
                message = "Thank you. You are checked in: please take a seat, the clinic will call you."
            else:
                return self.show(token)
        except Conflict:
            text = page_text("This appointment can no longer be changed here. Please call the clinic.", language)
            return page(409, clinic.name, text, language)
        logger.info(
            "patient link used", extra={"purpose": claim.purpose.value, "appointment_id": appointment.appointment_id}
        )
        return page(200, clinic.name, page_text(message, language, when=when), language)

    def _stop(self, clinic_id: str, patient_id: str) -> None:
        patient = patient_store.get_patient(clinic_id, patient_id)
        now = self._clock.now()
        for channel, address in ((Channel.SMS, patient.phone), (Channel.EMAIL, patient.email)):
            if address:
                opt_out(clinic_id, channel, address, "link", now)

    def _open(self, token: str) -> tuple[LinkClaim, Appointment, Clinic] | Page:
        try:
            claim = verify(token, self._signer.key(), self._clock.now())
        except InvalidLink as e:
            return _refused(type(e).__name__)
        if claim.purpose in (Purpose.FORM, Purpose.DETAILS):
            return _refused("OwnPageLink")  # a form's and the details' links open their own pages, /f/ and /u/
        appointment = appointment_store.find(claim.clinic_id, claim.appointment_id)
        clinic = clinic_store.find_clinic(claim.clinic_id) if appointment is not None else None
        if appointment is None or clinic is None:
            return _refused("DoesNotExist")  # the appointment or its clinic is gone
        return claim, appointment, clinic


def words_at_opening(appointment: Appointment, clinic: Clinic, language: str) -> str:
    opens = appointment.start - timedelta(minutes=clinic_policy(clinic).check_in_window_minutes)
    return page_text(
        "Check-in for your appointment on {when} opens at {at}.",
        language,
        when=_when(appointment, language),
        local_at=local_time(opens, appointment.timezone),
    )


def _refused(problem: str) -> Page:
    logger.info("patient link refused", extra={"problem": problem})
    return page(
        404,
        "Link not valid",
        "This link is not valid or has expired. Nothing was changed. Please contact the clinic.",
    )


def _when(appointment: Appointment, language: str) -> str:
    from chalicelib.render.localized import day_and_time

    return day_and_time(local_time(appointment.start, appointment.timezone), language)


def patient_language(clinic_id: str, patient_id: str) -> str:
    """The patient's message language; English when the patient record is gone (the page still works)."""
    from chalicelib.render.localized import language_of

    patient = patient_store.find_patient(clinic_id, patient_id)
    return language_of(patient.language) if patient is not None else "en"


def page(status: int, title: str, message: str, language: str = "en") -> Page:
    return Page(status, html_page(title, f"<p>{html.escape(message)}</p>", language))


def html_page(title: str, content: str, language: str = "en") -> str:
    direction = ' dir="rtl"' if language == "ar" else ""
    return (
        f'<!doctype html><html lang="{language}"{direction}><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:28em;margin:2em auto;padding:0 1em;font-size:1.1em}"
        "button{font-size:1.1em;padding:.7em 1.4em;border-radius:.4em;border:0;background:#1d5fa8;color:#fff}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{content}</body></html>"
    )
