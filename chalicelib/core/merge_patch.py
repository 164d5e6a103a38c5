"""JSON Merge Patch (RFC 7396): one pure function, `merge_patch`, that `PATCH /v1/clinic` applies to the
clinic's settings before they go the way of `PUT /v1/clinic` (`chalicelib.clinics.settings_service`)."""

from __future__ import annotations

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """The result of applying `patch` to `target`, per RFC 7396 section 2 (MergePatch): a patch that is an object
    merges member by member, recursively (a `null` member removes the target's member, any other replaces or merges
    into it); a patch that is not an object (an array too) replaces the target whole. Neither argument is changed:
    the result shares no mutable part with them. Nulls already in the target stay (RFC 7396 Appendix A, `{"e":null}`
    + `{"a":1}`), so a member can never be set to null by a merge patch, only removed."""
    if not isinstance(patch, dict):
        return _copy(patch)
    result = {key: _copy(value) for key, value in target.items()} if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _copy(value: Any) -> Any:
    # A decoded JSON value: objects and arrays are copied, so a caller may edit the result freely.
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
