"""Lambda `StreamRouter`: the events table's stream (new event items only) to deliveries.

The event-source mapping's filter passes INSERTs of items with a document (`d`): every record is a
new event (docs/streaming.md). Powertools' batch utility parses each record (one that cannot be
parsed is a batch item failure); the parsed events are then routed together (one read of each
tenant's destinations per batch), and what could not be routed is reported by its earliest record,
so the mapping retries from there and never re-sends the records before it.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from activitylog.handlers import metrics, wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.stream_router import StreamedEvent, route
from activitylog.models.env import StreamRouterEnv

ENVIRONMENT = StreamRouterEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


def parse(record: DynamoDBRecord) -> StreamedEvent:
    image = record.raw_event["dynamodb"]["NewImage"]
    text = image["d"]["S"]
    tenant = image["pk"]["S"].split("#", 1)[0]
    sequence = record.raw_event["dynamodb"]["SequenceNumber"]
    return StreamedEvent(sequence, tenant, text, json.loads(text))


@metrics.flushed
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    parsed: list[StreamedEvent] = []

    def collect(record: DynamoDBRecord) -> None:  # Powertools passes `record=` by name
        parsed.append(parse(record))

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    with processor(records=event.get("Records", []), handler=collect):
        processor.process()
    answer = processor.response()
    failures = [{"itemIdentifier": str(f["itemIdentifier"])} for f in answer.get("batchItemFailures", [])]
    if failures:
        logger.error("stream records that cannot be parsed", extra={"records": failures})
    unrouted = route(parsed, now=clock.now(), ports=wiring.container().router_ports())
    if unrouted:
        logger.warning(
            "events not routed; the stream retries from the earliest", extra={"records": len(unrouted)}
        )
    reported = {f["itemIdentifier"] for f in failures}
    failures += [{"itemIdentifier": ref} for ref in sorted(unrouted, key=int) if ref not in reported]
    return {"batchItemFailures": failures}
