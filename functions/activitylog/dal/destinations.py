"""Streaming destinations, their delivery ledgers and replays in the control table (docs/streaming.md).

  destination   pk=TENANT#<t>             sk=DEST#<id>     doc=<DestinationSettings>  sec=<secrets JSON>
                                                           state, failing_since, last_delivered_at, version
  delivery      pk=TENANT#<t>#DEST#<id>   sk=DLV#<id>      doc=<DeliveryRecord>  st  ids=<event ids JSON>  exp
  open marker   pk=TENANT#<t>#DEST#<id>   sk=OPEN#<oldest received_at>#<delivery id>   exp
  replay        pk=TENANT#<t>#DEST#<id>   sk=RPL#<id>      doc=<Replay>  pos=<position JSON>  exp

Every key starts with the caller's tenant, so no read reaches another tenant's items. Settings
changes are conditional on `version`; the state attributes are changed by single conditional
updates that never touch `doc`, so a PUT and a delivery's outcome never overwrite each other.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from activitylog.dal.control_base import ABSENT, ControlBase, tenant_pk
from activitylog.models.destinations import (
    MAX_DESTINATIONS,
    DeliveryRecord,
    DestinationSettings,
    Replay,
    SigningSecret,
    StoredDestination,
)
from activitylog.models.errors import ConflictError
from activitylog.models.text import format_time, parse_time

DEST_PREFIX = "DEST#"
DELIVERY_PREFIX = "DLV#"
OPEN_PREFIX = "OPEN#"
REPLAY_PREFIX = "RPL#"
LEDGER_DAYS = 30  # deliveries, markers and replays expire (TTL) this long after they are written


def ledger_pk(tenant: str, destination_id: str) -> str:
    return f"{tenant_pk(tenant)}#DEST#{destination_id}"


def _expiry(now: datetime) -> dict[str, str]:
    return {"N": str(int((now + timedelta(days=LEDGER_DAYS)).timestamp()))}


def _secrets_json(secrets: list[SigningSecret]) -> str:
    return json.dumps([s.model_dump(mode="json") for s in secrets], separators=(",", ":"))


def _destination(item: dict[str, Any]) -> StoredDestination:
    def time(name: str) -> datetime | None:
        return parse_time(item[name]["S"]) if name in item else None

    return StoredDestination(
        settings=DestinationSettings.model_validate_json(item["doc"]["S"]),
        secrets=[SigningSecret.model_validate(s) for s in json.loads(item["sec"]["S"])],
        state=item.get("state", {}).get("S", "active"),
        failing_since=time("failing_since"),
        last_delivered_at=time("last_delivered_at"),
        version=int(item["version"]["N"]),
    )


class DestinationTable(ControlBase):
    # --- destinations -------------------------------------------------------------------------
    def _key(self, tenant: str, destination_id: str) -> dict[str, Any]:
        return {"pk": {"S": tenant_pk(tenant)}, "sk": {"S": DEST_PREFIX + destination_id}}

    def put_destination(self, tenant: str, destination: StoredDestination) -> None:
        item = {
            **self._key(tenant, destination.settings.id),
            "doc": {"S": destination.settings.model_dump_json()},
            "sec": {"S": _secrets_json(destination.secrets)},
            "state": {"S": destination.state},
            "version": {"N": str(destination.version)},
        }
        if self._conditional(self._ddb.put_item, Item=item, ConditionExpression=ABSENT) is None:
            raise ConflictError("a destination with this id exists")

    def get_destination(self, tenant: str, destination_id: str) -> StoredDestination | None:
        item = self._get(tenant_pk(tenant), DEST_PREFIX + destination_id, consistent=True)
        return _destination(item) if item else None

    def list_destinations(self, tenant: str) -> list[StoredDestination]:
        """Every destination of the tenant (at most MAX_DESTINATIONS), oldest first; consistent, so
        the router never routes on a list older than a create or delete that was answered."""
        answer = self._call(
            self._ddb.query,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": {"S": tenant_pk(tenant)}, ":p": {"S": DEST_PREFIX}},
            ConsistentRead=True,
            Limit=MAX_DESTINATIONS + 1,
        )
        return [_destination(i) for i in answer.get("Items", [])]

    def save_destination(
        self, tenant: str, destination: StoredDestination, *, version: int, reset_state: bool = False
    ) -> None:
        """New settings and secrets, only if nobody changed them since `version` was read;
        `reset_state`: back to `active` (re-enabling clears a disabled or failing state)."""
        sets = ["doc = :doc", "sec = :sec", "version = :next"]
        values: dict[str, Any] = {
            ":doc": {"S": destination.settings.model_dump_json()},
            ":sec": {"S": _secrets_json(destination.secrets)},
            ":next": {"N": str(version + 1)},
            ":v": {"N": str(version)},
        }
        expression = "SET " + ", ".join(sets)
        if reset_state:
            expression = "SET " + ", ".join([*sets, "#s = :active"]) + " REMOVE failing_since"
            values[":active"] = {"S": "active"}
        written = self._conditional(
            self._ddb.update_item,
            Key=self._key(tenant, destination.settings.id),
            UpdateExpression=expression,
            ConditionExpression="version = :v",
            ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": {"#s": "state"}} if reset_state else {}),
        )
        if written is None:
            raise ConflictError("the destination changed meanwhile (or was deleted): read it again and retry")

    def delete_destination(self, tenant: str, destination_id: str) -> bool:
        """The destination item; its ledger expires by itself (nothing is delivered for it again)."""
        answer = self._call(
            self._ddb.delete_item, Key=self._key(tenant, destination_id), ReturnValues="ALL_OLD"
        )
        return bool(answer.get("Attributes"))

    def mark_delivered(self, tenant: str, destination_id: str, at: datetime) -> None:
        """A success: `active` again (unless disabled meanwhile), failing_since cleared."""
        self._conditional(
            self._ddb.update_item,
            Key=self._key(tenant, destination_id),
            UpdateExpression="SET #s = :active, last_delivered_at = :t REMOVE failing_since",
            ConditionExpression="attribute_exists(pk) AND #s <> :disabled",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":active": {"S": "active"},
                ":disabled": {"S": "disabled"},
                ":t": {"S": format_time(at)},
            },
        )

    def mark_failing(self, tenant: str, destination_id: str, at: datetime) -> datetime | None:
        """A failed attempt: `failing` since the first failure after the last success. Returns
        failing_since (None: the destination is gone or disabled)."""
        answer = self._conditional(
            self._ddb.update_item,
            Key=self._key(tenant, destination_id),
            UpdateExpression="SET #s = :failing, failing_since = if_not_exists(failing_since, :t)",
            ConditionExpression="attribute_exists(pk) AND #s <> :disabled",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":failing": {"S": "failing"},
                ":disabled": {"S": "disabled"},
                ":t": {"S": format_time(at)},
            },
            ReturnValues="ALL_NEW",  # failing_since whether this update set it or kept it
        )
        if answer is None:
            return None
        return parse_time(answer["Attributes"]["failing_since"]["S"])

    def disable(self, tenant: str, destination_id: str, failing_since: datetime) -> bool:
        """`disabled`, once: True only for the one caller whose update made it so."""
        answer = self._conditional(
            self._ddb.update_item,
            Key=self._key(tenant, destination_id),
            UpdateExpression="SET #s = :disabled",
            ConditionExpression="#s = :failing AND failing_since = :since",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":disabled": {"S": "disabled"},
                ":failing": {"S": "failing"},
                ":since": {"S": format_time(failing_since)},
            },
        )
        return answer is not None

    # --- the delivery ledger --------------------------------------------------------------------
    def put_delivery(
        self,
        tenant: str,
        destination_id: str,
        record: DeliveryRecord,
        event_ids: list[str],
        *,
        now: datetime,
        open_marker: bool = True,
    ) -> None:
        """The delivery and (`open_marker`) its open marker (the lag reads the oldest marker)."""
        pk = {"S": ledger_pk(tenant, destination_id)}
        self._call(
            self._ddb.put_item,
            Item={
                "pk": pk,
                "sk": {"S": DELIVERY_PREFIX + record.id},
                "doc": {"S": record.model_dump_json()},
                "st": {"S": record.status},
                "ids": {"S": json.dumps(event_ids, separators=(",", ":"))},
                "exp": _expiry(now),
            },
        )
        if open_marker:
            self.open_marker(tenant, destination_id, record, now=now)

    def open_marker(self, tenant: str, destination_id: str, record: DeliveryRecord, *, now: datetime) -> None:
        self._call(
            self._ddb.put_item,
            Item={
                "pk": {"S": ledger_pk(tenant, destination_id)},
                "sk": self._marker(record),
                "exp": _expiry(now),
            },
        )

    def close_marker(self, tenant: str, destination_id: str, record: DeliveryRecord) -> None:
        self._call(
            self._ddb.delete_item,
            Key={"pk": {"S": ledger_pk(tenant, destination_id)}, "sk": self._marker(record)},
        )

    @staticmethod
    def _marker(record: DeliveryRecord) -> dict[str, str]:
        return {"S": f"{OPEN_PREFIX}{format_time(record.oldest_received_at)}#{record.id}"}

    def delete_delivery(self, tenant: str, destination_id: str, record: DeliveryRecord) -> None:
        """A delivery that was never enqueued (the router's clean-up; best effort)."""
        pk = {"S": ledger_pk(tenant, destination_id)}
        self._call(self._ddb.delete_item, Key={"pk": pk, "sk": {"S": DELIVERY_PREFIX + record.id}})
        self.close_marker(tenant, destination_id, record)

    def get_delivery(
        self, tenant: str, destination_id: str, delivery_id: str
    ) -> tuple[DeliveryRecord, list[str]] | None:
        item = self._get(ledger_pk(tenant, destination_id), DELIVERY_PREFIX + delivery_id, consistent=True)
        if not item:
            return None
        return DeliveryRecord.model_validate_json(item["doc"]["S"]), json.loads(item["ids"]["S"])

    def save_delivery(self, tenant: str, destination_id: str, record: DeliveryRecord) -> None:
        """Its new state (nothing when the item is gone: expired)."""
        self._conditional(
            self._ddb.update_item,
            Key={"pk": {"S": ledger_pk(tenant, destination_id)}, "sk": {"S": DELIVERY_PREFIX + record.id}},
            UpdateExpression="SET doc = :doc, st = :st",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":doc": {"S": record.model_dump_json()}, ":st": {"S": record.status}},
        )

    def list_deliveries(
        self, tenant: str, destination_id: str, *, limit: int, before: str | None
    ) -> tuple[list[DeliveryRecord], bool]:
        """Newest first (delivery ids are ULIDs), strictly older than `before`."""
        upper = DELIVERY_PREFIX + before if before else DELIVERY_PREFIX + "~"
        answer = self._call(
            self._ddb.query,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": {"S": ledger_pk(tenant, destination_id)},
                ":lo": {"S": DELIVERY_PREFIX},
                ":hi": {"S": upper},
            },
            ProjectionExpression="sk, doc",
            ScanIndexForward=False,
            Limit=limit + 2,  # BETWEEN includes `before`; one more says whether a next page exists
        )
        items = [
            i for i in answer.get("Items", []) if not (before and i["sk"]["S"] == DELIVERY_PREFIX + before)
        ]
        records = [DeliveryRecord.model_validate_json(i["doc"]["S"]) for i in items[:limit]]
        return records, len(items) > limit

    def oldest_open(self, tenant: str, destination_id: str) -> datetime | None:
        """When the oldest event not yet delivered was received (None: every delivery is done)."""
        answer = self._call(
            self._ddb.query,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={
                ":pk": {"S": ledger_pk(tenant, destination_id)},
                ":p": {"S": OPEN_PREFIX},
            },
            Limit=1,
        )
        items = answer.get("Items", [])
        return parse_time(items[0]["sk"]["S"][len(OPEN_PREFIX) :].split("#", 1)[0]) if items else None

    # --- replays ------------------------------------------------------------------------------
    def put_replay(self, tenant: str, destination_id: str, replay: Replay, *, now: datetime) -> None:
        self._call(
            self._ddb.put_item,
            Item={
                "pk": {"S": ledger_pk(tenant, destination_id)},
                "sk": {"S": REPLAY_PREFIX + replay.id},
                "doc": {"S": replay.model_dump_json()},
                "exp": _expiry(now),
            },
            ConditionExpression=ABSENT,
        )

    def get_replay(
        self, tenant: str, destination_id: str, replay_id: str
    ) -> tuple[Replay, dict[str, Any] | None] | None:
        item = self._get(ledger_pk(tenant, destination_id), REPLAY_PREFIX + replay_id, consistent=True)
        if not item:
            return None
        position = json.loads(item["pos"]["S"]) if "pos" in item else None
        return Replay.model_validate_json(item["doc"]["S"]), position

    def save_replay(
        self, tenant: str, destination_id: str, replay: Replay, position: dict[str, Any] | None
    ) -> None:
        values: dict[str, Any] = {":doc": {"S": replay.model_dump_json()}}
        expression = "SET doc = :doc"
        if position is not None:
            expression += ", pos = :pos"
            values[":pos"] = {"S": json.dumps(position, separators=(",", ":"))}
        self._conditional(
            self._ddb.update_item,
            Key={"pk": {"S": ledger_pk(tenant, destination_id)}, "sk": {"S": REPLAY_PREFIX + replay.id}},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=values,
        )
