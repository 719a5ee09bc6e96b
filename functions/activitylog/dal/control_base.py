"""Shared plumbing of the control-table adapters: lazy client, error translation, item helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.clients import ClientOf

T = TypeVar("T")
ABSENT = "attribute_not_exists(pk)"  # a put that creates, never replaces


def tenant_pk(tenant: str) -> str:
    return f"TENANT#{tenant}"


class ControlBase:
    def __init__(self, table_name: str, dynamodb: Any = None) -> None:
        self._table = table_name
        self._client = dynamodb

    _ddb = ClientOf("dynamodb")

    def _call(self, operation: Callable[..., T], **kwargs: Any) -> T:
        try:
            return operation(TableName=self._table, **kwargs)
        except ClientError as err:
            raise errors.unavailable(err) from err

    def _conditional(self, operation: Callable[..., T], **kwargs: Any) -> T | None:
        """An operation with a ConditionExpression: its answer, or None when the condition did not hold."""
        try:
            return operation(TableName=self._table, **kwargs)
        except ClientError as err:
            if errors.condition_failed(err):
                return None
            raise errors.unavailable(err) from err

    def _get(self, pk: str, sk: str, *, consistent: bool = False, **kwargs: Any) -> dict[str, Any] | None:
        answer = self._call(
            self._ddb.get_item, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=consistent, **kwargs
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item
