"""Usage counters in the control table (docs/data-model.md, "Usage and mail counters").

  month   pk=TENANT#<t>  sk=USAGE#<yyyy-mm>    accepted=<n>  warned=<string set>  lease_<threshold>=<epoch s>
  day     pk=TENANT#<t>  sk=MAIL#<yyyy-mm-dd>  sent=<n>  exp=<epoch s>  (notification emails of that day)

Reservations and claims are conditional updates (never read-then-write), so concurrent requests can
never push a count past its limit, nor send one quota warning twice.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.control_base import ControlBase, tenant_pk
from activitylog.models.settings import Reservation

MAIL_COUNTER_DAYS = 3  # a day's mail counter is kept a little longer than its day (TTL)


def _key(tenant: str, month: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_pk(tenant)}, "sk": {"S": f"USAGE#{month}"}}


def _mail_key(tenant: str, day: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_pk(tenant)}, "sk": {"S": f"MAIL#{day}"}}


def _state(item: dict[str, Any] | None, total: int | None) -> Reservation:
    item = item or {}
    accepted = int(item["accepted"]["N"]) if "accepted" in item else 0
    leases = {k.removeprefix("lease_"): int(v["N"]) for k, v in item.items() if k.startswith("lease_")}
    return Reservation(
        total=total,
        accepted=accepted,
        warned=frozenset(item.get("warned", {}).get("SS", [])),
        leases=leases,
    )


class UsageMixin(ControlBase):
    def reserve(self, tenant: str, month: str, count: int, quota: int) -> Reservation:
        """Add `count` if the total stays within `quota` (`total` None when refused).

        The answer carries the month's item either way, at no extra request or capacity (ALL_NEW on
        success, ReturnValuesOnConditionCheckFailure on refusal): the caller learns which quota
        warnings are still to send from the update it makes anyway.
        """
        if count > quota:
            return _state(self._get(tenant_pk(tenant), f"USAGE#{month}"), None)
        try:
            answer = self._ddb.update_item(
                TableName=self._table,
                Key=_key(tenant, month),
                UpdateExpression="ADD accepted :n",
                ConditionExpression="attribute_not_exists(accepted) OR accepted <= :room",
                ExpressionAttributeValues={":n": {"N": str(count)}, ":room": {"N": str(quota - count)}},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as err:
            if errors.condition_failed(err):
                return _state(err.response.get("Item"), None)
            raise errors.unavailable(err) from err
        item = answer["Attributes"]
        return _state(item, int(item["accepted"]["N"]))

    def release(self, tenant: str, month: str, count: int) -> None:
        """Give back a reservation for events that could not be stored."""
        self._call(
            self._ddb.update_item,
            Key=_key(tenant, month),
            UpdateExpression="ADD accepted :n",
            ExpressionAttributeValues={":n": {"N": str(-count)}},
        )

    def accepted(self, tenant: str, month: str) -> int:
        item = self._get(
            tenant_pk(tenant), f"USAGE#{month}", consistent=True, ProjectionExpression="accepted"
        )
        return int(item["accepted"]["N"]) if item and "accepted" in item else 0

    # --- quota warnings: a short lease to send, `warned` once sent ---------------------------------
    def claim_warning(self, tenant: str, month: str, threshold: str, *, now: int, until: int) -> bool:
        """True for one caller at a time per tenant, month and threshold, until it is marked sent:
        that caller holds the lease until `until` (epoch seconds) and sends the email."""
        claimed = self._conditional(
            self._ddb.update_item,
            Key=_key(tenant, month),
            UpdateExpression="SET #lease = :until",
            ConditionExpression=(
                "NOT contains(warned, :t) AND (attribute_not_exists(#lease) OR #lease < :now)"
            ),
            ExpressionAttributeNames={"#lease": f"lease_{threshold}"},
            ExpressionAttributeValues={
                ":t": {"S": threshold},
                ":now": {"N": str(now)},
                ":until": {"N": str(until)},
            },
        )
        return claimed is not None

    def mark_warned(self, tenant: str, month: str, threshold: str) -> None:
        """The warning was sent: never again this month (the lease goes with it)."""
        self._call(
            self._ddb.update_item,
            Key=_key(tenant, month),
            UpdateExpression="ADD warned :t REMOVE #lease",
            ExpressionAttributeNames={"#lease": f"lease_{threshold}"},
            ExpressionAttributeValues={":t": {"SS": [threshold]}},
        )

    def defer_warning(self, tenant: str, month: str, threshold: str, *, until: int, retry_at: int) -> None:
        """The warning could not be sent: keep the lease (only ours) until `retry_at`, when a later
        request tries again; until then no request tries (a failing mail service is not called by
        every request of the tenant)."""
        self._conditional(
            self._ddb.update_item,
            Key=_key(tenant, month),
            UpdateExpression="SET #lease = :retry",
            ConditionExpression="#lease = :until",
            ExpressionAttributeNames={"#lease": f"lease_{threshold}"},
            ExpressionAttributeValues={":until": {"N": str(until)}, ":retry": {"N": str(retry_at)}},
        )

    # --- notification emails per tenant and UTC day ------------------------------------------------
    def claim_mail(self, tenant: str, day: str, limit: int, *, expires: int) -> bool:
        """Count one notification email of `day` if fewer than `limit` were counted (exact under
        concurrency: one conditional update); False when the day's cap is reached."""
        if limit <= 0:
            return False
        counted = self._conditional(
            self._ddb.update_item,
            Key=_mail_key(tenant, day),
            UpdateExpression="ADD sent :one SET exp = if_not_exists(exp, :exp)",
            ConditionExpression="attribute_not_exists(sent) OR sent < :limit",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":limit": {"N": str(limit)},
                ":exp": {"N": str(expires)},
            },
        )
        return counted is not None

    def mails_sent(self, tenant: str, day: str) -> int:
        item = self._get(tenant_pk(tenant), f"MAIL#{day}", consistent=True, ProjectionExpression="sent")
        return int(item["sent"]["N"]) if item and "sent" in item else 0
