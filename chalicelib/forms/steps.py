"""How a form is asked on a phone: in steps. Each top-level group is one step; top-level questions and texts
between groups are gathered into a step of their own, so a form without groups is one page. Pure."""

from __future__ import annotations

from chalicelib.forms.questionnaire import QUESTION_TYPES, Item, Questionnaire


def steps(form: Questionnaire) -> list[tuple[Item, ...]]:
    found: list[tuple[Item, ...]] = []
    loose: list[Item] = []
    for item in form.items:
        if item.type == "group":
            if loose:
                found.append(tuple(loose))
                loose = []
            found.append((item,))
        else:
            loose.append(item)
    if loose:
        found.append(tuple(loose))
    return found


def questions_of(step: tuple[Item, ...]) -> list[Item]:
    """The step's questions in the order asked (nested groups flattened, texts left out)."""
    found: list[Item] = []

    def walk(items: tuple[Item, ...]) -> None:
        for item in items:
            if item.type in QUESTION_TYPES:
                found.append(item)
            walk(item.items)

    walk(step)
    return found
