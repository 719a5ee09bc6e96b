"""Monthly usage counters: pk=TENANT#<t>, sk=USAGE#<yyyy-mm>, accepted=<count>, warned=<string set>.

Reservations are conditional updates (never read-then-write), so concurrent requests can never
push the count past the quota.
"""

from __future__ import annotations

from activitylog.dal.control_base import ControlBase, tenant_pk


def _key(tenant: str, month: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_pk(tenant)}, "sk": {"S": f"USAGE#{month}"}}


class UsageMixin(ControlBase):
    def reserve(self, tenant: str, month: str, count: int, quota: int) -> int | None:
        """Add `count` if the total stays within `quota`; the new total, or None when refused."""
        if count > quota:
            return None
        answer = self._conditional(
            self._ddb.update_item,
            Key=_key(tenant, month),
            UpdateExpression="ADD accepted :n",
            ConditionExpression="attribute_not_exists(accepted) OR accepted <= :room",
            ExpressionAttributeValues={":n": {"N": str(count)}, ":room": {"N": str(quota - count)}},
            ReturnValues="UPDATED_NEW",
        )
        return None if answer is None else int(answer["Attributes"]["accepted"]["N"])

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

    def claim_warning(self, tenant: str, month: str, threshold: str) -> bool:
        """True for exactly one caller per tenant, month and threshold: that caller sends the email."""
        claimed = self._conditional(
            self._ddb.update_item,
            Key=_key(tenant, month),
            UpdateExpression="ADD warned :t",
            ConditionExpression="NOT contains(warned, :one)",
            ExpressionAttributeValues={":t": {"SS": [threshold]}, ":one": {"S": threshold}},
        )
        return claimed is not None
