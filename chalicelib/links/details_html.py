"""The patient's details page's HTML (pure): the details form and, while a code is waiting, the code form, as
plain HTML forms that post back to their own link, so the page works without JavaScript.

The pre-visit form page's look (`chalicelib.links.form_html`: its stylesheet and document), for the same
reasons: a phone first, one column, 18 px text, every control and button at least 48 px tall, WCAG AA colours,
`lang` the patient's language and `dir="rtl"` for Arabic. Every input has its `<label for>` (the language and
the channel are fieldsets whose legend is the question, each option its own label); its hint and its problem
are tied to it by `aria-describedby`; problems are listed at the top with a link to each. The phone and email
inputs are text inputs with `inputmode` (a phone's keyboard) and `autocomplete`, and the code input asks for
`one-time-code`, which phones fill from the SMS. The current phone and email are shown masked: the link is a
bearer link, and a forwarded one should not hand out the patient's contacts.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from msgspec import Struct, field

from chalicelib.links.details_words import details_text
from chalicelib.links.form_html import form_document

LANGUAGE_NAMES = (("en", "English"), ("es", "Español"), ("ar", "العربية"))
INTRO = "Keep your details up to date so that the clinic's messages reach you."
CHANNEL_NAMES = {"sms": "Text message (SMS)", "email": "Email", "whatsapp": "WhatsApp", "messenger": "Messenger"}


class PendingCode(Struct, frozen=True):
    field: str  # phone | email
    where: str  # the new address, masked
    usable: bool = True  # False once expired or out of tries: only a new code helps


class DetailsView(Struct, frozen=True):
    clinic: str
    language: str
    phone_now: str  # masked, or "none" in the patient's words
    email_now: str
    patient_language: str
    channel: str | None
    channels: Sequence[str]  # the ones offered: the patient can receive on each
    timezone_now: str  # the patient's zone, or the clinic's in words
    timezone: str  # the input's value
    given: Mapping[str, str] = field(default_factory=dict)  # what was posted, shown again with its problems
    problems: Mapping[str, str] = field(default_factory=dict)  # input name → the problem, in the patient's words
    pending: Sequence[PendingCode] = ()
    note: str | None = None


def details_page(view: DetailsView) -> str:
    words = _words(view.language)
    summary = ""
    if view.problems:
        labels = {
            "phone": words("New mobile phone number"),
            "email": words("New email address"),
            "language": words("Language of messages"),
            "preferred_channel": words("How should the clinic reach you?"),
            "timezone": words("Time zone"),
            "code_phone": words("Code sent to your new phone"),
            "code_email": words("Code sent to your new email"),
        }
        links = "".join(
            f'<li><a href="#d-{name}">{html.escape(labels.get(name, name))}: {html.escape(problem)}</a></li>'
            for name, problem in view.problems.items()
        )
        summary = (
            f'<div class="summary" role="alert"><p>{html.escape(words("Please check the details marked below."))}'
            f"</p><ul>{links}</ul></div>"
        )
    note = f'<p class="note" role="status">{html.escape(view.note)}</p>' if view.note else ""
    codes = _code_form(view, words) if view.pending else ""
    details = (
        '<form method="post" novalidate>'
        + _text_input(view, words, "phone", "New mobile phone number", "tel", "tel", view.phone_now)
        + _text_input(view, words, "email", "New email address", "email", "email", view.email_now)
        + _choices(view, words, "language", "Language of messages", LANGUAGE_NAMES, view.patient_language)
        + _choices(
            view,
            words,
            "preferred_channel",
            "How should the clinic reach you?",
            [(c, words(CHANNEL_NAMES.get(c, c))) for c in view.channels],
            view.channel,
        )
        + _timezone_input(view, words)
        + f'<button type="submit" name="_action" value="save">{html.escape(words("Save my details"))}</button>'
        "</form>"
    )
    proof = words("A new phone number or email is used only after you enter the code we send to it.")
    content = (
        f"<p><bdi>{html.escape(view.clinic)}</bdi>. "
        f"{html.escape(words(INTRO))}</p>{summary}{note}{codes}{details}<p>{html.escape(proof)}</p>"
    )
    return form_document(words("Your details"), content, view.language)


def _code_form(view: DetailsView, words: _WordsOf) -> str:
    inputs = ""
    for pending in (p for p in view.pending if p.usable):
        sent = words(
            f"We sent a 6-digit code to your new {pending.field} {{where}}. It works for 10 minutes.",
            where=pending.where,
        )
        name = f"code_{pending.field}"
        label = words(f"Code sent to your new {pending.field}")
        problem = view.problems.get(name)
        error = _error(name, problem, words)
        described = f"h-{name}" + (f" e-{name}" if problem else "")
        invalid = ' aria-invalid="true"' if problem else ""
        inputs += (
            f'<div class="q"><label for="d-{name}">{html.escape(label)}</label>'
            f'<p id="h-{name}">{html.escape(sent)}</p>{error}'
            f'<input type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="7" id="d-{name}" '
            f'name="{name}" aria-describedby="{described}"{invalid} value=""></div>'
        )
    confirm = (
        f'<button type="submit" name="_action" value="verify">{html.escape(words("Confirm"))}</button>'
        if inputs
        else ""
    )
    return (
        f'<h2>{html.escape(words("Enter your code"))}</h2><form method="post" novalidate>{inputs}{confirm}'
        f'<button type="submit" name="_action" value="resend" class="back">{html.escape(words("Send a new code"))}'
        "</button></form>"
    )


class _WordsOf:
    def __init__(self, language: str) -> None:
        self._language = language

    def __call__(self, english: str, **values: object) -> str:
        return details_text(english, self._language, **values)


def _words(language: str) -> _WordsOf:
    return _WordsOf(language)


def _error(name: str, problem: str | None, words: _WordsOf) -> str:
    if not problem:
        return ""
    return f'<p class="err" id="e-{name}">{html.escape(words("Error"))}: {html.escape(problem)}</p>'


def _text_input(
    view: DetailsView, words: _WordsOf, name: str, label: str, inputmode: str, autocomplete: str, now: str
) -> str:
    problem = view.problems.get(name)
    described = f"h-{name}" + (f" e-{name}" if problem else "")
    invalid = ' aria-invalid="true"' if problem else ""
    value = html.escape(view.given.get(name, ""))
    hint = words("Now: {now}. Leave it empty to keep it.", now=now)
    return (
        f'<div class="q"><label for="d-{name}">{html.escape(words(label))}</label>'
        f'<p id="h-{name}">{html.escape(hint)}</p>{_error(name, problem, words)}'
        f'<input type="text" inputmode="{inputmode}" autocomplete="{autocomplete}" dir="ltr" id="d-{name}" '
        f'name="{name}" aria-describedby="{described}"{invalid} value="{value}"></div>'
    )


def _choices(
    view: DetailsView,
    words: _WordsOf,
    name: str,
    legend: str,
    options: Sequence[tuple[str, str]],
    current: str | None,
) -> str:
    if not options:
        return ""
    problem = view.problems.get(name)
    chosen = view.given.get(name, current or "")
    described = f' aria-describedby="e-{name}" aria-invalid="true"' if problem else ""
    boxes = ""
    for index, (value, label) in enumerate(options):
        checked = " checked" if value == chosen else ""
        own = f' lang="{value}"' if name == "language" else ""
        boxes += (
            f'<label class="opt" for="d-{name}-{index}"><input type="radio" id="d-{name}-{index}" name="{name}" '
            f'value="{html.escape(value)}"{checked}><span{own}>{html.escape(label)}</span></label>'
        )
    return (
        f'<div class="q"><fieldset id="d-{name}"{described}><legend>{html.escape(words(legend))}</legend>'
        f"{_error(name, problem, words)}{boxes}</fieldset></div>"
    )


def _timezone_input(view: DetailsView, words: _WordsOf) -> str:
    name = "timezone"
    problem = view.problems.get(name)
    described = f"h-{name}" + (f" e-{name}" if problem else "")
    invalid = ' aria-invalid="true"' if problem else ""
    value = html.escape(view.given.get(name, view.timezone))
    hint = words("Such as America/New_York. Now: {now}.", now=view.timezone_now)
    return (
        f'<div class="q"><label for="d-{name}">{html.escape(words("Time zone"))}</label>'
        f'<p id="h-{name}">{html.escape(hint)}</p>{_error(name, problem, words)}'
        f'<input type="text" autocomplete="off" dir="ltr" id="d-{name}" name="{name}" '
        f'aria-describedby="{described}"{invalid} value="{value}"></div>'
    )
