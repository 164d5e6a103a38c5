"""The words of the pre-visit form page (`/f/{token}`) in Spanish and Arabic, and the problems of an answer as a
patient reads them: pure. The questions are the clinic's own, shown as its Questionnaire words them; these are
the page's own words around them. Each English text is the key to its translations."""

from __future__ import annotations

import re

_WORDS: dict[str, dict[str, str]] = {
    "es": {
        "Before your visit": "Antes de su cita",
        "For your appointment on {when}.": "Para su cita del {when}.",
        "Step {n} of {total}": "Paso {n} de {total}",
        "required": "obligatoria",
        "Yes": "Sí",
        "No": "No",
        "Save and continue": "Guardar y seguir",
        "Back": "Atrás",
        "Send the form": "Enviar el formulario",
        "Your answers are saved each time you press a button: you can leave and come back to this link.": "Sus "
        "respuestas se guardan cada vez que pulsa un botón: puede salir y volver a este enlace.",
        "Please check the questions marked below.": "Revise las preguntas marcadas abajo.",
        "More questions appeared below: please answer them too.": "Han aparecido más preguntas abajo: "
        "respóndalas también.",
        "Thank you. Your form has been sent to the clinic.": "Gracias. Su formulario se ha enviado a la clínica.",
        "There is no form to fill in for this appointment.": "No hay ningún formulario para esta cita.",
        "This form can no longer be filled in here. Please call the clinic.": "Este formulario ya no se puede "
        "rellenar aquí. Llame a la clínica.",
        "Error": "Error",
        "This question is required.": "Esta pregunta es obligatoria.",
        "Choose one answer.": "Elija una sola respuesta.",
        "Choose yes or no.": "Elija sí o no.",
        "Enter a whole number.": "Escriba un número entero.",
        "Enter a number.": "Escriba un número.",
        "Enter a date (YYYY-MM-DD).": "Escriba una fecha (AAAA-MM-DD).",
        "Choose one of the answers offered.": "Elija una de las respuestas ofrecidas.",
        "Use at most {n} characters.": "Use como máximo {n} caracteres.",
    },
    "ar": {
        "Before your visit": "قبل موعدك",
        "For your appointment on {when}.": "لموعدك {when}.",
        "Step {n} of {total}": "الخطوة {n} من {total}",
        "required": "إجباري",
        "Yes": "نعم",
        "No": "لا",
        "Save and continue": "حفظ ومتابعة",
        "Back": "رجوع",
        "Send the form": "إرسال النموذج",
        "Your answers are saved each time you press a button: you can leave and come back to this link.": "تحفظ "
        "إجاباتك في كل مرة تضغط فيها زرا: يمكنك المغادرة والعودة إلى هذا الرابط.",
        "Please check the questions marked below.": "يرجى مراجعة الأسئلة المشار إليها أدناه.",
        "More questions appeared below: please answer them too.": "ظهرت أسئلة أخرى أدناه: يرجى الإجابة عنها أيضا.",
        "Thank you. Your form has been sent to the clinic.": "شكرا. تم إرسال النموذج إلى العيادة.",
        "There is no form to fill in for this appointment.": "لا يوجد نموذج لهذا الموعد.",
        "This form can no longer be filled in here. Please call the clinic.": "لم يعد بالإمكان ملء هذا النموذج "
        "هنا. يرجى الاتصال بالعيادة.",
        "Error": "خطأ",
        "This question is required.": "هذا السؤال إجباري.",
        "Choose one answer.": "اختر إجابة واحدة.",
        "Choose yes or no.": "اختر نعم أو لا.",
        "Enter a whole number.": "أدخل عددا صحيحا.",
        "Enter a number.": "أدخل رقما.",
        "Enter a date (YYYY-MM-DD).": "أدخل تاريخا (YYYY-MM-DD).",
        "Choose one of the answers offered.": "اختر إحدى الإجابات المعروضة.",
        "Use at most {n} characters.": "استخدم {n} حرفا على الأكثر.",
    },
}

# The API's problem texts (chalicelib.forms.answers) as the page says them to a patient.
_PROBLEMS = {
    "is required": "This question is required.",
    "takes one answer": "Choose one answer.",
    "must be yes or no": "Choose yes or no.",
    "must be a whole number": "Enter a whole number.",
    "must be a number": "Enter a number.",
    "must be a date as YYYY-MM-DD": "Enter a date (YYYY-MM-DD).",
    "must be a date from 1900 to 2200": "Enter a date (YYYY-MM-DD).",
    "must be one of the choices offered": "Choose one of the answers offered.",
}
_AT_MOST = re.compile(r"^must be at most (\d+) characters$")


def form_text(english: str, language: str, **values: object) -> str:
    return _WORDS.get(language, {}).get(english, english).format(**values)


def problem_text(problem: str, language: str) -> str:
    """An answer's problem (as the API names it) in the patient's words and language."""
    if found := _AT_MOST.match(problem):
        return form_text("Use at most {n} characters.", language, n=found[1])
    return form_text(_PROBLEMS.get(problem, "Please check the questions marked below."), language)


def translations(language: str) -> dict[str, str]:
    """Each English text and its translation into `language` (a test checks they name the same values)."""
    return dict(_WORDS.get(language, {}))
