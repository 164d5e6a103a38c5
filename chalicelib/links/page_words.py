"""The words of the patient link pages (`/p/{token}`, `/d/{token}`) in Spanish and Arabic: pure. The pages are
written in English; each English text here is the key to its translations, so a text with none stays English.
A page whose link is not valid names no patient, so it stays English."""

from __future__ import annotations

from datetime import datetime

_WORDS: dict[str, dict[str, str]] = {
    "es": {
        "Confirm your appointment on {when}?": "¿Confirma su cita del {when}?",
        "Confirm": "Confirmar",
        "Cancel your appointment on {when}?": "¿Cancela su cita del {when}?",
        "Cancel appointment": "Cancelar la cita",
        "Stop appointment reminders from this clinic?": "¿Dejar de recibir recordatorios de esta clínica?",
        "Stop reminders": "Dejar de recibirlos",
        "To change your appointment on {when}, please call the clinic.": "Para cambiar su cita del {when}, "
        "llame a la clínica.",
        "To cancel your appointment on {when}, please call the clinic.": "Para cancelar su cita del {when}, "
        "llame a la clínica.",
        "Taking you to the booking page…": "Le llevamos a la página de reservas…",
        "Thank you. Your appointment on {when} is confirmed.": "Gracias. Su cita del {when} queda confirmada.",
        "Your appointment on {when} is cancelled.": "Su cita del {when} queda cancelada.",
        "You will get no more reminders from this clinic.": "No recibirá más recordatorios de esta clínica.",
        "This appointment can no longer be changed here. Please call the clinic.": "Esta cita ya no se puede "
        "cambiar aquí. Llame a la clínica.",
        "Your {at} medicine: taken?": "Su medicamento de {the_hour}: ¿ya lo tomó?",
        "I have taken it": "Ya lo he tomado",
        "Thank you. Your {at} medicine is marked as taken.": "Gracias. Su medicamento de {the_hour} queda marcado "
        "como tomado.",
        "This dose is not known. Nothing was changed.": "No conocemos esta dosis. No se ha cambiado nada.",
        "Have you arrived for your appointment on {when}?": "¿Ha llegado a su cita del {when}?",
        "I'm here": "Ya estoy aquí",
        "Thank you. You are checked in: please take a seat, the clinic will call you.": "Gracias. Su llegada "
        "queda registrada: tome asiento, la clínica le llamará.",
        "Check-in for your appointment on {when} opens at {at}.": "El registro de llegada de su cita del {when} "
        "se abre a {the_hour}.",
    },
    "ar": {
        "Confirm your appointment on {when}?": "هل تؤكد موعدك {when}؟",
        "Confirm": "تأكيد",
        "Cancel your appointment on {when}?": "هل تلغي موعدك {when}؟",
        "Cancel appointment": "إلغاء الموعد",
        "Stop appointment reminders from this clinic?": "إيقاف تذكيرات المواعيد من هذه العيادة؟",
        "Stop reminders": "إيقاف التذكيرات",
        "To change your appointment on {when}, please call the clinic.": "لتغيير موعدك {when}، يرجى الاتصال بالعيادة.",
        "To cancel your appointment on {when}, please call the clinic.": "لإلغاء موعدك {when}، يرجى الاتصال بالعيادة.",
        "Taking you to the booking page…": "ننقلك إلى صفحة الحجز…",
        "Thank you. Your appointment on {when} is confirmed.": "شكرا. تم تأكيد موعدك {when}.",
        "Your appointment on {when} is cancelled.": "تم إلغاء موعدك {when}.",
        "You will get no more reminders from this clinic.": "لن تصلك تذكيرات أخرى من هذه العيادة.",
        "This appointment can no longer be changed here. Please call the clinic.": "لم يعد بالإمكان تغيير هذا "
        "الموعد هنا. يرجى الاتصال بالعيادة.",
        "Your {at} medicine: taken?": "دواء الساعة {at}: هل تناولته؟",
        "I have taken it": "تناولته",
        "Thank you. Your {at} medicine is marked as taken.": "شكرا. سجلنا تناول دوائك الساعة {at}.",
        "This dose is not known. Nothing was changed.": "هذه الجرعة غير معروفة. لم يتغير شيء.",
        "Have you arrived for your appointment on {when}?": "هل وصلت لموعدك {when}؟",
        "I'm here": "وصلت",
        "Thank you. You are checked in: please take a seat, the clinic will call you.": "شكرا. تم تسجيل وصولك: "
        "تفضل بالجلوس، ستناديك العيادة.",
        "Check-in for your appointment on {when} opens at {at}.": "يبدأ تسجيل الوصول لموعدك {when} الساعة {at}.",
    },
}


def page_text(english: str, language: str, *, when: str = "", local_at: datetime | None = None) -> str:
    """`english` in `language`, with the appointment's `when` or a dose time `local_at` filled in."""
    from chalicelib.render.templates import clock_text, the_hour

    at = clock_text(local_at, language) if local_at is not None else ""
    hour = the_hour(local_at, language) if local_at is not None else ""
    return _WORDS.get(language, {}).get(english, english).format(when=when, at=at, the_hour=hour)


def translations(language: str) -> dict[str, str]:
    """Each English text and its translation into `language` (a test checks they name the same values)."""
    return dict(_WORDS.get(language, {}))
