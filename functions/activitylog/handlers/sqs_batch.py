"""One SQS event source's batch, the way every queue-fed function handles it: Powertools' batch
utility calls `record` on each message (by keyword: `record=`), a message that raises is reported
as a batch item failure (the queue redelivers it, and after maxReceiveCount moves it to its
dead-letter queue), and each failure is logged, except the ones the function expects (`quiet`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from activitylog.handlers.log import logger


def process(
    event: dict[str, Any],
    record: Callable[[SQSRecord], None],
    *,
    what: str,
    quiet: tuple[type[BaseException], ...] = (),
) -> dict[str, Any]:
    """The batch's partial-failure answer (`batchItemFailures`); `what` names a message in the log."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    with processor(records=event.get("Records", []), handler=record):
        processor.process()
    for _kind, error, _trace in processor.exceptions:
        if error is not None and not isinstance(error, quiet):
            logger.error(f"{what} failed", exc_info=error)
    return dict(processor.response())
