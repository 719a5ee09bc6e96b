"""Shared plumbing of the control-table adapters: lazy client, error mapping, item helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from activitylog.dal.clients import client
from activitylog.models.errors import StorageUnavailableError

_THROTTLING = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
T = TypeVar("T")


def unavailable(err: ClientError) -> Exception:
    """Throttling after the SDK's own retries is a retryable condition, anything else a bug."""
    if err.response.get("Error", {}).get("Code") in _THROTTLING:
        return StorageUnavailableError("the data store is busy, retry later")
    return err


def conditional_failed(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


def tenant_pk(tenant: str) -> str:
    return f"TENANT#{tenant}"


class ControlBase:
    def __init__(self, table_name: str, dynamodb: Any = None) -> None:
        self._table = table_name
        self._client = dynamodb

    @property
    def _ddb(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    def _call(self, operation: Callable[..., T], **kwargs: Any) -> T:
        try:
            return operation(TableName=self._table, **kwargs)
        except ClientError as err:
            raise unavailable(err) from err

    def _get(self, pk: str, sk: str, *, consistent: bool = False, **kwargs: Any) -> dict[str, Any] | None:
        answer = self._call(
            self._ddb.get_item, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=consistent, **kwargs
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item
