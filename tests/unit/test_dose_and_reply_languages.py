"""Dose messages and SMS reply answers in English, Spanish and Arabic: the exact words, the local time written
by CLDR, what an email says instead of the SMS keywords, and what each SMS costs in segments. Pure."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.core.words import Channel
from chalicelib.regimens.messages import DoseFacts, DoseKind, dose_message
from chalicelib.render.gsm7 import sanitise
from chalicelib.render.localized import when_text
from chalicelib.render.segments import count_segments
from chalicelib.replies.answers import Answer, answer_text, contact_text, reply_language
from chalicelib.replies.keywords import Intent, intent_of

NEW_YORK = ZoneInfo("America/New_York")
CLINIC = "Riverside Family Clinic"  # 23 characters: a typical name
LINK = "https://carecue.example/d/" + "x" * 44  # as long as a real taken link
SUNDAY_1330 = datetime(2027, 3, 14, 13, 30, tzinfo=NEW_YORK)
# The longest case: a Wednesday (the longest Arabic weekday) at a two-digit hour, in September.
WEDNESDAY_1230 = datetime(2027, 9, 29, 12, 30, tzinfo=NEW_YORK)


def facts(local_due: datetime = SUNDAY_1330, link: str | None = LINK, **extra: object) -> DoseFacts:
    values: dict[str, object] = {"medication": None, "dose_text": None, "first_name": "Pat", "days_left": 3, **extra}
    return DoseFacts(CLINIC, local_due, link=link, snooze_minutes=15, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("language", "kind", "text"),
    [
        (
            "es",
            DoseKind.DOSE,
            f"{CLINIC}: es hora de su medicamento de las 13:30. Responda 1 al tomarlo o toque {LINK}. "
            "Responda POSPONER y se lo recordaremos en 15 min.",
        ),
        (
            "es",
            DoseKind.FOLLOW_UP,
            f"{CLINIC}: ¿ya ha tomado su medicamento de las 13:30? Responda 1 al tomarlo o toque {LINK}.",
        ),
        ("es", DoseKind.CAREGIVER, f"{CLINIC}: Pat no ha confirmado la dosis de las 13:30 del dom 14 de mar."),
        ("es", DoseKind.REFILL, f"{CLINIC}: su medicamento se acaba en unos 3 días. Por favor, pida más."),
        (
            "ar",
            DoseKind.DOSE,
            f"{CLINIC}: حان موعد دوائك الساعة 1:30 م. أرسل 1 عند تناوله أو افتح {LINK}. "
            "أرسل تأجيل للتذكير بعد 15 دقيقة.",
        ),
        ("ar", DoseKind.FOLLOW_UP, f"{CLINIC}: هل تناولت دوائك الساعة 1:30 م؟ أرسل 1 عند تناوله أو افتح {LINK}."),
        ("ar", DoseKind.CAREGIVER, f"{CLINIC}: لم يؤكد Pat جرعة 1:30 م، الأحد 14 مارس."),
        ("ar", DoseKind.REFILL, f"{CLINIC}: سينفد دواؤك خلال 3 أيام تقريبا. اطلب المزيد."),
    ],
)
def test_each_dose_sms_in_spanish_and_arabic_with_the_local_time(language: str, kind: DoseKind, text: str) -> None:
    assert dose_message(kind, facts(), language).body == text


def test_the_english_texts_are_unchanged_and_an_unknown_language_gets_them() -> None:
    assert dose_message(DoseKind.DOSE, facts(), "fr").body == (
        f"{CLINIC}: time for your 1:30 PM medicine. Reply 1 when taken or tap {LINK}. "
        "Reply SNOOZE to be reminded in 15 min."
    )
    assert dose_message(DoseKind.REFILL, facts()).body == (
        f"{CLINIC}: your medicine runs out in about 3 days. Please ask for a refill."
    )


def test_a_named_medication_at_one_oclock_takes_la_in_spanish() -> None:
    named = facts(SUNDAY_1330.replace(hour=1), None, medication="Examplamab 10 mg", dose_text="1 tablet")
    assert dose_message(DoseKind.DOSE, named, "es").body.startswith(
        f"{CLINIC}: es hora de su Examplamab 10 mg (1 tablet) de la 1:30. Responda 1 al tomarlo."
    )


@pytest.mark.parametrize(
    ("days", "en", "es", "ar"),
    [
        (1, "about 1 day", "1 día", "يوم واحد"),
        (2, "about 2 days", "unos 2 días", "يومين"),
        (14, "about 14 days", "unos 14 días", "14 يوما"),
    ],
)
def test_the_refill_days_are_counted_in_each_language(days: int, en: str, es: str, ar: str) -> None:
    for language, words in (("en", en), ("es", es), ("ar", ar)):
        assert words in dose_message(DoseKind.REFILL, facts(days_left=days), language).body


@pytest.mark.parametrize(
    ("language", "subject", "body"),
    [
        (
            "en",
            "Medication reminder",
            f"{CLINIC}: time for your 1:30 PM medicine.\n\nWhen you have taken it, mark it here: {LINK}",
        ),
        (
            "es",
            "Recordatorio de medicamento",
            f"{CLINIC}: es hora de su medicamento de las 13:30.\n\nCuando lo haya tomado, márquelo aquí: {LINK}",
        ),
        ("ar", "تذكير بالدواء", f"{CLINIC}: حان موعد دوائك الساعة 1:30 م.\n\nعند تناوله، سجّل ذلك هنا: {LINK}"),
    ],
)
def test_an_email_offers_the_link_not_the_sms_keywords(language: str, subject: str, body: str) -> None:
    # Nothing reads replies to an email: "Reply 1" or "Reply SNOOZE" there would be a promise CareCue breaks.
    message = dose_message(DoseKind.DOSE, facts(), language, Channel.EMAIL)
    assert (message.subject, message.body) == (subject, body)


# SMS segments with the longest day and time, a 23-character clinic name and the caregiver's name "Pat", as
# sent (accents folded to GSM-7). Spanish costs what English does. Arabic is UCS-2, 70 characters a segment:
# the caregiver alert and the refill reminder fit one, like English; the dose reminder and the follow-up cannot
# (the clinic's name, the time and the reply words alone pass 70), so they cost one segment more than English.
DOSE_SEGMENTS = [
    (DoseKind.DOSE, LINK, {"en": 2, "es": 2, "ar": 3}),
    (DoseKind.DOSE, None, {"en": 1, "es": 1, "ar": 2}),
    (DoseKind.FOLLOW_UP, LINK, {"en": 2, "es": 2, "ar": 3}),
    (DoseKind.FOLLOW_UP, None, {"en": 1, "es": 1, "ar": 2}),
    (DoseKind.CAREGIVER, None, {"en": 1, "es": 1, "ar": 1}),
    (DoseKind.REFILL, None, {"en": 1, "es": 1, "ar": 1}),
]


@pytest.mark.parametrize(("kind", "link", "segments"), DOSE_SEGMENTS)
def test_what_each_dose_sms_costs_in_each_language(kind: DoseKind, link: str | None, segments: dict[str, int]) -> None:
    sent = {lang: sanitise(dose_message(kind, facts(WEDNESDAY_1230, link), lang).body) for lang in segments}
    assert {lang: count_segments(text).segments for lang, text in sent.items()} == segments
    assert (count_segments(sent["es"]).encoding, count_segments(sent["ar"]).encoding) == ("gsm7", "ucs2")


def test_the_arabic_caregiver_alert_fits_one_segment_only_with_a_short_first_name() -> None:
    short = sanitise(dose_message(DoseKind.CAREGIVER, facts(WEDNESDAY_1230), "ar").body)
    longer = sanitise(dose_message(DoseKind.CAREGIVER, facts(WEDNESDAY_1230, first_name="Patricia"), "ar").body)
    unnamed = sanitise(dose_message(DoseKind.CAREGIVER, facts(WEDNESDAY_1230, first_name=None), "ar").body)
    assert (count_segments(short).units, count_segments(short).segments) == (70, 1)
    assert count_segments(longer).segments == count_segments(unnamed).segments == 2


def answers_in(language: str) -> dict[Answer, str]:
    when = when_text(WEDNESDAY_1230, language) if language != "en" else "Wed 29 Sep at 12:30 PM"
    contact = contact_text(language, "+14155550199", None)
    return {
        answer: sanitise(
            answer_text(
                answer, language, clinic=CLINIC, names=CLINIC, contact=contact, when=when, local_at=WEDNESDAY_1230
            )
        )
        for answer in Answer
    }


# Every English and Spanish answer is one GSM-7 segment. In Arabic the STOP and START answers fit one UCS-2
# segment (STOP's answer is short on purpose); these five cannot, with the clinic's name, a phone or a date:
ARABIC_TWO_SEGMENTS = {
    Answer.NOT_CONFIRMABLE,
    Answer.CONFIRMED,
    Answer.SNOOZE_REFUSED,
    Answer.HELP,
    Answer.CHECK_IN_OPENS,
    Answer.IN_INBOX,
}


def test_what_each_reply_answer_costs_in_each_language() -> None:
    for language in ("en", "es"):
        assert {a: count_segments(t).segments for a, t in answers_in(language).items()} == dict.fromkeys(Answer, 1)
    arabic = {a: count_segments(t).segments for a, t in answers_in("ar").items()}
    assert {a for a, n in arabic.items() if n == 2} == ARABIC_TWO_SEGMENTS
    assert {a for a, n in arabic.items() if n > 2} == set()


def test_the_inboxs_automatic_answer_costs_one_segment_in_english_and_spanish_and_two_in_arabic() -> None:
    from datetime import time

    from chalicelib.replies.answers import inbox_answer

    for urgent in (None, "911", "+14155550199"):
        for hours in (None, "Mon-Fri 8 AM to 6 PM"):
            costs = {
                language: count_segments(sanitise(inbox_answer(language, CLINIC, hours, time(8), time(18), urgent)))
                for language in ("en", "es", "ar")
            }
            assert {language: c.segments for language, c in costs.items()} == {"en": 1, "es": 1, "ar": 2}


@pytest.mark.parametrize(
    ("language", "answer", "text"),
    [
        ("es", Answer.STOPPED, f"{CLINIC}: no recibirá más mensajes. Responda START para volver a recibirlos."),
        ("ar", Answer.STOPPED, f"{CLINIC}: لن تصلك رسائل أخرى. أرسل START لاستئنافها."),
        ("es", Answer.SNOOZED, f"{CLINIC}: se lo recordaremos de nuevo a las 12:30."),
        ("ar", Answer.DOSE_TAKEN, f"{CLINIC}: شكرا، سجلنا تناول دوائك الساعة 12:30 م."),
        (
            "es",
            Answer.HELP,
            f"Recordatorios de citas de {CLINIC}. Llame al +14155550199. Responda C para confirmar, STOP para no "
            "recibir más mensajes.",
        ),
    ],
)
def test_reply_answers_in_spanish_and_arabic(language: str, answer: Answer, text: str) -> None:
    contact = contact_text(language, "+14155550199", None)
    written = answer_text(answer, language, clinic=CLINIC, names=CLINIC, contact=contact, local_at=WEDNESDAY_1230)
    assert written == text


@pytest.mark.parametrize(
    ("tags", "language"),
    [
        (["es-MX"], "es"),
        (["es", "es-US"], "es"),
        (["ar"], "ar"),
        (["es", "ar"], "en"),
        (["es", None], "en"),
        ([], "en"),
    ],
)
def test_answers_are_in_the_language_all_the_numbers_patients_share(tags: list[str | None], language: str) -> None:
    assert reply_language(tags) == language


@pytest.mark.parametrize(
    ("text", "intent"),
    [("Parar", Intent.STOP), ("ALTO.", Intent.STOP), ("ayuda", Intent.HELP), ("posponer", Intent.SNOOZE)]
    + [("تأجيل", Intent.SNOOZE), ("STOP", Intent.STOP), ("alto ahí", Intent.OTHER)],
)
def test_spanish_and_arabic_keywords_and_the_english_ones_still_hold(text: str, intent: Intent) -> None:
    assert intent_of(text) is intent
