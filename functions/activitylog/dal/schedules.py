"""Export schedules: the record in the control table and the EventBridge Scheduler schedule.

  schedule  pk=TENANT#<t>  sk=SCHEDULE#<export id>  doc=<Schedule JSON>

The Scheduler schedule's name is `<export id>-<tenant hash>` (at most 64 characters of
`[0-9A-Za-z_.-]`) in the stack's schedule group; its target Input carries tenant, export id and
`<aws.scheduler.scheduled-time>`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.clients import ClientOf
from activitylog.dal.control_base import ControlBase, tenant_pk
from activitylog.models.errors import InvalidInputError
from activitylog.models.schedules import SCHEDULED_TIME, Schedule

SCHEDULE_PREFIX = "SCHEDULE#"
# Scheduler retries a failed invocation of the Fire function with backoff, then hands the event to
# the dead-letter queue. The window is fixed by the scheduled time, so a late run is still right.
MAX_EVENT_AGE_SECONDS = 6 * 3600
MAX_RETRY_ATTEMPTS = 20


class DynamoScheduleStore(ControlBase):
    def _key(self, tenant: str, export_id: str) -> dict[str, Any]:
        return {"pk": {"S": tenant_pk(tenant)}, "sk": {"S": SCHEDULE_PREFIX + export_id}}

    def put_schedule(self, tenant: str, schedule: Schedule) -> None:
        item = {**self._key(tenant, schedule.export_id), "doc": {"S": schedule.model_dump_json()}}
        self._call(self._ddb.put_item, Item=item)

    def get_schedule(self, tenant: str, export_id: str) -> Schedule | None:
        item = self._get(tenant_pk(tenant), SCHEDULE_PREFIX + export_id, consistent=True)
        return Schedule.model_validate_json(item["doc"]["S"]) if item else None

    def delete_schedule(self, tenant: str, export_id: str) -> None:
        self._call(self._ddb.delete_item, Key=self._key(tenant, export_id))


def schedule_name(tenant: str, export_id: str) -> str:
    return f"{export_id}-{hashlib.sha256(tenant.encode()).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class SchedulerTarget:
    """Where schedules live and what they invoke (the stack's resources, from the environment)."""

    group: str
    role_arn: str  # the scheduler role: may invoke the Fire function only
    function_arn: str  # the Fire function
    dead_letter_arn: str


class EventBridgeSchedules:
    """Creates, updates and deletes one tenant export's Scheduler schedule."""

    def __init__(self, target: SchedulerTarget, scheduler: Any = None) -> None:
        self._target = target
        self._client = scheduler

    _scheduler = ClientOf("scheduler")

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._scheduler, operation)(GroupName=self._target.group, **kwargs)
        except ClientError as err:
            if errors.code(err) == "ValidationException":
                raise InvalidInputError(
                    f"EventBridge Scheduler refused the schedule: {errors.message(err)}"
                ) from err
            raise errors.unavailable(err, "the scheduler") from err

    def put(self, tenant: str, schedule: Schedule) -> None:
        name = schedule_name(tenant, schedule.export_id)
        payload = {"tenant": tenant, "export_id": schedule.export_id, "scheduled_time": SCHEDULED_TIME}
        request = {
            "Name": name,
            "Description": f"export {schedule.export_id} of tenant {tenant}",
            "ScheduleExpression": schedule.expression,
            "ScheduleExpressionTimezone": schedule.timezone,
            "State": "ENABLED" if schedule.enabled else "DISABLED",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": self._target.function_arn,
                "RoleArn": self._target.role_arn,
                "Input": json.dumps(payload),
                "RetryPolicy": {
                    "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS,
                    "MaximumRetryAttempts": MAX_RETRY_ATTEMPTS,
                },
                "DeadLetterConfig": {"Arn": self._target.dead_letter_arn},
            },
        }
        try:
            self._call("create_schedule", **request)
        except ClientError as err:
            if errors.code(err) != "ConflictException":
                raise
            self._call("update_schedule", **request)

    def delete(self, tenant: str, export_id: str) -> bool:
        """Delete the schedule; False when there was none (deleting is idempotent)."""
        try:
            self._call("delete_schedule", Name=schedule_name(tenant, export_id))
        except ClientError as err:
            if errors.is_missing(err):
                return False
            raise
        return True
