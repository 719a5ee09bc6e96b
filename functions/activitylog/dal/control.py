"""The control table: API keys, tenant settings and the per-tenant action catalogue.

Item layout (docs/data-model.md):
  API key        pk=KEY#<sha256 of secret>  sk=KEY       gpk=TENANT#<t>#KEYS gsk=<key id>
  settings       pk=TENANT#<t>              sk=SETTINGS
  action names   pk=TENANT#<t>              sk=ACTIONS   names: string set
"""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import ClientError

from activitylog.dal.clients import client
from activitylog.models.auth import ApiKeyRecord
from activitylog.models.errors import ConflictError, StorageUnavailableError
from activitylog.models.settings import TenantSettings

_THROTTLING = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}


class KeyStore(Protocol):
    def put_api_key(self, record: ApiKeyRecord) -> None: ...
    def get_api_key(self, secret_hash: str) -> ApiKeyRecord | None: ...


class SettingsStore(Protocol):
    def get_settings(self, tenant: str) -> TenantSettings: ...


class ActionCatalogue(Protocol):
    def known_actions(self, tenant: str) -> set[str]: ...
    def add_actions(self, tenant: str, actions: set[str]) -> None: ...


def unavailable(err: ClientError) -> Exception:
    """Throttling after the SDK's own retries is a retryable condition, anything else a bug."""
    if err.response.get("Error", {}).get("Code") in _THROTTLING:
        return StorageUnavailableError("the data store is busy, retry later")
    return err


def tenant_pk(tenant: str) -> str:
    return f"TENANT#{tenant}"


class ControlTable:
    def __init__(self, table_name: str, dynamodb: Any = None) -> None:
        self._table = table_name
        self._client = dynamodb

    @property
    def _ddb(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    # --- API keys -----------------------------------------------------------------------------
    def put_api_key(self, record: ApiKeyRecord) -> None:
        item: dict[str, Any] = {
            "pk": {"S": f"KEY#{record.secret_hash}"},
            "sk": {"S": "KEY"},
            "gpk": {"S": f"TENANT#{record.tenant}#KEYS"},
            "gsk": {"S": record.id},
            "doc": {"S": record.model_dump_json()},
        }
        try:
            self._ddb.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConflictError("an API key with this secret already exists") from None
            raise unavailable(err) from err

    def get_api_key(self, secret_hash: str) -> ApiKeyRecord | None:
        try:
            answer = self._ddb.get_item(
                TableName=self._table,
                Key={"pk": {"S": f"KEY#{secret_hash}"}, "sk": {"S": "KEY"}},
                ProjectionExpression="doc",
            )
        except ClientError as err:
            raise unavailable(err) from err
        item = answer.get("Item")
        return ApiKeyRecord.model_validate_json(item["doc"]["S"]) if item else None

    # --- settings ------------------------------------------------------------------------------
    def get_settings(self, tenant: str) -> TenantSettings:
        try:
            answer = self._ddb.get_item(
                TableName=self._table,
                Key={"pk": {"S": tenant_pk(tenant)}, "sk": {"S": "SETTINGS"}},
                ProjectionExpression="doc",
            )
        except ClientError as err:
            raise unavailable(err) from err
        item = answer.get("Item")
        return TenantSettings.model_validate_json(item["doc"]["S"]) if item else TenantSettings()

    def put_settings(self, tenant: str, settings: TenantSettings) -> None:
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": tenant_pk(tenant)},
                    "sk": {"S": "SETTINGS"},
                    "doc": {"S": settings.model_dump_json()},
                },
            )
        except ClientError as err:
            raise unavailable(err) from err

    # --- action catalogue (serves `action=prefix.*` with one Query per known action) -------------
    def known_actions(self, tenant: str) -> set[str]:
        try:
            answer = self._ddb.get_item(
                TableName=self._table,
                Key={"pk": {"S": tenant_pk(tenant)}, "sk": {"S": "ACTIONS"}},
                ProjectionExpression="#n",
                ExpressionAttributeNames={"#n": "names"},  # NAMES is a reserved word
            )
        except ClientError as err:
            raise unavailable(err) from err
        return set(answer.get("Item", {}).get("names", {}).get("SS", []))

    def add_actions(self, tenant: str, actions: set[str]) -> None:
        if not actions:
            return
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": tenant_pk(tenant)}, "sk": {"S": "ACTIONS"}},
                UpdateExpression="ADD #n :new",
                ExpressionAttributeNames={"#n": "names"},
                ExpressionAttributeValues={":new": {"SS": sorted(actions)}},
            )
        except ClientError as err:
            raise unavailable(err) from err
