"""API keys in the control table: one item per key, keyed by the hash of its secret.

  pk=KEY#<sha256 of secret>  sk=KEY  gpk=TENANT#<t>#KEYS  gsk=<key id>  doc=<ApiKeyRecord JSON>
The `by_owner` index (gpk, gsk) lists a tenant's keys and finds one by id.
"""

from __future__ import annotations

from typing import Any

from activitylog.dal.control_base import ABSENT, ControlBase
from activitylog.models.auth import ApiKeyRecord
from activitylog.models.errors import ConflictError
from activitylog.models.text import from_epoch_millis

OWNER_INDEX = "by_owner"


def _record(item: dict[str, Any]) -> ApiKeyRecord:
    record = ApiKeyRecord.model_validate_json(item["doc"]["S"])
    if "used" in item:
        record.last_used_at = from_epoch_millis(int(item["used"]["N"]) * 1000)
    return record


def _owner(tenant: str) -> str:
    return f"TENANT#{tenant}#KEYS"


class ApiKeysMixin(ControlBase):
    def put_api_key(self, record: ApiKeyRecord) -> None:
        item: dict[str, Any] = {
            "pk": {"S": f"KEY#{record.secret_hash}"},
            "sk": {"S": "KEY"},
            "gpk": {"S": _owner(record.tenant)},
            "gsk": {"S": record.id},
            "doc": {"S": record.model_dump_json()},
        }
        if self._conditional(self._ddb.put_item, Item=item, ConditionExpression=ABSENT) is None:
            raise ConflictError("an API key with this secret already exists")

    def get_api_key(self, secret_hash: str) -> ApiKeyRecord | None:
        item = self._get(f"KEY#{secret_hash}", "KEY", ProjectionExpression="doc")
        return ApiKeyRecord.model_validate_json(item["doc"]["S"]) if item else None

    def touch_api_key(self, secret_hash: str, now_s: int, *, every_s: int = 3600) -> None:
        """Record `last_used_at`, at most once per `every_s` per key (one write, not one per request)."""
        self._conditional(  # not written when recorded within `every_s` (or the key is gone)
            self._ddb.update_item,
            Key={"pk": {"S": f"KEY#{secret_hash}"}, "sk": {"S": "KEY"}},
            UpdateExpression="SET used = :now",
            ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(used) OR used < :stale)",
            ExpressionAttributeValues={":now": {"N": str(now_s)}, ":stale": {"N": str(now_s - every_s)}},
        )

    def list_api_keys(
        self, tenant: str, *, limit: int, after: str | None
    ) -> tuple[list[ApiKeyRecord], str | None]:
        """A tenant's keys in creation order (ids are ULIDs); `after` is the last id of the previous page."""
        condition = "gpk = :o AND gsk > :after" if after else "gpk = :o"
        values: dict[str, Any] = {":o": {"S": _owner(tenant)}}
        if after:
            values[":after"] = {"S": after}
        answer = self._call(
            self._ddb.query,
            IndexName=OWNER_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            Limit=limit,
        )
        records = [_record(i) for i in answer["Items"]]
        more = answer.get("LastEvaluatedKey") is not None
        return records, (records[-1].id if more and records else None)

    def find_api_key(self, tenant: str, key_id: str) -> ApiKeyRecord | None:
        """The tenant's key with this id (its record, never its secret), or None."""
        answer = self._call(
            self._ddb.query,
            IndexName=OWNER_INDEX,
            KeyConditionExpression="gpk = :o AND gsk = :id",
            ExpressionAttributeValues={":o": {"S": _owner(tenant)}, ":id": {"S": key_id}},
        )
        if not answer["Items"]:
            return None
        return ApiKeyRecord.model_validate_json(answer["Items"][0]["doc"]["S"])

    def delete_api_key(self, tenant: str, key_id: str) -> ApiKeyRecord | None:
        """Revoke: the item goes, so the authorizer finds nothing. None if the tenant has no such key."""
        record = self.find_api_key(tenant, key_id)
        if record is None:
            return None
        deleted = self._conditional(
            self._ddb.delete_item,
            Key={"pk": {"S": f"KEY#{record.secret_hash}"}, "sk": {"S": "KEY"}},
            ConditionExpression="gpk = :o",
            ExpressionAttributeValues={":o": {"S": _owner(tenant)}},
        )
        return None if deleted is None else record


class ApiKeyTable(ApiKeysMixin):
    """The control table seen as API keys only: what the authorizer needs, without the settings and
    usage parts (their models are not loaded at its cold start)."""
