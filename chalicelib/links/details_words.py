"""The words of the patient's details page (`/u/{token}`) and of the code message, in Spanish and Arabic: pure.
Each English text is the key to its translations, so a text with none stays English."""

from __future__ import annotations

_WORDS: dict[str, dict[str, str]] = {
    "es": {
        "Your details": "Sus datos",
        "Keep your details up to date so that the clinic's messages reach you.": "Mantenga sus datos al día para "
        "que le lleguen los mensajes de la clínica.",
        "New mobile phone number": "Nuevo número de móvil",
        "New email address": "Nueva dirección de correo",
        "Now: {now}. Leave it empty to keep it.": "Ahora: {now}. Déjelo vacío para mantenerlo.",
        "none": "ninguno",
        "ending in {digits}": "terminado en {digits}",
        "Language of messages": "Idioma de los mensajes",
        "How should the clinic reach you?": "¿Cómo prefiere que le contacte la clínica?",
        "Text message (SMS)": "Mensaje de texto (SMS)",
        "Email": "Correo electrónico",
        "Time zone": "Zona horaria",
        "Such as America/New_York. Now: {now}.": "Por ejemplo America/New_York. Ahora: {now}.",
        "the clinic's, {zone}": "la de la clínica, {zone}",
        "Save my details": "Guardar mis datos",
        "A new phone number or email is used only after you enter the code we send to it.": "Un número o correo "
        "nuevo solo se usa cuando escriba el código que le enviamos a él.",
        "Please check the details marked below.": "Revise los datos marcados abajo.",
        "Error": "Error",
        "Enter the phone number with its country code, such as +1 415 555 0100.": "Escriba el número con su "
        "prefijo de país, por ejemplo +1 415 555 0100.",
        "Enter an email address such as name@example.com.": "Escriba un correo como nombre@example.com.",
        "Choose one of the languages offered.": "Elija uno de los idiomas ofrecidos.",
        "Choose one of the ways offered.": "Elija una de las opciones ofrecidas.",
        "Enter a time zone such as America/New_York.": "Escriba una zona horaria como America/New_York.",
        "Your details are saved.": "Sus datos se han guardado.",
        "Enter your code": "Escriba su código",
        "We sent a 6-digit code to your new phone {where}. It works for 10 minutes.": "Hemos enviado un código "
        "de 6 cifras a su nuevo teléfono {where}. Sirve durante 10 minutos.",
        "We sent a 6-digit code to your new email {where}. It works for 10 minutes.": "Hemos enviado un código "
        "de 6 cifras a su nuevo correo {where}. Sirve durante 10 minutos.",
        "Code sent to your new phone": "Código enviado a su nuevo teléfono",
        "Code sent to your new email": "Código enviado a su nuevo correo",
        "Confirm": "Confirmar",
        "Send a new code": "Enviar un código nuevo",
        "Enter the 6 digits of the code.": "Escriba las 6 cifras del código.",
        "That code is not right. Tries left: {n}.": "Ese código no es correcto. Intentos restantes: {n}.",
        "Too many tries: this code no longer works. Ask for a new code.": "Demasiados intentos: este código ya no "
        "sirve. Pida un código nuevo.",
        "This code has expired (a code works for 10 minutes). Ask for a new code.": "Este código ha caducado (un "
        "código sirve 10 minutos). Pida un código nuevo.",
        "You have asked for 3 codes in the last hour. You can ask again at {at}.": "Ha pedido 3 códigos en la "
        "última hora. Puede volver a pedirlo a {the_hour}.",
        "This number asked for no text messages from the clinic. Reply START from it, or call the clinic.": "Este "
        "número pidió no recibir mensajes de la clínica. Responda START desde él o llame a la clínica.",
        "We could not send a code to it. Please check it, or call the clinic.": "No hemos podido enviarle un "
        "código. Revíselo o llame a la clínica.",
        "We cannot send a code just now. Please try again later, or call the clinic.": "Ahora no podemos enviar "
        "el código. Inténtelo más tarde o llame a la clínica.",
        "Saved: the clinic's messages will now go to your new phone.": "Guardado: los mensajes de la clínica irán "
        "ahora a su nuevo teléfono.",
        "Saved: the clinic's messages will now go to your new email.": "Guardado: los mensajes de la clínica irán "
        "ahora a su nuevo correo.",
        "There is no code waiting: change the number or email again to get one.": "No hay ningún código "
        "pendiente: vuelva a cambiar el número o el correo para recibir uno.",
        "Update my details": "Actualizar mis datos",
        "{code} is your code to confirm your new phone number for {clinic}. It works for 10 minutes. If you did "
        "not ask for it, ignore this message.": "{code} es su código para confirmar su nuevo número en {clinic}. "
        "Sirve 10 minutos. Si no lo pidió, ignore este mensaje.",
        "{code} is your code to confirm your new email address for {clinic}. It works for 10 minutes. If you did "
        "not ask for it, ignore this message.": "{code} es su código para confirmar su nuevo correo en {clinic}. "
        "Sirve 10 minutos. Si no lo pidió, ignore este mensaje.",
        "Your code for {clinic}": "Su código de {clinic}",
    },
    "ar": {
        "Your details": "بياناتك",
        "Keep your details up to date so that the clinic's messages reach you.": "حدّث بياناتك لتصلك رسائل العيادة.",
        "New mobile phone number": "رقم الجوال الجديد",
        "New email address": "البريد الإلكتروني الجديد",
        "Now: {now}. Leave it empty to keep it.": "الحالي: {now}. اتركه فارغا للإبقاء عليه.",
        "none": "لا يوجد",
        "ending in {digits}": "المنتهي بـ {digits}",
        "Language of messages": "لغة الرسائل",
        "How should the clinic reach you?": "كيف تفضل أن تتواصل معك العيادة؟",
        "Text message (SMS)": "رسالة نصية (SMS)",
        "Email": "البريد الإلكتروني",
        "Time zone": "المنطقة الزمنية",
        "Such as America/New_York. Now: {now}.": "مثل America/New_York. الحالية: {now}.",
        "the clinic's, {zone}": "منطقة العيادة، {zone}",
        "Save my details": "حفظ بياناتي",
        "A new phone number or email is used only after you enter the code we send to it.": "لا يستخدم الرقم أو "
        "البريد الجديد إلا بعد إدخال الرمز الذي نرسله إليه.",
        "Please check the details marked below.": "يرجى مراجعة البيانات المشار إليها أدناه.",
        "Error": "خطأ",
        "Enter the phone number with its country code, such as +1 415 555 0100.": "أدخل الرقم مع رمز الدولة، "
        "مثل +1 415 555 0100.",
        "Enter an email address such as name@example.com.": "أدخل بريدا إلكترونيا مثل name@example.com.",
        "Choose one of the languages offered.": "اختر إحدى اللغات المعروضة.",
        "Choose one of the ways offered.": "اختر إحدى الطرق المعروضة.",
        "Enter a time zone such as America/New_York.": "أدخل منطقة زمنية مثل America/New_York.",
        "Your details are saved.": "تم حفظ بياناتك.",
        "Enter your code": "أدخل الرمز",
        "We sent a 6-digit code to your new phone {where}. It works for 10 minutes.": "أرسلنا رمزا من 6 أرقام "
        "إلى رقمك الجديد {where}. يعمل لمدة 10 دقائق.",
        "We sent a 6-digit code to your new email {where}. It works for 10 minutes.": "أرسلنا رمزا من 6 أرقام "
        "إلى بريدك الجديد {where}. يعمل لمدة 10 دقائق.",
        "Code sent to your new phone": "الرمز المرسل إلى رقمك الجديد",
        "Code sent to your new email": "الرمز المرسل إلى بريدك الجديد",
        "Confirm": "تأكيد",
        "Send a new code": "إرسال رمز جديد",
        "Enter the 6 digits of the code.": "أدخل أرقام الرمز الستة.",
        "That code is not right. Tries left: {n}.": "الرمز غير صحيح. المحاولات المتبقية: {n}.",
        "Too many tries: this code no longer works. Ask for a new code.": "محاولات كثيرة: لم يعد هذا الرمز يعمل. "
        "اطلب رمزا جديدا.",
        "This code has expired (a code works for 10 minutes). Ask for a new code.": "انتهت صلاحية الرمز (يعمل "
        "الرمز 10 دقائق). اطلب رمزا جديدا.",
        "You have asked for 3 codes in the last hour. You can ask again at {at}.": "طلبت 3 رموز في الساعة "
        "الأخيرة. يمكنك الطلب مجددا الساعة {at}.",
        "This number asked for no text messages from the clinic. Reply START from it, or call the clinic.": "طلب "
        "هذا الرقم عدم تلقي رسائل من العيادة. أرسل START منه أو اتصل بالعيادة.",
        "We could not send a code to it. Please check it, or call the clinic.": "تعذر إرسال الرمز إليه. يرجى "
        "التحقق منه أو الاتصال بالعيادة.",
        "We cannot send a code just now. Please try again later, or call the clinic.": "لا يمكننا إرسال الرمز "
        "الآن. حاول لاحقا أو اتصل بالعيادة.",
        "Saved: the clinic's messages will now go to your new phone.": "تم الحفظ: ستصل رسائل العيادة الآن إلى "
        "رقمك الجديد.",
        "Saved: the clinic's messages will now go to your new email.": "تم الحفظ: ستصل رسائل العيادة الآن إلى "
        "بريدك الجديد.",
        "There is no code waiting: change the number or email again to get one.": "لا يوجد رمز بانتظارك: غيّر "
        "الرقم أو البريد مجددا لتحصل على رمز.",
        "Update my details": "تحديث بياناتي",
        "{code} is your code to confirm your new phone number for {clinic}. It works for 10 minutes. If you did "
        "not ask for it, ignore this message.": "{code} هو رمزك لتأكيد رقمك الجديد لدى {clinic}. يعمل 10 دقائق. "
        "إن لم تطلبه فتجاهل هذه الرسالة.",
        "{code} is your code to confirm your new email address for {clinic}. It works for 10 minutes. If you did "
        "not ask for it, ignore this message.": "{code} هو رمزك لتأكيد بريدك الجديد لدى {clinic}. يعمل 10 دقائق. "
        "إن لم تطلبه فتجاهل هذه الرسالة.",
        "Your code for {clinic}": "رمزك لدى {clinic}",
    },
}


def details_text(english: str, language: str, **values: object) -> str:
    return _WORDS.get(language, {}).get(english, english).format(**values)


def translations(language: str) -> dict[str, str]:
    """Each English text and its translation into `language` (a test checks they name the same values)."""
    return dict(_WORDS.get(language, {}))
