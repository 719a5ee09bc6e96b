"""Alerts, their evaluation state and their firings in the control table (docs/alerts.md).

  alert    pk=TENANT#<t>                                 sk=ALERT#<id>   doc=<Alert>  version  fired
  state    pk=TENANT#<t>#ALERT#<id>#<rule>#<group hash>  sk=STATE        st=<GroupState>  v  pf  exp
  firing   pk=TENANT#<t>#ALERT#<id>                      sk=FIR#<fired_at>#<firing id>  doc=<Firing>  exp
  preview  pk=TENANT#<t>                                 sk=PREVIEW#<id>  b=<compressed states>  exp

Every key starts with the caller's tenant. A state item is one (alert, rule, group): its own
partition (a busy group does not share one with its neighbours), updated only under the version it
was read at (`v`), in one transaction with the firings its step produced, so that concurrent
evaluators can neither lose nor double an update and a firing exists exactly when its state does.
`pf` is the set of those firings' sort keys whose follow-ups (email, destinations, event) are not
done yet: a redelivered event finds them there and finishes them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.control_base import ABSENT, ControlBase, tenant_pk
from activitylog.models.alerts import Alert, Firing, GroupState, firing_key
from activitylog.models.errors import ConflictError
from activitylog.models.text import format_time

ALERT_PREFIX = "ALERT#"
FIRING_PREFIX = "FIR#"
PREVIEW_PREFIX = "PREVIEW#"
PREVIEW_TTL = timedelta(hours=1)
STATE_SK = "STATE"
MAX_ALERTS = 50  # per tenant
STATE_DAYS = 35  # an idle group's state expires (TTL) this long after its last write (docs/alerts.md)
FIRING_DAYS = 400  # firings are listed this long


def _alerts_pk(tenant: str, alert_id: str) -> str:
    return f"{tenant_pk(tenant)}#ALERT#{alert_id}"


def state_pk(tenant: str, alert_id: str, rule: str, group: str | None) -> str:
    """The state item's key: the group hashed (an actor id or ip can be long, and any text)."""
    seed = "\x00" if group is None else "\x01" + group
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{_alerts_pk(tenant, alert_id)}#{rule}#{digest}"


def _expiry(now: datetime, days: int) -> dict[str, str]:
    return {"N": str(int((now + timedelta(days=days)).timestamp()))}


def _alert(item: dict[str, Any]) -> tuple[Alert, int]:
    alert = Alert.model_validate_json(item["doc"]["S"])
    if "fired" in item:
        alert.last_fired_at = datetime.fromisoformat(item["fired"]["S"])
    return alert, int(item["version"]["N"])


class AlertTable(ControlBase):
    # --- alerts -----------------------------------------------------------------------------------
    @staticmethod
    def _key(tenant: str, alert_id: str) -> dict[str, Any]:
        return {"pk": {"S": tenant_pk(tenant)}, "sk": {"S": ALERT_PREFIX + alert_id}}

    def put_alert(self, tenant: str, alert: Alert) -> None:
        item = {
            **self._key(tenant, alert.id),
            "doc": {"S": alert.model_dump_json(exclude={"last_fired_at"})},
            "version": {"N": "0"},
        }
        if self._conditional(self._ddb.put_item, Item=item, ConditionExpression=ABSENT) is None:
            raise ConflictError("an alert with this id exists")

    def get_alert(self, tenant: str, alert_id: str) -> tuple[Alert, int] | None:
        item = self._get(tenant_pk(tenant), ALERT_PREFIX + alert_id, consistent=True)
        return _alert(item) if item else None

    def list_alerts(self, tenant: str) -> list[Alert]:
        """Every alert of the tenant (at most MAX_ALERTS), oldest first (ids are ULIDs); consistent,
        so the router never evaluates with a list older than a change that was answered."""
        answer = self._call(
            self._ddb.query,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": {"S": tenant_pk(tenant)}, ":p": {"S": ALERT_PREFIX}},
            ConsistentRead=True,
            Limit=MAX_ALERTS + 1,
        )
        return [_alert(i)[0] for i in answer.get("Items", [])]

    def save_alert(self, tenant: str, alert: Alert, *, version: int) -> None:
        """New settings, only if nobody changed them since `version` was read."""
        written = self._conditional(
            self._ddb.update_item,
            Key=self._key(tenant, alert.id),
            UpdateExpression="SET doc = :doc, version = :next",
            ConditionExpression="version = :v",
            ExpressionAttributeValues={
                ":doc": {"S": alert.model_dump_json(exclude={"last_fired_at"})},
                ":next": {"N": str(version + 1)},
                ":v": {"N": str(version)},
            },
        )
        if written is None:
            raise ConflictError("the alert changed meanwhile (or was deleted): read it again and retry")

    def delete_alert(self, tenant: str, alert_id: str) -> bool:
        """The alert item; its states and firings expire by themselves (nothing evaluates it again)."""
        answer = self._call(self._ddb.delete_item, Key=self._key(tenant, alert_id), ReturnValues="ALL_OLD")
        return bool(answer.get("Attributes"))

    def mark_fired(self, tenant: str, alert_id: str, at: datetime) -> None:
        """The alert's last firing time, if later than the one recorded (and the alert still exists)."""
        value = {"S": format_time(at)}
        self._conditional(
            self._ddb.update_item,
            Key=self._key(tenant, alert_id),
            UpdateExpression="SET fired = :t",
            ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(fired) OR fired < :t)",
            ExpressionAttributeValues={":t": value},
        )

    # --- evaluation state ---------------------------------------------------------------------------
    def get_state(
        self, tenant: str, alert_id: str, rule: str, group: str | None
    ) -> tuple[GroupState | None, int, list[str]]:
        """The group's state (None: none yet), its version (0: none) and its pending firings' keys."""
        item = self._get(state_pk(tenant, alert_id, rule, group), STATE_SK, consistent=True)
        if not item:
            return None, 0, []
        state = GroupState.model_validate_json(item["st"]["S"])
        return state, int(item["v"]["N"]), sorted(item.get("pf", {}).get("SS", []))

    def commit(
        self,
        tenant: str,
        alert_id: str,
        group: str | None,
        state: GroupState,
        *,
        version: int,
        firings: list[Firing],
        now: datetime,
    ) -> bool:
        """The new state and its firings in one transaction, if the state is still at `version`;
        False when another evaluator wrote it first (read again, step again)."""
        key = {"pk": {"S": state_pk(tenant, alert_id, state.rule, group)}, "sk": {"S": STATE_SK}}
        values: dict[str, Any] = {
            ":st": {"S": state.model_dump_json()},
            ":next": {"N": str(version + 1)},
            ":exp": _expiry(now, STATE_DAYS),
        }
        expression = "SET st = :st, v = :next, #e = :exp"
        if firings:
            expression += " ADD pf :pf"
            values[":pf"] = {"SS": [firing_key(f) for f in firings]}
        if version:
            condition = "v = :v"
            values[":v"] = {"N": str(version)}
        else:
            condition = "attribute_not_exists(pk)"
        update = {
            "Update": {
                "TableName": self._table,
                "Key": key,
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#e": "exp"},
                "ExpressionAttributeValues": values,
            }
        }
        if not firings:
            return self._conditional(self._ddb.update_item, **_plain(update["Update"])) is not None
        puts = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": {"S": _alerts_pk(tenant, alert_id)},
                        "sk": {"S": firing_key(f)},
                        "doc": {"S": f.model_dump_json()},
                        "exp": _expiry(now, FIRING_DAYS),
                    },
                }
            }
            for f in firings
        ]
        try:
            self._ddb.transact_write_items(TransactItems=[update, *puts])
        except ClientError as err:
            reasons = [r.get("Code") for r in err.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                return False
            raise errors.unavailable(err) from err
        return True

    def finish_pending(
        self, tenant: str, alert_id: str, rule: str, group: str | None, keys: list[str]
    ) -> None:
        """The firings' follow-ups are done: their keys leave the state's pending set (the version
        is not changed, so a concurrent step is not made to retry)."""
        if not keys:
            return
        self._conditional(
            self._ddb.update_item,
            Key={"pk": {"S": state_pk(tenant, alert_id, rule, group)}, "sk": {"S": STATE_SK}},
            UpdateExpression="DELETE pf :pf",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":pf": {"SS": keys}},
        )

    # --- firings ------------------------------------------------------------------------------------
    def get_firing(self, tenant: str, alert_id: str, sort_key: str) -> Firing | None:
        item = self._get(_alerts_pk(tenant, alert_id), sort_key, consistent=True)
        return Firing.model_validate_json(item["doc"]["S"]) if item else None

    def list_firings(
        self, tenant: str, alert_id: str, *, limit: int, before: str | None
    ) -> tuple[list[Firing], str | None]:
        """Newest `fired_at` first, strictly before the sort key `before`; the last key when more follow."""
        condition = "pk = :pk AND begins_with(sk, :p)"
        values = {":pk": {"S": _alerts_pk(tenant, alert_id)}, ":p": {"S": FIRING_PREFIX}}
        if before is not None:
            condition = "pk = :pk AND sk BETWEEN :p AND :before"
            values[":before"] = {"S": before}
        firings: list[tuple[str, Firing]] = []
        start: dict[str, Any] | None = None
        while len(firings) <= limit:
            page = self._call(
                self._ddb.query,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ScanIndexForward=False,
                Limit=limit + 1,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for item in page.get("Items", []):
                if item["sk"]["S"] != before:
                    firings.append((item["sk"]["S"], Firing.model_validate_json(item["doc"]["S"])))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        more = len(firings) > limit
        kept = firings[:limit]
        return [f for _, f in kept], (kept[-1][0] if more and kept else None)

    # --- preview continuations ------------------------------------------------------------------------
    def save_preview(self, tenant: str, preview_id: str, blob: bytes, *, now: datetime) -> None:
        """A preview's states between two of its pages (compressed; an hour to ask for the next)."""
        self._call(
            self._ddb.put_item,
            Item={
                "pk": {"S": tenant_pk(tenant)},
                "sk": {"S": PREVIEW_PREFIX + preview_id},
                "b": {"B": blob},
                "exp": {"N": str(int((now + PREVIEW_TTL).timestamp()))},
            },
        )

    def get_preview(self, tenant: str, preview_id: str) -> bytes | None:
        item = self._get(tenant_pk(tenant), PREVIEW_PREFIX + preview_id, consistent=True)
        return bytes(item["b"]["B"]) if item else None


def _plain(operation: dict[str, Any]) -> dict[str, Any]:
    """A transaction's Update as the arguments of UpdateItem (its table is the adapter's)."""
    return {k: v for k, v in operation.items() if k != "TableName"}
