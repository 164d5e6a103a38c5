"""The pre-visit form page's HTML (pure): one step of the form as a plain HTML form that posts back to its own
link, so it works without JavaScript.

Made for a phone first: one column, 18 px text, every control and button at least 48 px tall (WCAG 2.5.5's
44 px, and Android's 48 dp), radios and checkboxes inside their whole-width label. Every input has a `<label
for>` (a yes/no or choice question is a `<fieldset>` whose `<legend>` is the question, each option its own
label); a required question says "required" in words; a problem is written next to its question (tied by
`aria-describedby`) and listed at the top with a link to it. Colours meet WCAG AA (body #1a1a1a on #fff, 17:1;
buttons #fff on #1d5fa8 and back #1d5fa8 on #fff, 6.4:1; problems #a4001d on #fff, 8.1:1; borders #555 on
#fff, 7.5:1). `lang` is the patient's language, `dir="rtl"` for Arabic. The clinic's own words (its name, the
form's title, questions and options; in the patient's language where the Questionnaire carries FHIR
translations) are each isolated (`<bdi>`), so an English question on an Arabic page keeps its question mark at
its end. Questions whose `enableWhen` is not met by the answers saved are not shown.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping

from msgspec import Struct

from chalicelib.forms.questionnaire import Item, in_language
from chalicelib.links.form_words import form_text

_STYLE = (
    "*{box-sizing:border-box}"
    "body{font-family:system-ui,sans-serif;font-size:1.125rem;line-height:1.5;color:#1a1a1a;background:#fff;"
    "max-width:36rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.25rem;margin:1.25rem 0 .5rem}"
    ".q{margin:1.25rem 0}label,legend{display:block;font-weight:600;margin-bottom:.35rem}"
    "fieldset{border:0;padding:0;margin:0}"
    "input[type=text],input[type=number],input[type=date],textarea{width:100%;min-height:3rem;font-size:1.125rem;"
    "padding:.6rem;border:2px solid #555;border-radius:.4rem;color:#1a1a1a;background:#fff}"
    "textarea{min-height:6rem}"
    ".opt{display:flex;align-items:center;gap:.75rem;min-height:3rem;padding:.5rem .75rem;margin:.35rem 0;"
    "border:2px solid #555;border-radius:.4rem;font-weight:400}"
    ".opt input{width:1.5rem;height:1.5rem;margin:0;flex:none}"
    ".req{font-weight:400}.err{color:#a4001d;font-weight:600;margin:.35rem 0}"
    ".summary{border:3px solid #a4001d;padding:.75rem;border-radius:.4rem}.summary a{color:#a4001d}"
    ".note{background:#eef3f9;padding:.75rem;border-radius:.4rem}"
    "button{display:block;width:100%;min-height:3rem;font-size:1.125rem;padding:.75rem;margin:.75rem 0;"
    "border-radius:.4rem;border:2px solid #1d5fa8;background:#1d5fa8;color:#fff;font-weight:600}"
    "button.back{background:#fff;color:#1d5fa8}"
    ":focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}"
)


class StepView(Struct, frozen=True):
    title: str
    clinic: str
    intro: str  # "For your appointment on …"
    language: str
    items: tuple[Item, ...]
    number: int  # from 1
    total: int
    given: Mapping[str, list[str]]  # what the inputs show: the saved answers, or what was just posted
    problems: Mapping[str, str]  # linkId → the problem, in the patient's words
    asked: Callable[[Item], bool]  # whether a question's enableWhen is met
    note: str | None = None


def step_page(view: StepView) -> str:
    words = _words(view.language)
    summary = ""
    if view.problems:
        texts = {q.link_id: q.text_for(view.language) for q in _questions(view.items)}
        links = "".join(
            f'<li><a href="#q-{_id(link_id)}"><bdi>{html.escape(texts.get(link_id, link_id))}</bdi>: '
            f"{html.escape(problem)}</a></li>"
            for link_id, problem in view.problems.items()
        )
        summary = (
            f'<div class="summary" role="alert"><p>{html.escape(words("Please check the questions marked below."))}'
            f"</p><ul>{links}</ul></div>"
        )
    note = f'<p class="note" role="status">{html.escape(view.note)}</p>' if view.note else ""
    body = "".join(_item(item, view, words, heading=2) for item in view.items)
    last = view.number == view.total
    forward = ("complete", words("Send the form")) if last else ("next", words("Save and continue"))
    buttons = f'<button type="submit" name="_action" value="{forward[0]}">{html.escape(forward[1])}</button>'
    if view.number > 1:
        buttons += (
            f'<button type="submit" name="_action" value="back" class="back">{html.escape(words("Back"))}</button>'
        )
    saved = words("Your answers are saved each time you press a button: you can leave and come back to this link.")
    content = (
        f"<p><bdi>{html.escape(view.clinic)}</bdi>. {html.escape(view.intro)}</p>"
        f"<p>{html.escape(words('Step {n} of {total}', n=view.number, total=view.total))}</p>"
        f'{summary}{note}<form method="post" novalidate><input type="hidden" name="_step" value="{view.number - 1}">'
        f"{body}{buttons}</form><p>{html.escape(saved)}</p>"
    )
    return form_document(view.title, content, view.language)


def message_page(title: str, message: str, language: str) -> str:
    return form_document(title, f'<p class="note" role="status">{html.escape(message)}</p>', language)


def form_document(title: str, content: str, language: str) -> str:
    direction = ' dir="rtl"' if language == "ar" else ""
    return (
        f'<!doctype html><html lang="{language}"{direction}><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><main><h1 dir="auto">{html.escape(title)}</h1>{content}</main></body></html>'
    )


def _questions(items: tuple[Item, ...]) -> list[Item]:
    found: list[Item] = []
    for item in items:
        found += [item] if item.type != "group" else _questions(item.items)
    return found


def _words(language: str) -> Callable[..., str]:
    return lambda english, **values: form_text(english, language, **values)


def _id(link_id: str) -> str:
    return html.escape(link_id.replace(".", "-"))


def _item(item: Item, view: StepView, words: Callable[..., str], heading: int) -> str:
    if item.type == "group":
        text = item.text_for(view.language)
        title = f'<h{heading} dir="auto">{html.escape(text)}</h{heading}>' if text else ""
        return title + "".join(_item(child, view, words, min(heading + 1, 4)) for child in item.items)
    if item.type == "display":
        return f'<p dir="auto">{html.escape(item.text_for(view.language))}</p>'
    if not view.asked(item):
        return ""
    key = _id(item.link_id)
    name = html.escape(item.link_id)
    given = view.given.get(item.link_id, [])
    problem = view.problems.get(item.link_id)
    error = f'<p class="err" id="e-{key}">{html.escape(words("Error"))}: {html.escape(problem)}</p>' if problem else ""
    described = f' aria-describedby="e-{key}" aria-invalid="true"' if problem else ""
    required = f' <span class="req">({html.escape(words("required"))})</span>' if item.required else ""
    aria_required = ' aria-required="true"' if item.required else ""
    question = f"<bdi>{html.escape(item.text_for(view.language))}</bdi>"
    if item.type in ("boolean", "choice"):
        if item.type == "boolean":
            options = [("true", words("Yes")), ("false", words("No"))]
        else:
            options = [(o.code, in_language(o.display, o.display_in, view.language)) for o in item.options]
        kind = "checkbox" if item.repeats else "radio"
        boxes = ""
        for index, (value, label) in enumerate(options):
            checked = " checked" if value in given else ""
            boxes += (
                f'<label class="opt" for="q-{key}-{index}"><input type="{kind}" id="q-{key}-{index}" name="{name}" '
                f'value="{html.escape(value)}"{checked}><bdi>{html.escape(label)}</bdi></label>'
            )
        # The summary's link lands on the fieldset: the first option carries no id of the question itself.
        return (
            f'<div class="q"><fieldset id="q-{key}"{described}{aria_required}><legend>{question}{required}</legend>'
            f"{error}{boxes}</fieldset></div>"
        )
    value = html.escape(given[0]) if given else ""
    attributes = f'id="q-{key}" name="{name}"{described}{aria_required}'
    if item.max_length:
        attributes += f' maxlength="{item.max_length}"'
    label = f'<label for="q-{key}">{question}{required}</label>'
    if item.type == "text":
        control = f"<textarea {attributes}>{value}</textarea>"
    elif item.type == "integer":
        control = f'<input type="text" inputmode="numeric" {attributes} value="{value}">'
    elif item.type == "decimal":
        control = f'<input type="text" inputmode="decimal" {attributes} value="{value}">'
    elif item.type == "date":
        control = f'<input type="date" {attributes} value="{value}">'
    else:
        control = f'<input type="text" {attributes} value="{value}">'
    return f'<div class="q">{label}{error}{control}</div>'
