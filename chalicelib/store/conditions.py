"""The one test of whether a DynamoDB write failed its condition, for a single write and for a transaction
(where DynamoDB reports it per item, in the cancellation reasons), and which of a transaction's items did.
Repositories turn it into a domain error."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBException, TransactWriteError


def condition_failed(error: PynamoDBException) -> bool:
    if isinstance(error, TransactWriteError):
        reasons = error.cancellation_reasons or []
        return any(reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons)
    return error.cause_response_code == "ConditionalCheckFailedException"


def failed_items(error: TransactWriteError) -> set[int]:
    """The positions, in the order they were written, of a transaction's items that failed their condition or
    met another transaction on the same item (DynamoDB's `TransactionConflict`: retrying may succeed)."""
    reasons = error.cancellation_reasons or []
    return {
        index
        for index, reason in enumerate(reasons)
        if reason is not None and reason.code in ("ConditionalCheckFailed", "TransactionConflict")
    }
