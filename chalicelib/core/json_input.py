"""JSON from outside (request bodies, signed webhooks, inbound messages) read within bounds: at most
`MAX_DEPTH` levels of nesting, and no text DynamoDB or a message could not carry (a lone UTF-16 surrogate such as
"\\ud800", which JSON allows but UTF-8 cannot encode, or a NUL character), and no NaN or Infinity.

Every such problem is an `InvalidRequest` naming where it is (`patient.name`, `items.2`), so it is a 400 before
anything is stored rather than a 500 halfway through a write. Nothing CareCue accepts nests deeper than a few
levels (a FHIR MedicationRequest's deepest element CareCue reads is about eight down); 64 leaves room for the
parts of real resources it keeps and ignores.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core.errors import FieldProblem, InvalidRequest

MAX_DEPTH = 64


def load_json(raw: bytes | str) -> Any:
    """The JSON value of `raw`, or `InvalidRequest` naming the first place it is out of bounds."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as e:  # deeper than the parser's own stack allows: far past MAX_DEPTH
        raise InvalidRequest.single("body", f"nests deeper than {MAX_DEPTH} levels") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidRequest.single("body", f"is not valid JSON ({type(e).__name__})") from e
    problem = _first_problem(value)
    if problem is not None:
        raise InvalidRequest([problem])
    return value


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (Python's parser takes them); no number CareCue reads can be either."""
    raise ValueError(f"{name} is not a JSON number")


def _first_problem(value: Any) -> FieldProblem | None:
    """Walks the value without recursion (its depth is what is being checked)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return FieldProblem(path or "body", f"nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            text_problem = _text_problem(item)
            if text_problem:
                return FieldProblem(path or "body", text_problem)
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                key_problem = _text_problem(key)
                if key_problem:
                    return FieldProblem(path or "body", f"has a field name that {key_problem}")
                stack.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}.{i}" if path else str(i), depth + 1) for i, child in enumerate(item))
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate (not valid Unicode text)"
    return None
