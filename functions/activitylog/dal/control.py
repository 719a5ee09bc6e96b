"""The control table: tenant settings and limits, the action catalogue, usage counters, API keys.

Item layout (docs/data-model.md):
  settings       pk=TENANT#<t>  sk=SETTINGS     doc=<LoggingSettings JSON>  version=<n>
  limits         pk=TENANT#<t>  sk=LIMITS       monthly_quota, shard_count, daily_mail_limit (operator only)
  action names   pk=TENANT#<t>  sk=ACTIONS      names: string set
  usage          pk=TENANT#<t>  sk=USAGE#<yyyy-mm>  (dal/usage.py)
  mail counter   pk=TENANT#<t>  sk=MAIL#<yyyy-mm-dd> (dal/usage.py)
  API key        pk=KEY#<hash>  sk=KEY          (dal/api_keys.py)
  catalogue      pk=TENANT#<t>#CAT#<A|U|T...>  sk=<term>\x00<digest>  (dal/catalogue.py)
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.api_keys import ApiKeysMixin
from activitylog.dal.catalogue import CatalogueMixin
from activitylog.dal.control_base import tenant_pk
from activitylog.dal.usage import UsageMixin
from activitylog.models.errors import ConflictError
from activitylog.models.settings import LoggingSettings, TenantLimits, TenantSettings


def _limits(item: dict[str, Any] | None) -> TenantLimits:
    if not item:
        return TenantLimits()
    values = {k: int(item[k]["N"]) for k in ("monthly_quota", "shard_count", "daily_mail_limit") if k in item}
    return TenantLimits.model_validate(values)


class ControlTable(ApiKeysMixin, UsageMixin, CatalogueMixin):
    # --- settings (tenant) and limits (operator) ---------------------------------------------
    def get_settings(self, tenant: str) -> TenantSettings:
        keys = [{"pk": {"S": tenant_pk(tenant)}, "sk": {"S": sk}} for sk in ("SETTINGS", "LIMITS")]
        try:
            answer = self._ddb.batch_get_item(RequestItems={self._table: {"Keys": keys}})
        except ClientError as err:
            raise errors.unavailable(err) from err
        if answer.get("UnprocessedKeys"):
            return TenantSettings(
                logging=self.get_logging_settings(tenant)[0],
                limits=_limits(self._get(tenant_pk(tenant), "LIMITS")),
            )
        items = {i["sk"]["S"]: i for i in answer.get("Responses", {}).get(self._table, [])}
        logging = items.get("SETTINGS")
        return TenantSettings(
            logging=LoggingSettings.model_validate_json(logging["doc"]["S"])
            if logging
            else LoggingSettings(),
            limits=_limits(items.get("LIMITS")),
        )

    def get_logging_settings(self, tenant: str) -> tuple[LoggingSettings, int]:
        item = self._get(tenant_pk(tenant), "SETTINGS", consistent=True)
        if not item:
            return LoggingSettings(), 0
        return LoggingSettings.model_validate_json(item["doc"]["S"]), int(item["version"]["N"])

    def put_logging_settings(self, tenant: str, settings: LoggingSettings, *, version: int) -> None:
        """Optimistic concurrency: only if nobody changed the settings since `version` was read."""
        condition = "attribute_not_exists(pk)" if version == 0 else "version = :v"
        values = {} if version == 0 else {":v": {"N": str(version)}}
        written = self._conditional(
            self._ddb.put_item,
            Item={
                "pk": {"S": tenant_pk(tenant)},
                "sk": {"S": "SETTINGS"},
                "doc": {"S": settings.model_dump_json()},
                "version": {"N": str(version + 1)},
            },
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
        if written is None:
            raise ConflictError("the settings changed meanwhile: read them again and retry")

    def get_limits(self, tenant: str) -> TenantLimits:
        return _limits(self._get(tenant_pk(tenant), "LIMITS", consistent=True))

    def set_monthly_quota(self, tenant: str, quota: int) -> None:
        self._call(
            self._ddb.update_item,
            Key={"pk": {"S": tenant_pk(tenant)}, "sk": {"S": "LIMITS"}},
            UpdateExpression="SET monthly_quota = :q",
            ExpressionAttributeValues={":q": {"N": str(quota)}},
        )

    def set_daily_mail_limit(self, tenant: str, limit: int) -> None:
        self._call(
            self._ddb.update_item,
            Key={"pk": {"S": tenant_pk(tenant)}, "sk": {"S": "LIMITS"}},
            UpdateExpression="SET daily_mail_limit = :l",
            ExpressionAttributeValues={":l": {"N": str(limit)}},
        )

    def note_download(self, tenant: str, who: str, minute: str, *, expires: int) -> int | None:
        """Count one download by `who` (an API key or a download link, of one run) in `minute`.

        The first download of a minute starts it and returns how many downloads the previous minute
        had after its first (0 if none): the caller records one audit event then. Every other
        download of the same minute is only counted (None). Exact under concurrency: one
        conditional update each (pk=TENANT#<t>, sk=DOWNLOADS#<who>, TTL `exp`)."""
        key = {"pk": {"S": tenant_pk(tenant)}, "sk": {"S": f"DOWNLOADS#{who}"}}
        started = self._conditional(
            self._ddb.update_item,
            Key=key,
            UpdateExpression="SET #m = :m, #n = :zero, #e = :exp",
            ConditionExpression="attribute_not_exists(#m) OR #m <> :m",
            ExpressionAttributeNames={"#m": "minute", "#n": "more", "#e": "exp"},
            ExpressionAttributeValues={":m": {"S": minute}, ":zero": {"N": "0"}, ":exp": {"N": str(expires)}},
            ReturnValues="ALL_OLD",
        )
        if started is not None:
            return int(started.get("Attributes", {}).get("more", {}).get("N", "0"))
        self._call(
            self._ddb.update_item,
            Key=key,
            UpdateExpression="ADD #n :one",
            ExpressionAttributeNames={"#n": "more"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        return None

    def raise_shard_count(self, tenant: str, count: int) -> bool:
        """Set the write shards to `count` unless that would lower them (reads query shards 0..N-1:
        a lower N would hide events written to the higher shards); False when refused."""
        answer = self._conditional(
            self._ddb.update_item,
            Key={"pk": {"S": tenant_pk(tenant)}, "sk": {"S": "LIMITS"}},
            UpdateExpression="SET shard_count = :n",
            ConditionExpression="attribute_not_exists(shard_count) OR shard_count <= :n",
            ExpressionAttributeValues={":n": {"N": str(count)}},
        )
        return answer is not None

    # --- action catalogue (serves `action=prefix.*` with one Query per known action) -------------
    def known_actions(self, tenant: str) -> set[str]:
        item = self._get(
            tenant_pk(tenant),
            "ACTIONS",
            ProjectionExpression="#n",
            ExpressionAttributeNames={"#n": "names"},  # NAMES is a reserved word
        )
        return set((item or {}).get("names", {}).get("SS", []))

    def add_actions(self, tenant: str, actions: set[str]) -> None:
        if not actions:
            return
        self._call(
            self._ddb.update_item,
            Key={"pk": {"S": tenant_pk(tenant)}, "sk": {"S": "ACTIONS"}},
            UpdateExpression="ADD #n :new",
            ExpressionAttributeNames={"#n": "names"},
            ExpressionAttributeValues={":new": {"SS": sorted(actions)}},
        )
