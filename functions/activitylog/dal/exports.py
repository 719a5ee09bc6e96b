"""Exports and runs in the control table (docs/data-model.md, "Exports and runs").

  export   pk=TENANT#<t>                sk=EXPORT#<export id>   doc=<Export JSON>
  run      pk=TENANT#<t>#EXPORT#<id>    sk=RUN#<run id>         doc=<RunRecord JSON>  st=<status>
           gpk=TENANT#<t>#EXPORT#<id>#RUNS  gsk=<created_at>#<run id>   (index by_owner)

Export ids are ULIDs, so `sk` order is creation order: lists read newest first with one Query. Run
ids are not always (a scheduled run's id encodes its scheduled time), so runs are listed from the
`by_owner` index, in creation order. Every key starts with the tenant of the caller, so no read can
reach another tenant's items.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from activitylog.dal.api_keys import OWNER_INDEX
from activitylog.dal.control_base import ABSENT, ControlBase, tenant_pk
from activitylog.models.errors import ConflictError
from activitylog.models.exports import Export, RunRecord

EXPORT_PREFIX = "EXPORT#"
RUN_PREFIX = "RUN#"


def runs_pk(tenant: str, export_id: str) -> str:
    return f"{tenant_pk(tenant)}#EXPORT#{export_id}"


def runs_by_creation(tenant: str, export_id: str) -> str:
    return runs_pk(tenant, export_id) + "#RUNS"


class DynamoExportStore(ControlBase):
    # --- exports --------------------------------------------------------------------------------
    def put_export(self, tenant: str, export: Export) -> None:
        item = {
            "pk": {"S": tenant_pk(tenant)},
            "sk": {"S": EXPORT_PREFIX + export.id},
            "doc": {"S": export.dump()},
        }
        if self._conditional(self._ddb.put_item, Item=item, ConditionExpression=ABSENT) is None:
            raise ConflictError("an export with this id exists")

    def get_export(self, tenant: str, export_id: str) -> Export | None:
        key = {"pk": {"S": tenant_pk(tenant)}, "sk": {"S": EXPORT_PREFIX + export_id}}
        item = self._call(self._ddb.get_item, Key=key, ConsistentRead=True).get("Item")
        return Export.model_validate_json(item["doc"]["S"]) if item else None

    def list_exports(self, tenant: str, *, limit: int, after: str | None) -> tuple[list[Export], bool]:
        """Newest first, strictly older than the export id `after`; the flag says whether more exist."""
        items, more = self._page(tenant_pk(tenant), EXPORT_PREFIX, limit=limit, before=after)
        return [Export.model_validate_json(i["doc"]["S"]) for i in items], more

    def delete_export(self, tenant: str, export_id: str) -> None:
        """The export and every run item of it (files are removed by the caller)."""
        pk = runs_pk(tenant, export_id)
        start: dict[str, Any] | None = None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            answer = self._call(
                self._ddb.query,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
                ProjectionExpression="pk, sk",
                **extra,
            )
            for item in answer.get("Items", []):
                self._call(self._ddb.delete_item, Key={"pk": item["pk"], "sk": item["sk"]})
            start = answer.get("LastEvaluatedKey")
            if not start:
                break
        self._call(
            self._ddb.delete_item,
            Key={"pk": {"S": tenant_pk(tenant)}, "sk": {"S": EXPORT_PREFIX + export_id}},
        )

    # --- runs -----------------------------------------------------------------------------------
    def _run_item(self, tenant: str, run: RunRecord) -> dict[str, Any]:
        return {
            "pk": {"S": runs_pk(tenant, run.export_id)},
            "sk": {"S": RUN_PREFIX + run.id},
            "doc": {"S": run.model_dump_json()},
            "st": {"S": run.status},
            "gpk": {"S": runs_by_creation(tenant, run.export_id)},
            "gsk": {"S": run.position()},
        }

    def put_run(self, tenant: str, run: RunRecord) -> None:
        item = self._run_item(tenant, run)
        if self._conditional(self._ddb.put_item, Item=item, ConditionExpression=ABSENT) is None:
            raise ConflictError("a run with this id exists")

    def get_run(self, tenant: str, export_id: str, run_id: str) -> RunRecord | None:
        key = {"pk": {"S": runs_pk(tenant, export_id)}, "sk": {"S": RUN_PREFIX + run_id}}
        item = self._call(self._ddb.get_item, Key=key, ConsistentRead=True).get("Item")
        return RunRecord.model_validate_json(item["doc"]["S"]) if item else None

    def list_runs(
        self, tenant: str, export_id: str, *, limit: int, before: str | None
    ) -> tuple[list[RunRecord], bool]:
        """Newest first by creation, strictly before the position `before` (`RunRecord.position`)."""
        condition = "gpk = :o AND gsk < :before" if before else "gpk = :o"
        values: dict[str, Any] = {":o": {"S": runs_by_creation(tenant, export_id)}}
        if before:
            values[":before"] = {"S": before}
        answer = self._call(
            self._ddb.query,
            IndexName=OWNER_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit + 1,  # one more says whether a next page exists
        )
        items = answer.get("Items", [])
        return [RunRecord.model_validate_json(i["doc"]["S"]) for i in items[:limit]], len(items) > limit

    def update_run(self, tenant: str, run: RunRecord, *, expected: Iterable[str]) -> bool:
        """Replace the run if it still exists with one of the `expected` statuses (no lost updates)."""
        statuses = sorted(set(expected))
        values = {f":s{n}": {"S": s} for n, s in enumerate(statuses)}
        replaced = self._conditional(
            self._ddb.put_item,
            Item=self._run_item(tenant, run),
            ConditionExpression=f"attribute_exists(pk) AND st IN ({', '.join(values)})",
            ExpressionAttributeValues=values,
        )
        return replaced is not None

    def _page(self, pk: str, prefix: str, *, limit: int, before: str | None) -> tuple[list[Any], bool]:
        upper = prefix + before if before else prefix + "~"
        answer = self._call(
            self._ddb.query,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":pk": {"S": pk}, ":lo": {"S": prefix}, ":hi": {"S": upper}},
            ScanIndexForward=False,
            Limit=limit + 2,  # BETWEEN includes `before` itself; one more says whether a next page exists
        )
        items = [i for i in answer.get("Items", []) if not (before and i["sk"]["S"] == prefix + before)]
        return items[:limit], len(items) > limit
