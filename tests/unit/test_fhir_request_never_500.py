"""Any value at any path of a real FHIR MedicationRequest is either read or refused by path (InvalidRequest,
a 400), never an unexpected exception (a 500): each fixture with one element replaced by arbitrary JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.errors import InvalidRequest
from chalicelib.plan.event_timing import DEFAULT_WHEN_TIMES
from chalicelib.regimens.request import parse_new_regimen
from chalicelib.regimens.timing import dose_times, in_zone

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "fhir").glob("medicationrequest*.json"))
RESOURCES = [json.loads(path.read_bytes()) for path in FIXTURES]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["", "2015", "2015-02-31", "0001-01-01T00:00:00+05:00", "Q4H", "mon", "min", "#med0310"])
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replaced(resource: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


@given(st.data())
def test_one_element_replaced_by_any_json_is_read_or_refused_by_path(data: st.DataObject) -> None:
    resource = data.draw(st.sampled_from(RESOURCES))
    path = data.draw(st.sampled_from(paths(resource)))
    body = replaced(resource, path, data.draw(json_values))
    body["patient"] = {"name": "Pat Example", "phone": "+14155550140"}
    try:
        request = parse_new_regimen(json.dumps(body).encode(), DEFAULT_WHEN_TIMES)
    except InvalidRequest as refused:
        assert refused.problems and all(p.field for p in refused.problems)
        return
    for timing in request.instructions:  # and what was read expands in a zone without error
        local = in_zone(timing, "America/New_York")
        if local.bounds.start is not None:
            dose_times(local, "America/New_York", local.bounds.start.astimezone(ZoneInfo("UTC")), limit=3)
