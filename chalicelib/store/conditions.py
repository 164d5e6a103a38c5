"""The one test of whether a DynamoDB write failed its condition, for a single write and for a transaction
(where DynamoDB reports it per item, in the cancellation reasons). Repositories turn it into a domain error."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBException, TransactWriteError


def condition_failed(error: PynamoDBException) -> bool:
    if isinstance(error, TransactWriteError):
        reasons = error.cancellation_reasons or []
        return any(reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons)
    return error.cause_response_code == "ConditionalCheckFailedException"
