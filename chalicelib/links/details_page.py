"""The patient's "update my details" page (`GET/POST /u/{token}`): their phone, email, message language,
preferred channel and time zone, kept by the patient. The signed link names an appointment (like every patient
link); the details are its patient's. It is offered under the button of the patient's link pages (`/p/`), and
works until 30 days after the appointment, as "stop reminders" does.

- **Language, channel and time zone** are saved when posted, checked as the API checks them: a language CareCue
  ships (en, es, ar), a channel the patient can receive on (SMS or WhatsApp with a phone, WhatsApp only once
  opted in, email with an email, Messenger once linked), an IANA time zone. A post with a problem saves nothing
  of it and names each problem next to its input.
- **A new phone or email is used only once proven**: a 6-digit code goes to it (SMS for a phone, email for an
  email, metered like every message), and the new address replaces the old one only when the patient enters
  that code within 10 minutes and 5 tries (`chalicelib.links.contact_codes`). The 6th try, or a code past its
  10 minutes, is refused with a page that says so (429, 410) and offers a new code; at most 3 codes an hour are
  sent to each of the patient's phone and email changes. A number that sent STOP gets no code (the patient
  replies START from it first). Until proven, every message goes on to the old address.
- **Every change is recorded** with who made it (`patient`, `patient_link`) and, for a phone or email, how it
  was proven, in the same write (`chalicelib.patients.changes`); the clinic reads them at
  `GET /v1/patients/{id}/changes`. A change of where or when reminders go re-plans the patient's upcoming
  appointments, and every message reads the patient's record when it goes, so the next one uses the new details.
- Nothing the patient typed is logged: the log lines name the patient id, the fields and the outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.core.clock import Clock
from chalicelib.core.errors import ChannelError
from chalicelib.core.fields import read_email, read_phone
from chalicelib.core.observability import count, logger
from chalicelib.core.records import Appointment, Clinic, ContactProof, Patient
from chalicelib.core.timezones import is_known_timezone, local_time, phone_region
from chalicelib.core.words import Channel
from chalicelib.links import contact_codes as codes
from chalicelib.links.details_html import DetailsView, PendingCode, details_page
from chalicelib.links.details_words import details_text
from chalicelib.links.service import Page, _refused
from chalicelib.links.tokens import InvalidLink, Purpose, verify
from chalicelib.patients.changes import PATIENT_LINK, apply_changes, differing
from chalicelib.patients.contacts import is_opted_out
from chalicelib.patients.whatsapp import whatsapp_state
from chalicelib.render.templates import Message
from chalicelib.store import appointments as appointment_store
from chalicelib.store import clinics as clinic_store
from chalicelib.store import patient_changes as proof_store
from chalicelib.store import patients as patient_store
from chalicelib.store.patient_changes import FieldChange

if TYPE_CHECKING:
    from chalicelib.links.service import LinkSigner
    from chalicelib.meter.sender import Sent

LANGUAGES = ("en", "es", "ar")  # the languages CareCue ships texts in (chalicelib.render.localized)
CONTACT_FIELDS = ("phone", "email")
MAX_POST_BYTES = 4_000


class CodeSender(Protocol):
    """The one metered send (`chalicelib.meter.sender.MeteredSender`): None when the clinic's spend cap holds it."""

    def send(self, clinic: Clinic | None, channel: Channel, to: str, message: Message) -> Sent | None: ...


class Replanner(Protocol):
    """Re-plans a patient's upcoming appointments (`chalicelib.patients.service.PatientService`)."""

    def replan_upcoming(self, clinic_id: str, patient_id: str) -> None: ...


class _Opened(Struct, frozen=True):
    appointment: Appointment
    clinic: Clinic
    patient: Patient
    language: str


class DetailsPages:
    def __init__(self, clock: Clock, signer: LinkSigner, sender: CodeSender, replanner: Replanner) -> None:
        self._clock = clock
        self._signer = signer
        self._sender = sender
        self._replanner = replanner

    def show(self, token: str) -> Page:
        opened = self._open(token)
        if isinstance(opened, Page):
            return opened
        return self._page(opened)

    def post(self, token: str, raw_body: bytes) -> Page:
        opened = self._open(token)
        if isinstance(opened, Page):
            return opened
        posted = _posted(raw_body)
        if posted is None:
            return self._page(opened)
        action = posted.get("_action", "save")
        if action == "verify":
            return self._verify(opened, posted)
        if action == "resend":
            return self._resend(opened)
        return self._save(opened, posted)

    # --- saving ----------------------------------------------------------------------------------------------

    def _save(self, opened: _Opened, posted: dict[str, str]) -> Page:
        patient, language = opened.patient, opened.language
        problems: dict[str, str] = {}
        region = phone_region(opened.clinic.timezone)
        new: dict[str, str] = {}
        for name, reader, problem in (
            ("phone", lambda text: read_phone(text, region), "Enter the phone number with its country code, "
             "such as +1 415 555 0100."),
            ("email", read_email, "Enter an email address such as name@example.com."),
        ):  # fmt: skip
            text = posted.get(name, "").strip()
            if text:
                value = reader(text)
                if value is None:
                    problems[name] = details_text(problem, language)
                elif value != getattr(patient, name):
                    new[name] = value
        wanted: dict[str, str | None] = {}
        chosen_language = posted.get("language", "")
        if chosen_language:
            if chosen_language in LANGUAGES:
                wanted["language"] = chosen_language
            else:
                problems["language"] = details_text("Choose one of the languages offered.", language)
        channel = posted.get("preferred_channel", "")
        if channel:
            if channel in self._channels(opened) or channel == patient.preferred_channel:
                wanted["preferred_channel"] = channel
            else:
                problems["preferred_channel"] = details_text("Choose one of the ways offered.", language)
        zone = posted.get("timezone", "").strip()
        if zone:
            if is_known_timezone(zone):
                wanted["timezone"] = zone
            else:
                problems["timezone"] = details_text("Enter a time zone such as America/New_York.", language)
        if problems:  # nothing of a post with a problem is saved
            return self._page(opened, given=posted, problems=problems)
        changes = differing(patient, wanted)
        if changes:
            apply_changes(patient, changes, PATIENT_LINK, self._clock.now())
            opened = self._reopened(opened)
        refused: dict[str, str] = {}
        status = 200
        for name, address in new.items():
            outcome = self._send_code(opened, name, address)
            if outcome is not None:
                refused[name], status = outcome
        if changes:
            self._replanner.replan_upcoming(patient.clinic_id, patient.patient_id)
        note = details_text("Your details are saved.", opened.language) if changes else None
        given = {name: posted.get(name, "") for name in refused}
        return self._page(opened, given=given, problems=refused, note=note, status=status)

    def _send_code(self, opened: _Opened, field: str, address: str) -> tuple[str, int] | None:
        """Sends a new code for `address`; None when sent, else the problem in the patient's words and the
        page's status."""
        clinic, patient, language = opened.clinic, opened.patient, opened.language
        now = self._clock.now()
        earlier = proof_store.find_proof(clinic.clinic_id, patient.patient_id, field)
        wait_until = codes.next_send_at(earlier, now)
        if wait_until is not None:
            logger.info("contact code refused", extra={"patient_id": patient.patient_id, "problem": "rate_limit"})
            at = local_time(wait_until, patient.timezone or clinic.timezone)
            return _rate_limited(at, language), 429
        channel = Channel.SMS if field == "phone" else Channel.EMAIL
        if is_opted_out(clinic.clinic_id, channel, address):
            text = "This number asked for no text messages from the clinic. Reply START from it, or call the clinic."
            if channel is Channel.EMAIL:
                text = "We could not send a code to it. Please check it, or call the clinic."
            return details_text(text, language), 200
        code = codes.new_code()
        key = self._signer.key()
        proof = ContactProof(
            clinic_id=clinic.clinic_id,
            proof_key=proof_store.proof_key(patient.patient_id, field),
            patient_id=patient.patient_id,
            field=field,
            address=address,
            code_hash=codes.code_hash(key, clinic.clinic_id, patient.patient_id, field, address, code),
            expires_at=now + codes.CODE_LIFETIME,
            tries=0,
            sent_at=[*codes.recent_sends(earlier, now), now],
            forget_at=now + codes.FORGET_AFTER,
        )
        proof_store.save_proof(proof)  # before the send: a code that went out can always be checked
        try:
            sent = self._sender.send(clinic, channel, address, _code_message(field, code, clinic.name, language))
        except ChannelError as e:
            logger.info("contact code not sent", extra={"patient_id": patient.patient_id, "code": e.code})
            self._unsent(proof)
            return details_text("We could not send a code to it. Please check it, or call the clinic.", language), 200
        if sent is None:  # the clinic's month is at its spend cap
            logger.info("contact code not sent", extra={"patient_id": patient.patient_id, "code": "SpendCap"})
            self._unsent(proof)
            text = "We cannot send a code just now. Please try again later, or call the clinic."
            return details_text(text, language), 200
        logger.info("contact code sent", extra={"patient_id": patient.patient_id, "field": field})
        count("ContactCodesSent", channel=channel.value)
        return None

    def _unsent(self, proof: ContactProof) -> None:
        """A code that did not go out proves nothing: its hash goes, the send still counts for the rate limit."""
        proof_store.save_proof(replace(proof, address=None, code_hash=None, expires_at=None))

    def _resend(self, opened: _Opened) -> Page:
        refused: dict[str, str] = {}
        status = 200
        for field, proof in self._proofs(opened).items():
            assert proof.address is not None  # a proof is stored with its address
            outcome = self._send_code(opened, field, proof.address)
            if outcome is not None:
                refused[f"code_{field}"], status = outcome
        return self._page(opened, problems=refused, status=status)

    # --- proving ---------------------------------------------------------------------------------------------

    def _verify(self, opened: _Opened, posted: dict[str, str]) -> Page:
        language = opened.language
        proofs = self._proofs(opened)
        if not proofs:
            text = "There is no code waiting: change the number or email again to get one."
            return self._page(opened, note=details_text(text, language))
        now = self._clock.now()
        key = self._signer.key()
        problems: dict[str, str] = {}
        proven: list[str] = []
        refusal: tuple[int, str] | None = None
        for field, proof in proofs.items():
            name = f"code_{field}"
            typed = posted.get(name, "")
            if codes.expired(proof, now):
                refusal = (410, "This code has expired (a code works for 10 minutes). Ask for a new code.")
                continue
            code = codes.read_code(typed)
            if code is None:
                if typed.strip() or len(proofs) == 1:
                    problems[name] = details_text("Enter the 6 digits of the code.", language)
                continue
            if not proof_store.count_try(proof, codes.MAX_TRIES):
                refusal = (429, "Too many tries: this code no longer works. Ask for a new code.")
                continue
            if not codes.matches(proof, key, code):
                left = codes.tries_left(proof) - 1
                if left <= 0:
                    refusal = (429, "Too many tries: this code no longer works. Ask for a new code.")
                else:
                    problems[name] = details_text("That code is not right. Tries left: {n}.", language, n=left)
                logger.info("contact code wrong", extra={"patient_id": opened.patient.patient_id, "field": field})
                continue
            assert proof.address is not None
            patient = self._reopened(opened).patient
            change = FieldChange(field, getattr(patient, field), proof.address)
            proof_name = "sms_code" if field == "phone" else "email_code"
            if apply_changes(patient, [change], PATIENT_LINK, now, proof=proof_name, used_proof=proof):
                proven.append(field)
        if proven:
            self._replanner.replan_upcoming(opened.patient.clinic_id, opened.patient.patient_id)
            opened = self._reopened(opened)
        if refusal is not None and not problems:
            status, text = refusal
            return self._page(opened, note=details_text(text, language), status=status)
        note = None
        if proven:
            note = " ".join(
                details_text(f"Saved: the clinic's messages will now go to your new {field}.", language)
                for field in proven
            )
        return self._page(opened, problems=problems, note=note)

    # --- the page --------------------------------------------------------------------------------------------

    def _page(
        self,
        opened: _Opened,
        *,
        given: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        note: str | None = None,
        status: int = 200,
    ) -> Page:
        patient, clinic, language = opened.patient, opened.clinic, opened.language
        now = self._clock.now()
        pending = [
            PendingCode(
                field,
                _masked(field, proof.address, language),
                usable=not codes.expired(proof, now) and codes.tries_left(proof) > 0,
            )
            for field, proof in self._proofs(opened).items()
        ]
        view = DetailsView(
            clinic=clinic.name,
            language=language,
            phone_now=_masked("phone", patient.phone, language),
            email_now=_masked("email", patient.email, language),
            patient_language=patient.language if patient.language in LANGUAGES else "en",
            channel=patient.preferred_channel,
            channels=self._channels(opened),
            timezone_now=patient.timezone or details_text("the clinic's, {zone}", language, zone=clinic.timezone),
            timezone=patient.timezone or "",
            given=given or {},
            problems=problems or {},
            pending=pending,
            note=note,
        )
        return Page(status, details_page(view))

    def _channels(self, opened: _Opened) -> list[str]:
        """The channels the patient can receive on, which are the ones offered (the current one is kept)."""
        patient = opened.patient
        offered = []
        if patient.phone:
            offered.append(Channel.SMS.value)
        if patient.email:
            offered.append(Channel.EMAIL.value)
        if patient.phone and whatsapp_state(patient.clinic_id, patient.phone, self._clock.now()).may_send:
            offered.append(Channel.WHATSAPP.value)
        if patient.messenger_psid:
            offered.append(Channel.MESSENGER.value)
        if patient.preferred_channel and patient.preferred_channel not in offered:
            offered.append(patient.preferred_channel)
        return offered

    def _proofs(self, opened: _Opened) -> dict[str, ContactProof]:
        found = {}
        for field in CONTACT_FIELDS:
            proof = proof_store.find_proof(opened.clinic.clinic_id, opened.patient.patient_id, field)
            if proof is not None and proof.code_hash is not None and proof.address is not None:
                found[field] = proof
        return found

    def _reopened(self, opened: _Opened) -> _Opened:
        patient = patient_store.find_patient(opened.clinic.clinic_id, opened.patient.patient_id, consistent=True)
        if patient is None:
            return opened
        return replace(opened, patient=patient, language=_language(patient))

    def _open(self, token: str) -> _Opened | Page:
        try:
            claim = verify(token, self._signer.key(), self._clock.now())
        except InvalidLink as e:
            return _refused(type(e).__name__)
        if claim.purpose is not Purpose.DETAILS:
            return _refused("NotADetailsLink")
        appointment = appointment_store.find(claim.clinic_id, claim.appointment_id)
        clinic = clinic_store.find_clinic(claim.clinic_id) if appointment is not None else None
        patient = (
            patient_store.find_patient(claim.clinic_id, appointment.patient_id, consistent=True)
            if appointment
            else None
        )
        if patient is not None and patient.merged_into:
            # merge-patients kept another record of this person: their details are that one's now.
            patient = patient_store.find_patient(claim.clinic_id, patient.merged_into, consistent=True)
        if appointment is None or clinic is None or patient is None:
            return _refused("DoesNotExist")
        return _Opened(appointment, clinic, patient, _language(patient))


def _language(patient: Patient) -> str:
    from chalicelib.render.localized import language_of

    return language_of(patient.language)


def _masked(field: str, address: str | None, language: str) -> str:
    """A contact as the page shows it: a phone's last 4 digits, an email's first letter and its domain."""
    if not address:
        return details_text("none", language)
    if field == "phone":
        return details_text("ending in {digits}", language, digits=address[-4:])
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


def _rate_limited(at: datetime, language: str) -> str:
    from chalicelib.render.templates import clock_text, the_hour

    text = "You have asked for 3 codes in the last hour. You can ask again at {at}."
    return details_text(text, language, at=clock_text(at, language), the_hour=the_hour(at, language))


def _code_message(field: str, code: str, clinic: str, language: str) -> Message:
    what = "phone number" if field == "phone" else "email address"
    body = details_text(
        f"{{code}} is your code to confirm your new {what} for {{clinic}}. It works for 10 minutes. If you did "
        "not ask for it, ignore this message.",
        language,
        code=code,
        clinic=clinic,
    )
    subject = details_text("Your code for {clinic}", language, clinic=clinic) if field == "email" else None
    return Message(subject, body)


def _posted(raw_body: bytes) -> dict[str, str] | None:
    """The post's fields (the first value of each), or None for a body too long or not UTF-8 form data."""
    if len(raw_body) > MAX_POST_BYTES:
        return None
    try:
        fields = parse_qs(raw_body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in fields.items() if values}
