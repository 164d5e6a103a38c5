"""The trimmed botocore service models the Lambda functions make their SSM and DynamoDB clients from.

A boto3 client is built from its service's whole model: botocore parses the JSON and makes a method per
operation, so a client costs in proportion to the API, not to what is called. SSM's model has 154 operations
(144 KB gzipped) and the fire calls one, `GetParameter`, for the link-signing key: making that client took ~18 ms
of a cold fire's CPU, ~5 ms from a model of just the operations below (measured with the collector held, as on
Lambda; DynamoDB's first client ~49 → ~42 ms). So `chalicelib/aws_models/` holds, per service, the model of the
operations CareCue's functions call at run time, without its documentation strings, at botocore's own API
version; `chalicelib.composition` puts that folder first on its botocore session's search path when it makes the
session itself (on Lambda). Everything else (endpoint rules, paginators) is still botocore's own.

`python -m infra.aws.service_models` writes the folder from the installed botocore; `tests/unit/test_service_models.py`
fails when it is out of step with that botocore or when a function calls an operation it lacks. Sessions given
to the composition (the tests', the local stack's) keep botocore's whole models: they also create tables and
read what the tests check. Adding a call to another SSM or DynamoDB operation in `chalicelib` means adding it
here and running the module.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

MODELS = Path(__file__).resolve().parents[2] / "chalicelib" / "aws_models"

# The operations chalicelib's functions call (the admin CLI makes its own clients from botocore's whole models).
OPERATIONS: dict[str, tuple[str, ...]] = {
    # Powertools' SSMProvider: get (GetParameter: the link key, webhook credentials), get_multiple
    # (GetParametersByPath: a clinic's Messenger credentials); chalicelib/clinics/secrets.py puts and deletes.
    "ssm": ("DeleteParameter", "GetParameter", "GetParameters", "GetParametersByPath", "PutParameter"),
    # chalicelib/send/sms.py: every SMS (a fire's, a booking's confirmation); ~2.5 ms of the client's ~7.
    "sns": ("Publish",),
    # What PynamoDB's Model and TransactWrite send for chalicelib/store (tables are made by infra, not by a function).
    "dynamodb": (
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "DescribeTable",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "UpdateItem",
    ),
}

_DROPPED = ("documentation", "documentationUrl")


def _botocore_model(service: str) -> tuple[str, dict[str, Any]]:
    """(API version, whole model) as the installed botocore ships its newest version of `service`."""
    import botocore

    folder = Path(botocore.__file__).parent / "data" / service
    version = max(path.parent.name for path in folder.glob("*/service-2.json*"))
    path = next((folder / version).glob("service-2.json*"))
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return version, json.loads(raw)


def _without_docs(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_docs(item) for key, item in value.items() if key not in _DROPPED}
    if isinstance(value, list):
        return [_without_docs(item) for item in value]
    return value


def trimmed(service: str) -> tuple[str, dict[str, Any]]:
    """(API version, model) of `service` with only its OPERATIONS and the shapes they reach."""
    version, model = _botocore_model(service)
    operations = {name: model["operations"][name] for name in OPERATIONS[service]}
    pending = [
        ref["shape"]
        for operation in operations.values()
        for ref in [operation.get("input"), operation.get("output"), *operation.get("errors", [])]
        if ref
    ]
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        shape = model["shapes"][name]
        pending.extend(member["shape"] for member in shape.get("members", {}).values())
        pending.extend(shape[key]["shape"] for key in ("member", "key", "value") if key in shape)
    kept = {**model, "operations": operations, "shapes": {n: s for n, s in model["shapes"].items() if n in reached}}
    return version, _without_docs(kept)


def rendered(service: str) -> tuple[Path, str]:
    """Where the trimmed model of `service` goes and its text."""
    version, model = trimmed(service)
    return MODELS / service / version / "service-2.json", json.dumps(model, sort_keys=True, separators=(",", ":"))


def main() -> int:
    for service in OPERATIONS:
        path, text = rendered(service)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        print(f"{path.relative_to(MODELS.parent.parent)}: {len(OPERATIONS[service])} operations, {len(text):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
