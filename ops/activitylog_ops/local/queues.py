"""Local mode's SQS event-source mappings, polled as Lambda's SQS poller does.

moto would run a mapping itself, but not as Lambda does (its own `Message`s, no batch size, no
partial-batch response), and local mode creates no event-source mapping on moto (see `streams`). So
one poller thread per mapping that reads an SQS queue works the queue through the public SQS API,
as Lambda documents its poller:

- `ReceiveMessage` with `MaxNumberOfMessages = min(BatchSize, 10)`, every system attribute and
  every message attribute, a short long-poll (`WAIT_SECONDS`); with a
  `MaximumBatchingWindowInSeconds`, more receives until `BatchSize` or the window's end. The
  receive takes the queue's own visibility timeout, as Lambda's does.
- The function gets Lambda's SQS event (`sqs_event`): `Records` of `messageId`, `receiptHandle`,
  `body`, `attributes`, `messageAttributes` (lower camel case, binary values base64), `md5OfBody`
  (and `md5OfMessageAttributes` when the message has attributes), `eventSource` `aws:sqs`,
  `eventSourceARN`, `awsRegion`.
- A function error deletes nothing: every message of the batch comes back after its visibility
  timeout. A success deletes the batch, except, with `ReportBatchItemFailures`
  (`FunctionResponseTypes`), the messages named in `batchItemFailures`; an invalid response (not an
  object, a failure without a known `itemIdentifier`) fails the whole batch, as on AWS
  (`failed_message_ids`). A function may change the visibility of a message it reports failed (a
  later retry): the poller leaves that message alone.
- `FilterCriteria`: a message that matches none of the filters is deleted without an invocation, as
  Lambda does (patterns on `body` parsed as JSON when it is JSON; the operators of
  `streams.matches`, any other fails at start).
- Redrive (`maxReceiveCount` → the dead-letter queue) is SQS's own: moto moves a message that was
  received `maxReceiveCount` times to the queue's dead-letter queue on the next `ReceiveMessage`, as
  SQS does (`tests/integration/local/test_local_queues.py` fails if moto stops doing it).

- `DelaySeconds` (a message's, or the queue's) is moto's, on the wall clock; local mode also lets
  a delayed message go once the service's clock has reached its due time (`release`, given by the
  service: `sqs_delays.release_due`, so tests that move the clock need not wait out delays).

Differences from AWS: one batch at a time per mapping (Lambda scales to several concurrent pollers
and invocations; `ScalingConfig` is ignored), and a mapping with `Enabled: false` is not polled.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from activitylog_ops.local.streams import matches
from activitylog_ops.local.template import REGION, Deployment

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
WAIT_SECONDS = 1  # ReceiveMessage's long poll: a new message is taken at once, stop() waits at most this
MAX_RECEIVE = 10  # SQS's limit per ReceiveMessage
QUEUE_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class SqsMapping:
    logical_id: str
    function: str  # the function's name
    queue_arn: str
    batch_size: int = 10
    window_seconds: float = 0.0
    report_item_failures: bool = False
    filters: tuple[Mapping[str, Any], ...] = ()
    enabled: bool = True

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[-1]


def queue_mappings(deployment: Deployment) -> list[SqsMapping]:
    """The template's event-source mappings that read an SQS queue."""
    found = []
    for stack, logical_id, resource in deployment.of_type("AWS::Lambda::EventSourceMapping"):
        props = deployment.resolve(stack, resource["Properties"])
        source = str(props.get("EventSourceArn", ""))
        if not source.startswith("arn:") or source.split(":")[2] != "sqs":
            continue
        filters = tuple(
            json.loads(f["Pattern"]) for f in (props.get("FilterCriteria") or {}).get("Filters", [])
        )
        for pattern in filters:
            matches(pattern, {})  # unsupported operators fail at start, not on the first message
        found.append(
            SqsMapping(
                logical_id=logical_id,
                function=str(props["FunctionName"]).rsplit(":", 1)[-1],
                queue_arn=source,
                batch_size=int(props.get("BatchSize", 10)),
                window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                report_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                filters=filters,
                enabled=str(props.get("Enabled", True)).lower() != "false",
            )
        )
    return found


# --- the event and the response (pure) ------------------------------------------------------------


def _b64(value: bytes | str) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A ReceiveMessage message attribute (boto3's shape) as Lambda's event carries it."""
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = _b64(value["BinaryValue"])
    out["stringListValues"] = list(value.get("StringListValues") or [])
    out["binaryListValues"] = [_b64(v) for v in value.get("BinaryListValues") or []]
    out["dataType"] = value["DataType"]
    return out


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """One `ReceiveMessage` message (boto3's shape) as a record of Lambda's SQS event."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
    return record


def sqs_event(
    messages: Iterable[Mapping[str, Any]], *, queue_arn: str, region: str = REGION
) -> dict[str, Any]:
    """Lambda's SQS event for a batch of received messages."""
    return {"Records": [sqs_record(m, queue_arn=queue_arn, region=region) for m in messages]}


def failed_message_ids(result: Any, message_ids: Sequence[str], *, report_item_failures: bool) -> set[str]:
    """The messages of a successful invocation that stay on the queue (return after their visibility
    timeout). Without `ReportBatchItemFailures`, none. With it: None, `{}`, no or an empty
    `batchItemFailures` is a complete success; the listed `itemIdentifier`s fail; an invalid response
    (not an object, a failure that is not an object or whose `itemIdentifier` is missing, empty or
    not a message of the batch) fails the whole batch, as Lambda treats it."""
    if not report_item_failures or result is None:
        return set()
    if not isinstance(result, Mapping):
        return set(message_ids)
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


def _filter_view(message: Mapping[str, Any]) -> dict[str, Any]:
    """What a filter pattern sees of a message: the event record, `body` parsed when it is JSON."""
    body: Any = message["Body"]
    with contextlib.suppress(ValueError):
        body = json.loads(body)
    return {
        "body": body,
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
    }


# --- the poller ---------------------------------------------------------------------------------------


@dataclass
class SqsPoller:
    """One mapping's poller. `invoke(function, event)` runs the function (the in-process invoker)."""

    mapping: SqsMapping
    client: Callable[[str], Any]  # service -> boto3 client on the emulation
    invoke: Callable[[str, Any], Any]
    region: str = REGION
    wait_seconds: int = WAIT_SECONDS
    queue_url: str | None = None
    # Called with the queue's ARN before each receive: delayed messages due on the service's clock
    # become receivable (sqs_delays.release_due); None: moto's wall-clock delays alone.
    release: Callable[[str], int] | None = None
    invocations: int = 0
    idle: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Find the queue (it must exist: deploy creates the template's queues) and start polling."""
        self.queue_url = str(self.client("sqs").get_queue_url(QueueName=self.mapping.queue_name)["QueueUrl"])
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"sqs-{self.mapping.logical_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def counts(self) -> dict[str, int]:
        """The queue's visible, in-flight and delayed messages (SQS's approximate counts)."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=list(QUEUE_COUNTS)
        )["Attributes"]
        return {name: int(attributes.get(name, 0)) for name in QUEUE_COUNTS}

    def drain(self, timeout: float = 30.0, *, delayed: bool = True) -> None:
        """Wait until the queue holds no message: none visible, none in flight (being handled, or
        waiting out a visibility timeout: a failed message counts until it is handled or moved to
        the dead-letter queue), and none delayed unless `delayed` is False (a delayed message is
        then work scheduled for later, not work in progress). TimeoutError otherwise (tests)."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts()
            if not delayed:
                counts.pop("ApproximateNumberOfMessagesDelayed")
            if not any(counts.values()):
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"queue {self.mapping.queue_name} not drained within {timeout} s: {counts}"
                )
            time.sleep(POLL_SECONDS)

    # -- polling ---------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self._poll_once()
            except Exception:
                log.exception("queue poller %s failed; retrying", self.mapping.logical_id)
                handled = False
                self._stop.wait(1.0)
            if not handled:
                self.idle.set()
                if not self.wait_seconds:  # a short poll returns at once
                    self._stop.wait(POLL_SECONDS)

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        if self.release is not None:
            self.release(self.mapping.queue_arn)
        messages: list[dict[str, Any]] = (
            self.client("sqs")
            .receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max(1, min(count, MAX_RECEIVE)),
                WaitTimeSeconds=wait_seconds,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            .get("Messages", [])
        )
        return messages

    def _poll_once(self) -> bool:
        batch = self._receive(self.mapping.batch_size, self.wait_seconds)
        if not batch:
            return False
        self.idle.clear()
        if self.mapping.window_seconds and len(batch) < self.mapping.batch_size:
            deadline = time.monotonic() + self.mapping.window_seconds
            while len(batch) < self.mapping.batch_size and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                wait = min(self.wait_seconds, int(left))
                more = self._receive(self.mapping.batch_size - len(batch), wait)
                if not more and not wait:
                    self._stop.wait(min(POLL_SECONDS, left))
                batch += more
        self._handle(batch)
        return True

    def _handle(self, messages: list[dict[str, Any]]) -> None:
        if self.mapping.filters:
            dropped = [
                m for m in messages if not any(matches(p, _filter_view(m)) for p in self.mapping.filters)
            ]
            self._delete(dropped)  # Lambda deletes what no filter matches
            gone = {m["MessageId"] for m in dropped}
            messages = [m for m in messages if m["MessageId"] not in gone]
            if not messages:
                return
        event = sqs_event(messages, queue_arn=self.mapping.queue_arn, region=self.region)
        self.invocations += 1
        try:
            # Lambda hands the caller the function's JSON: what is not JSON is a function error.
            result = json.loads(json.dumps(self.invoke(self.mapping.function, event)))
        except Exception:
            log.warning(
                "%s failed on a batch of %d SQS messages; they return after their visibility timeout",
                self.mapping.function,
                len(messages),
                exc_info=True,
            )
            return
        ids = [m["MessageId"] for m in messages]
        failed = failed_message_ids(result, ids, report_item_failures=self.mapping.report_item_failures)
        if failed:
            log.info("%s: %d of %d SQS messages failed", self.mapping.function, len(failed), len(ids))
        self._delete([m for m in messages if m["MessageId"] not in failed])

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        sqs = self.client("sqs")
        for start in range(0, len(messages), MAX_RECEIVE):
            chunk = messages[start : start + MAX_RECEIVE]
            answer = sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in answer.get("Failed", []):
                log.warning("could not delete an SQS message of %s: %s", self.mapping.queue_name, failure)
