"""Lambda `RollupWorker`: the rollup-work queue (SQS) to hourly rollups (docs/reports.md).

Each message names a tenant (or a report's filter) and up to 24 hours: the worker counts the hours
that are sealable from their events and stores them (`logic/rollups.py`), and sends the others
back with a delay until they are. Counting an hour again writes the same counts, so a message that
failed (a busy table) is simply reported as a batch item failure and comes back; one that fails
again and again goes to the dead-letter queue after the queue's maxReceiveCount, with an alarm.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from activitylog.handlers import metrics, sqs_batch, wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock, rollups
from activitylog.models.env import RollupWorkerEnv
from activitylog.models.reports import RollupWork

ENVIRONMENT = RollupWorkerEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


def _record(record: SQSRecord) -> None:
    work = RollupWork.model_validate_json(record.body)
    computed = rollups.compute(work, now=clock.now(), ports=wiring.container().rollup_ports())
    if computed:
        metrics.add(metrics.ROLLUP_HOURS, computed)


@metrics.flushed
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sqs_batch.process(event, _record, what="a rollup-work message")
