"""The one translation of AWS errors (botocore's `ClientError`) into domain errors.

Adapters catch `ClientError` around their calls and ask this module what it means: a code that says
"busy, retry later" becomes `StorageUnavailableError` (503 with the envelope; a Step Functions task
retries it by that name), "the condition did not hold" and "no such thing" are answered by the
adapter in its own terms (a conflict, False, None, 404); anything else stays the exception it is,
because a 5xx is always a bug.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from activitylog.models.errors import StorageUnavailableError

# Throttling or a transient fault, after the SDK's own retries (standard mode, 3 attempts).
BUSY = frozenset(
    {
        "ProvisionedThroughputExceededException",  # DynamoDB
        "ThrottlingException",  # DynamoDB, Step Functions, Scheduler, Secrets Manager
        "RequestLimitExceeded",  # DynamoDB
        "SlowDown",  # S3
        "ServiceUnavailable",  # S3, Step Functions
        "RequestTimeout",  # S3
        "InternalError",  # S3
        "ServiceQuotaExceededException",  # Scheduler
        "InternalServerException",  # Scheduler
        "TooManyRequestsException",  # SES (API v2)
    }
)
CONDITION_FAILED = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})
MISSING = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchUpload", "ResourceNotFoundException"})


def code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def message(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message", ""))


def is_busy(err: ClientError) -> bool:
    return code(err) in BUSY


def condition_failed(err: ClientError) -> bool:
    return code(err) in CONDITION_FAILED


def is_missing(err: ClientError) -> bool:
    return code(err) in MISSING


def busy(what: str) -> StorageUnavailableError:
    return StorageUnavailableError(f"{what} is busy, retry later")


def unavailable(err: ClientError, what: str = "the data store") -> Exception:
    """What to raise for an error the caller has no answer of its own for."""
    return busy(what) if is_busy(err) else err
