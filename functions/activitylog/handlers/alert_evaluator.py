"""Lambda `AlertEvaluator`: the alert-work queue (SQS) to alert states and firings (docs/alerts.md).

Each message is one alert and the events of one stream batch it evaluates (`logic/alert_live.py`).
A message whose state could not be written (busy, or lost races every time), or whose firings'
follow-ups failed, is reported as a batch item failure (Powertools' batch utility) and comes back
after the visibility timeout: its events written meanwhile are duplicates then, and the pending
follow-ups are done again. A message that fails again and again goes to the dead-letter queue after
the queue's maxReceiveCount, with an alarm.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from activitylog.handlers import metrics, sqs_batch, wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.alert_live import evaluate_work
from activitylog.models.alerts import AlertWork
from activitylog.models.env import AlertEvaluatorEnv

ENVIRONMENT = AlertEvaluatorEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


def _record(record: SQSRecord) -> None:
    work = AlertWork.model_validate_json(record.body)
    fired = evaluate_work(work, now=clock.now(), ports=wiring.container().evaluator_ports())
    for firing in fired:
        where = {"tenant": work.tenant, "alert": work.alert.id, "firing": firing.id, "count": firing.count}
        logger.info("alert fired", extra=where)


@metrics.flushed
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sqs_batch.process(event, _record, what="an alert-work message")
