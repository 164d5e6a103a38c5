"""`merge_patch` against every example of RFC 7396 Appendix A, and what its callers rely on besides: the target
and the patch are left as they were."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.core.merge_patch import merge_patch

# RFC 7396 Appendix A, in its order: (original, patch, result).
APPENDIX_A: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "result"), APPENDIX_A, ids=[str(p) for _, p, _ in APPENDIX_A])
def test_rfc_7396_appendix_a(original: Any, patch: Any, result: Any) -> None:
    assert merge_patch(original, patch) == result


def test_an_empty_patch_changes_nothing() -> None:
    settings = {"channel_order": ["sms", "email"], "quiet_hours": None, "inbox": {"hours": "Mon-Fri"}}

    assert merge_patch(settings, {}) == settings


def test_neither_the_target_nor_the_patch_is_changed_and_the_result_shares_nothing_with_them() -> None:
    target = {"whatsapp": {"templates": {"reminder": {"en": {"name": "t", "parameters": ["day"]}}}}, "x": [1]}
    patch = {"whatsapp": {"templates": {"reminder": {"es": {"name": "u"}}}}, "y": {"z": [2]}}
    target_before, patch_before = copy.deepcopy(target), copy.deepcopy(patch)

    result = merge_patch(target, patch)
    result["whatsapp"]["templates"]["reminder"]["en"]["parameters"].append("time")
    result["x"].append(2)
    result["y"]["z"].append(3)

    assert (target, patch) == (target_before, patch_before)
    assert set(result["whatsapp"]["templates"]["reminder"]) == {"en", "es"}
