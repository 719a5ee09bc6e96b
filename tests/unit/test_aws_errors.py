"""The one translation of AWS errors (dal/errors.py), seen through the adapters that use it: a busy
service is a retryable 503, a failed condition is the adapter's own answer, anything else stays a bug
(never a 409 or a "not found" that would hide it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from activitylog.dal import errors
from activitylog.dal.exports import DynamoExportStore
from activitylog.dal.usage import UsageMixin
from activitylog.models.errors import ConflictError, StorageUnavailableError
from activitylog.models.exports import Export, RunRecord
from botocore.exceptions import ClientError

NOW = datetime(2026, 12, 1, tzinfo=UTC)
EXPORT = Export(id="01JD0000000000000000000001", name="e", format="csv", compression="none",
                filters={}, recipients=[], created_at=NOW)  # fmt: skip
RUN = RunRecord(id="01JD0000000000000000000002", export_id=EXPORT.id, status="queued", created_at=NOW)


def client_error(code: str, operation: str = "PutItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)


class Refusing:
    """A DynamoDB client whose writes all fail with one error code."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.calls = 0

    def _fail(self, **_: Any) -> Any:
        self.calls += 1
        raise client_error(self.code)

    put_item = update_item = delete_item = _fail


@pytest.mark.parametrize("call", ["put_export", "put_run"])
def test_a_throttled_create_is_a_retryable_503_not_a_conflict(call: str) -> None:
    # Given a control table that throttles every write (after the SDK's own retries)
    store = DynamoExportStore("control", Refusing("ProvisionedThroughputExceededException"))
    # When an export or run is created / Then the caller is told to retry, not that it exists
    with pytest.raises(StorageUnavailableError):
        getattr(store, call)("t1", EXPORT if call == "put_export" else RUN)


@pytest.mark.parametrize("call", ["put_export", "put_run"])
def test_an_access_error_on_create_stays_an_error_not_a_conflict(call: str) -> None:
    # Given a role that may not write (a deployment defect)
    store = DynamoExportStore("control", Refusing("AccessDeniedException"))
    # Then the defect surfaces as itself (a 5xx and a log), never as "an export with this id exists"
    with pytest.raises(ClientError) as raised:
        getattr(store, call)("t1", EXPORT if call == "put_export" else RUN)
    assert errors.code(raised.value) == "AccessDeniedException"


@pytest.mark.parametrize("call", ["put_export", "put_run"])
def test_a_failed_condition_on_create_is_a_conflict(call: str) -> None:
    store = DynamoExportStore("control", Refusing("ConditionalCheckFailedException"))
    with pytest.raises(ConflictError):
        getattr(store, call)("t1", EXPORT if call == "put_export" else RUN)


def test_a_run_update_tells_a_failed_condition_from_a_throttle_and_a_defect() -> None:
    assert (
        DynamoExportStore("c", Refusing("ConditionalCheckFailedException")).update_run(
            "t1", RUN, expected={"queued"}
        )
        is False
    )
    with pytest.raises(StorageUnavailableError):
        DynamoExportStore("c", Refusing("ThrottlingException")).update_run("t1", RUN, expected={"queued"})
    with pytest.raises(ClientError):
        DynamoExportStore("c", Refusing("ValidationException")).update_run("t1", RUN, expected={"queued"})


def test_usage_reservations_answer_none_only_for_a_failed_condition() -> None:
    refused = UsageMixin("c", Refusing("ConditionalCheckFailedException")).reserve("t1", "2026-12", 1, 5)
    assert refused.total is None
    with pytest.raises(StorageUnavailableError):
        UsageMixin("c", Refusing("RequestLimitExceeded")).reserve("t1", "2026-12", 1, 5)
    with pytest.raises(ClientError):
        UsageMixin("c", Refusing("ResourceNotFoundException")).claim_warning(
            "t1", "2026-12", "80", now=1, until=61
        )


@pytest.mark.parametrize(
    ("code", "busy"),
    [("SlowDown", True), ("ThrottlingException", True), ("TooManyRequestsException", True),
     ("AccessDeniedException", False), ("ValidationException", False), ("", False)],
)  # fmt: skip
def test_unavailable_keeps_what_it_does_not_know(code: str, busy: bool) -> None:
    err = client_error(code)
    translated = errors.unavailable(err, "the file store")
    if busy:
        assert isinstance(translated, StorageUnavailableError)
        assert translated.message == "the file store is busy, retry later"
    else:
        assert translated is err
