"""Lambda `Deliverer`: the deliveries queue (SQS) to webhooks, S3 and EventBridge (docs/streaming.md).

Each message is one delivery attempt or one replay step (`logic/deliveries.py`). A failed attempt
hands its message back at the time of the next attempt (its visibility timeout) and reports it as a
batch item failure (Powertools' batch utility): the other messages of the batch are done. A message
that fails again and again (an unexpected error) goes to the dead-letter queue after the queue's
maxReceiveCount, with an alarm.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import TypeAdapter

from activitylog.handlers import metrics, sqs_batch, wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.deliveries import handle
from activitylog.models.destinations import QueueMessage
from activitylog.models.env import DelivererEnv

ENVIRONMENT = DelivererEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start
MESSAGES: TypeAdapter[Any] = TypeAdapter(QueueMessage)


class RetryScheduled(Exception):
    """The attempt failed; the message comes back when the next one is due (not an error)."""


def _record(record: SQSRecord) -> None:
    message = MESSAGES.validate_json(record.body)
    c = wiring.container()
    delay = handle(message, now=clock.now(), ports=c.deliverer_ports())
    if delay is not None:
        c.delivery_queue.delay(record.receipt_handle, delay)
        raise RetryScheduled(f"next attempt in {delay} s")


@metrics.flushed
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sqs_batch.process(event, _record, what="a delivery message", quiet=(RetryScheduled,))
