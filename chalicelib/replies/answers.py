"""The words of CareCue's answers to a patient's SMS reply, in English, Spanish or Arabic: pure.

The language is the one every patient with the number shares; when they disagree, or nobody has it, English.
Carrier keywords stay as they are in every language (STOP and START are what carriers and regulators expect);
Spanish answers name the Spanish keywords CareCue also reads where there is one (POSPONER), Arabic ones the
Arabic (تأجيل). The STOP answer is the shortest text in each language: English and Spanish fit one GSM-7
segment and Arabic one UCS-2 segment with a 25-character clinic name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from enum import StrEnum

from chalicelib.render.localized import language_of


class Answer(StrEnum):
    STOPPED = "stopped"
    STARTED = "started"
    NOTHING_TO_CONFIRM = "nothing_to_confirm"
    NOT_CONFIRMABLE = "not_confirmable"
    CONFIRMED = "confirmed"
    DOSE_TAKEN = "dose_taken"
    SNOOZE_REFUSED = "snooze_refused"
    SNOOZED = "snoozed"
    HELP = "help"
    HELP_UNKNOWN = "help_unknown"
    CHECK_IN_OPENS = "check_in_opens"
    NOTHING_TO_CHECK_IN = "nothing_to_check_in"
    IN_INBOX = "in_inbox"  # the automatic answer to a message that went to the clinic's inbox


_ANSWERS: dict[str, dict[Answer, str]] = {
    "en": {
        Answer.STOPPED: "{names}: you will get no more texts. Reply START to get them again.",
        Answer.STARTED: "{names}: you will get appointment texts again. Reply STOP to stop them.",
        Answer.NOTHING_TO_CONFIRM: "CareCue: there is no upcoming appointment to confirm for this number.",
        Answer.NOT_CONFIRMABLE: "{clinic}: that appointment can no longer be confirmed. {contact}",
        Answer.CONFIRMED: "{clinic}: thank you, your appointment on {when} is confirmed.",
        Answer.DOSE_TAKEN: "{clinic}: thank you, your {at} medicine is marked as taken.",
        Answer.SNOOZE_REFUSED: "{clinic}: your {at} medicine cannot be snoozed again. Reply 1 when taken.",
        Answer.SNOOZED: "{clinic}: we will remind you again at {at}.",
        Answer.HELP: "{clinic} appointment reminders. {contact} Reply C to confirm, STOP to stop texts.",
        Answer.HELP_UNKNOWN: "CareCue appointment reminders. Reply STOP to stop texts.",
        Answer.CHECK_IN_OPENS: "{clinic}: check-in for your appointment on {when} opens at {at}. Reply HERE then.",
        Answer.NOTHING_TO_CHECK_IN: "CareCue: there is no appointment today to check in for from this number.",
        Answer.IN_INBOX: "{clinic}: thank you, the clinic has your message and replies during its hours: {when}. "
        "{contact}",
    },
    "es": {
        Answer.STOPPED: "{names}: no recibirá más mensajes. Responda START para volver a recibirlos.",
        Answer.STARTED: "{names}: volverá a recibir mensajes. Responda STOP para dejar de recibirlos.",
        Answer.NOTHING_TO_CONFIRM: "CareCue: no hay ninguna cita próxima que confirmar para este número.",
        Answer.NOT_CONFIRMABLE: "{clinic}: esa cita ya no se puede confirmar. {contact}",
        Answer.CONFIRMED: "{clinic}: gracias, su cita del {when} queda confirmada.",
        Answer.DOSE_TAKEN: "{clinic}: gracias, su medicamento de {the_hour} queda marcado como tomado.",
        Answer.SNOOZE_REFUSED: "{clinic}: su medicamento de {the_hour} no se puede posponer más. "
        "Responda 1 al tomarlo.",
        Answer.SNOOZED: "{clinic}: se lo recordaremos de nuevo a {the_hour}.",
        Answer.HELP: "Recordatorios de citas de {clinic}. {contact} Responda C para confirmar, STOP para no recibir "
        "más mensajes.",
        Answer.HELP_UNKNOWN: "Recordatorios de citas de CareCue. Responda STOP para no recibir más mensajes.",
        Answer.CHECK_IN_OPENS: "{clinic}: el registro de llegada de su cita del {when} se abre a {the_hour}. "
        "Responda AQUÍ entonces.",
        Answer.NOTHING_TO_CHECK_IN: "CareCue: no hay ninguna cita hoy para registrar la llegada desde este número.",
        Answer.IN_INBOX: "{clinic}: gracias, la clínica tiene su mensaje y responde en su horario: {when}. {contact}",
    },
    "ar": {
        Answer.STOPPED: "{names}: لن تصلك رسائل أخرى. أرسل START لاستئنافها.",
        Answer.STARTED: "{names}: ستصلك الرسائل مجددا. أرسل STOP لإيقافها.",
        Answer.NOTHING_TO_CONFIRM: "CareCue: لا يوجد موعد قادم لتأكيده لهذا الرقم.",
        Answer.NOT_CONFIRMABLE: "{clinic}: لم يعد بالإمكان تأكيد هذا الموعد. {contact}",
        Answer.CONFIRMED: "{clinic}: شكرا، تم تأكيد موعدك {when}.",
        Answer.DOSE_TAKEN: "{clinic}: شكرا، سجلنا تناول دوائك الساعة {at}.",
        Answer.SNOOZE_REFUSED: "{clinic}: لا يمكن تأجيل دوائك الساعة {at} مرة أخرى. أرسل 1 عند تناوله.",
        Answer.SNOOZED: "{clinic}: سنذكرك مجددا الساعة {at}.",
        Answer.HELP: "تذكيرات مواعيد {clinic}. {contact} أرسل C للتأكيد، STOP لإيقاف الرسائل.",
        Answer.HELP_UNKNOWN: "تذكيرات مواعيد CareCue. أرسل STOP لإيقاف الرسائل.",
        Answer.CHECK_IN_OPENS: "{clinic}: يبدأ تسجيل الوصول لموعدك {when} الساعة {at}. أرسل وصلت عندها.",
        Answer.NOTHING_TO_CHECK_IN: "CareCue: لا يوجد موعد اليوم لتسجيل الوصول من هذا الرقم.",
        Answer.IN_INBOX: "{clinic}: شكرا، وصلت رسالتك وسترد العيادة في ساعات عملها: {when}. {contact}",
    },
}
_CALL = {"en": "Call {phone}.", "es": "Llame al {phone}.", "ar": "اتصل على {phone}."}
_SEE = {"en": "See {url}.", "es": "Vea {url}.", "ar": "راجع {url}."}
_URGENT = {
    "en": "If it is urgent, call {phone}.",
    "es": "Si es urgente, llame al {phone}.",
    "ar": "للحالات العاجلة اتصل على {phone}.",
}
_EMERGENCY = {
    "en": "If it is urgent, call emergency services.",
    "es": "Si es urgente, llame a emergencias.",
    "ar": "للحالات العاجلة اتصل بالطوارئ.",
}
_HOURS = {"en": "{open} to {close}", "es": "de {open} a {close}", "ar": "من {open} إلى {close}"}
_ASK = {"en": "Please contact the clinic.", "es": "Contacte con la clínica.", "ar": "يرجى التواصل مع العيادة."}


def reply_language(tags: Iterable[str | None]) -> str:
    """The one language all the number's patients read, else English (nobody, or patients who disagree)."""
    languages = {language_of(tag) for tag in tags}
    return languages.pop() if len(languages) == 1 else "en"


def contact_text(language: str, phone: str | None, booking_url: str | None) -> str:
    if phone:
        return _CALL[language].format(phone=phone)
    if booking_url:
        return _SEE[language].format(url=booking_url)
    return _ASK[language]


def inbox_answer(
    language: str, clinic: str, hours: str | None, opens: time, closes: time, urgent_phone: str | None
) -> str:
    """The day's automatic answer to a message that went to the clinic's inbox: when the clinic replies (its own
    `hours` text, else its opening hours in the patient's language) and whom to call if it is urgent."""
    from chalicelib.render.templates import clock_text

    language = language if language in _ANSWERS else "en"
    if hours is None:
        day = date(2000, 1, 3)  # any day: only the wall-clock time is shown
        hours = _HOURS[language].format(
            open=clock_text(datetime.combine(day, opens), language),
            close=clock_text(datetime.combine(day, closes), language),
        )
    urgent = _URGENT[language].format(phone=urgent_phone) if urgent_phone else _EMERGENCY[language]
    return _ANSWERS[language][Answer.IN_INBOX].format(clinic=clinic, when=hours, contact=urgent)


def answer_text(
    answer: Answer,
    language: str,
    *,
    clinic: str = "",
    names: str = "",
    contact: str = "",
    when: str = "",
    local_at: datetime | None = None,
) -> str:
    """The answer in `language`; `local_at` is a dose time (or a snooze's end) in the patient's zone."""
    from chalicelib.render.templates import clock_text, the_hour

    language = language if language in _ANSWERS else "en"
    at = clock_text(local_at, language) if local_at is not None else ""
    hour = the_hour(local_at, language) if local_at is not None else ""
    return _ANSWERS[language][answer].format(
        clinic=clinic, names=names, contact=contact, when=when, at=at, the_hour=hour
    )
