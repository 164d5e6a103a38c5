"""The trimmed botocore models the functions' SSM and DynamoDB clients are made from (`chalicelib/aws_models/`,
written by `infra/aws/service_models.py`): in step with the installed botocore, and holding every SSM and SNS operation
chalicelib's function code calls. (The DynamoDB operations are PynamoDB's; a first fire, booking and authorizer
call go through the trimmed model in `tests/bench/test_cold_start_loads.py`, and every test of a route or a
fire goes through PynamoDB with the same operation names.)"""

from __future__ import annotations

import re

import pytest

from infra.aws.service_models import MODELS, OPERATIONS, rendered

CHALICELIB = MODELS.parent
# Powertools' SSMProvider methods and the SSM operations they send.
PROVIDER_CALLS = {"get": "GetParameter", "get_multiple": "GetParametersByPath"}


@pytest.mark.parametrize("service", sorted(OPERATIONS))
def test_each_trimmed_model_is_the_installed_botocores_less_what_no_function_calls(service: str) -> None:
    path, text = rendered(service)

    assert path.read_text(encoding="utf-8") == text + "\n", "run python -m infra.aws.service_models"
    assert [p.relative_to(MODELS).parts[0] for p in MODELS.glob("*/*/service-2.json")].count(service) == 1


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def test_every_ssm_and_sns_operation_the_functions_call_is_in_the_trimmed_model() -> None:
    called: dict[str, set[str]] = {"ssm": set(), "sns": set()}
    for path in CHALICELIB.rglob("*.py"):
        if "admin" in path.relative_to(CHALICELIB).parts:
            continue  # the command line makes its own clients, from botocore's whole models
        source = path.read_text(encoding="utf-8")
        for service, operations in called.items():
            operations |= {_camel(name) for name in re.findall(rf"\b_?{service}\.([a-z_]+)\(", source)}
        if "SSMProvider" in source:
            called["ssm"] |= {PROVIDER_CALLS[name] for name in re.findall(r"_provider\.(get|get_multiple)\(", source)}

    assert {"GetParameter", "GetParametersByPath", "PutParameter", "DeleteParameter"} <= called["ssm"]  # the scan works
    assert called["sns"] == {"Publish"}
    assert called["ssm"] <= set(OPERATIONS["ssm"])
    assert called["sns"] <= set(OPERATIONS["sns"])
