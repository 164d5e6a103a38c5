"""The `next` cursor of CareCue's list routes: DynamoDB's last evaluated key (text attributes only) as URL-safe
base64 JSON, read back only when it is one this list gave: the same key names, and the caller's own scope (its
clinic, or its thread), so a cursor cannot page through another clinic's items. Anything else is a 400 naming
`next`."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import InvalidRequest

NOT_OURS = "is not a cursor this list gave; start again without it"


def write_cursor(key: Mapping[str, Any] | None) -> str | None:
    """The cursor for a page's last key; None when the page was the last."""
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def read_cursor(cursor: str | None, keys: set[str], scope: tuple[str, str]) -> dict[str, Any] | None:
    """The page key `cursor` holds (None without one): its attributes exactly `keys`, each a text, and the
    attribute `scope[0]` equal to `scope[1]`."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        key = None
    attribute, value = scope
    if not (
        isinstance(key, dict)
        and set(key) == keys
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
        and key[attribute]["S"] == value
    ):
        raise InvalidRequest.single("next", NOT_OURS)
    return key
