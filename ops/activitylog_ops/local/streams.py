"""Local mode's DynamoDB Streams event-source mappings, polled as Lambda's poller does.

moto records a table's stream (readable with the public `dynamodbstreams` API) but runs a mapping
the moment an item is written, inside that write, with no filter, batch size, batching window,
partial-batch response or retry policy. So local mode does not create the template's
`AWS::Lambda::EventSourceMapping`s on moto: one poller thread per mapping reads the stream through
the public API and applies the mapping's settings as Lambda documents them:

- `FilterCriteria`: records that match none of the filters are dropped (and never retried); the
  patterns are EventBridge's, in the subset `matches` implements (equality lists, `prefix`,
  `exists`, `anything-but`, nesting); any other operator fails loudly.
- `BatchSize`, `MaximumBatchingWindowInSeconds`, `StartingPosition`.
- A function error retries the batch (`MaximumRetryAttempts`, -1 = until the record would expire,
  with backoff), split in halves first when `BisectBatchOnFunctionError`; `ReportBatchItemFailures`
  (`FunctionResponseTypes`) checkpoints before the first reported failure and retries from it (an
  invalid response fails the whole batch, as on AWS); exhausted retries go to the `OnFailure`
  destination (SQS) as Lambda's invocation record with `DDBStreamBatchInfo`, and the shard moves on.
Ordering is by sequence number, one batch in flight per mapping, as on one shard.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from activitylog_ops.local.template import Deployment

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class UnsupportedFilterError(ValueError):
    """A filter pattern uses an operator local mode does not implement (it would match differently)."""


@dataclass(frozen=True)
class StreamMapping:
    logical_id: str
    function: str  # the function's name
    table: str  # the table whose stream is read
    batch_size: int = 100
    window_seconds: float = 0.0
    filters: tuple[Mapping[str, Any], ...] = ()
    report_item_failures: bool = False
    max_retries: int = -1
    bisect: bool = False
    on_failure: str | None = None  # an SQS queue ARN
    starting_position: str = "TRIM_HORIZON"


def stream_mappings(deployment: Deployment) -> list[StreamMapping]:
    """The template's event-source mappings that read a DynamoDB stream."""
    found = []
    for stack, logical_id, resource in deployment.of_type("AWS::Lambda::EventSourceMapping"):
        props = deployment.resolve(stack, resource["Properties"])
        source = str(props.get("EventSourceArn", ""))
        if ":dynamodb:" not in source or "/stream/" not in source:
            continue
        filters = tuple(
            json.loads(f["Pattern"]) for f in (props.get("FilterCriteria") or {}).get("Filters", [])
        )
        for pattern in filters:
            matches(pattern, {})  # unsupported operators fail at start, not on the first record
        destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        found.append(
            StreamMapping(
                logical_id=logical_id,
                function=str(props["FunctionName"]).rsplit(":", 1)[-1],
                table=source.split(":", 5)[5].split("/")[1],
                batch_size=int(props.get("BatchSize", 100)),
                window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                filters=filters,
                report_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                max_retries=int(props.get("MaximumRetryAttempts", -1)),
                bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                on_failure=str(destination) if destination else None,
                starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
            )
        )
    return found


# --- filter patterns (EventBridge syntax, as Lambda's FilterCriteria use it) -----------------------


def matches(pattern: Mapping[str, Any], record: Any) -> bool:
    """Whether `record` matches `pattern`: every key of the pattern must match (AND)."""
    for key, wanted in pattern.items():
        present = isinstance(record, Mapping) and key in record
        value = record.get(key) if isinstance(record, Mapping) else None
        if isinstance(wanted, Mapping):
            if not matches(wanted, value if present else {}):
                return False
        elif isinstance(wanted, list):
            if not _any_rule(wanted, present, value):
                return False
        else:
            raise UnsupportedFilterError(f"a pattern's leaf must be a list or an object: {key!r}")
    return True


def _any_rule(rules: Sequence[Any], present: bool, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, Mapping):
            ((operator, argument),) = rule.items() if len(rule) == 1 else ((None, None),)
            if operator == "exists":
                if bool(argument) == present:
                    return True
            elif operator == "prefix":
                if present and any(isinstance(v, str) and v.startswith(str(argument)) for v in values):
                    return True
            elif operator == "anything-but":
                excluded = argument if isinstance(argument, list) else [argument]
                if present and all(v not in excluded for v in values):
                    return True
            else:
                raise UnsupportedFilterError(f"filter operator {rule!r} is not supported in local mode")
        elif present and rule in values:
            return True
    return False


# --- the poller -------------------------------------------------------------------------------------


@dataclass
class _Shard:
    stream_arn: str
    shard_id: str
    after: str | None = None  # the last sequence number handled (None: the starting position)


@dataclass
class StreamPoller:
    """One mapping's poller. `invoke(function, event)` runs the function (the in-process invoker)."""

    mapping: StreamMapping
    client: Callable[[str], Any]  # service -> boto3 client on the emulation
    invoke: Callable[[str, Any], Any]
    region: str = "us-east-1"
    sleep: Callable[[float], None] = time.sleep
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _shard: _Shard | None = None
    idle: threading.Event = field(default_factory=threading.Event)
    invocations: int = 0

    def start(self) -> None:
        self._shard = self._open()
        self._thread = threading.Thread(
            target=self._run, name=f"stream-{self.mapping.logical_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every record written so far has been handled (tests)."""
        deadline = time.monotonic() + timeout
        target = self._latest()
        while time.monotonic() < deadline:
            shard = self._shard
            if target is None or (
                shard is not None and shard.after is not None and int(shard.after) >= int(target)
            ):
                return
            time.sleep(POLL_SECONDS)
        raise TimeoutError(f"stream of {self.mapping.table} not drained within {timeout} s")

    # -- reading ---------------------------------------------------------------------------------------
    def _open(self) -> _Shard:
        table = self.client("dynamodb").describe_table(TableName=self.mapping.table)["Table"]
        arn = table.get("LatestStreamArn")
        if not arn:
            raise RuntimeError(
                f"table {self.mapping.table} has no stream for mapping {self.mapping.logical_id}"
            )
        shards = self.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        shard = _Shard(arn, shards[0]["ShardId"])
        if self.mapping.starting_position == "LATEST":
            shard.after = self._latest(shard)
        return shard

    def _latest(self, shard: _Shard | None = None) -> str | None:
        shard = shard or self._shard
        assert shard is not None
        records = self._read(shard, after=shard.after, limit=10_000)
        while records:
            last = records[-1]["dynamodb"]["SequenceNumber"]
            more = self._read(shard, after=last, limit=10_000)
            if not more:
                return str(last)
            records = more
        return shard.after

    def _read(self, shard: _Shard, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        streams = self.client("dynamodbstreams")
        where = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = streams.get_shard_iterator(StreamArn=shard.stream_arn, ShardId=shard.shard_id, **where)
        records: list[dict[str, Any]] = streams.get_records(
            ShardIterator=iterator["ShardIterator"], Limit=limit
        )["Records"]
        return records

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self._poll_once()
            except Exception:
                log.exception("stream poller %s failed; retrying", self.mapping.logical_id)
                handled = False
            if not handled:
                self.idle.set()
                self._stop.wait(POLL_SECONDS)

    def _poll_once(self) -> bool:
        shard = self._shard
        assert shard is not None
        records = self._read(shard, after=shard.after, limit=self.mapping.batch_size)
        if not records:
            return False
        if self.mapping.window_seconds and len(records) < self.mapping.batch_size:
            self._stop.wait(self.mapping.window_seconds)  # gather more, up to the window
            records = self._read(shard, after=shard.after, limit=self.mapping.batch_size)
        self.idle.clear()
        selected = [r for r in records if self._selected(r)]
        if selected:
            self._deliver(selected, attempt=0)
        shard.after = records[-1]["dynamodb"]["SequenceNumber"]
        return True

    def _selected(self, record: dict[str, Any]) -> bool:
        if not self.mapping.filters:
            return True
        return any(matches(pattern, record) for pattern in self.mapping.filters)

    # -- invoking --------------------------------------------------------------------------------------
    def _event(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        shard = self._shard
        assert shard is not None
        out = []
        for record in records:
            dynamodb = dict(record["dynamodb"])
            created = dynamodb.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
            out.append(
                {**record, "eventSourceARN": shard.stream_arn, "awsRegion": self.region, "dynamodb": dynamodb}
            )
        return {"Records": out}

    def _deliver(self, records: list[dict[str, Any]], *, attempt: int) -> None:
        """Invoke until the batch is handled: retries, bisection, partial failures, on-failure."""
        while not self._stop.is_set():
            try:
                self.invocations += 1
                result = self.invoke(self.mapping.function, self._event(records))
            except Exception:
                log.warning("%s failed on a batch of %d stream records", self.mapping.function, len(records))
                if self.mapping.bisect and len(records) > 1:
                    half = len(records) // 2
                    self._deliver(records[:half], attempt=attempt + 1)
                    self._deliver(records[half:], attempt=attempt + 1)
                    return
                failed_from: int | None = 0
            else:
                failed_from = self._first_failure(records, result)
                if failed_from is None:
                    return
            records = records[failed_from or 0 :]
            attempt += 1
            if 0 <= self.mapping.max_retries < attempt:
                self._give_up(records, attempt)
                return
            self.sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])

    def _first_failure(self, records: list[dict[str, Any]], result: Any) -> int | None:
        """None: all handled. Else the index to retry from (0: the whole batch)."""
        if not self.mapping.report_item_failures or not isinstance(result, Mapping):
            return None
        failures = result.get("batchItemFailures") or []
        if not failures:
            return None
        sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
            if identifier not in sequence:
                return 0  # an invalid response: the whole batch failed (as Lambda treats it)
            indexes.append(sequence.index(identifier))
        return min(indexes)

    def _give_up(self, records: list[dict[str, Any]], attempts: int) -> None:
        shard = self._shard
        assert shard is not None
        log.error(
            "%s: %d stream records dropped after %d attempts", self.mapping.function, len(records), attempts
        )
        if self.mapping.on_failure is None:
            return
        sqs = self.client("sqs")
        queue = sqs.get_queue_url(QueueName=self.mapping.on_failure.rsplit(":", 1)[-1])["QueueUrl"]
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        now = datetime.now(UTC).isoformat()
        sqs.send_message(
            QueueUrl=queue,
            MessageBody=json.dumps(
                {
                    "requestContext": {
                        "condition": "RetryAttemptsExhausted",
                        "approximateInvokeCount": attempts,
                        "functionArn": self.mapping.function,
                    },
                    "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
                    "version": "1.0",
                    "timestamp": now,
                    "DDBStreamBatchInfo": {
                        "shardId": shard.shard_id,
                        "startSequenceNumber": first["SequenceNumber"],
                        "endSequenceNumber": last["SequenceNumber"],
                        "batchSize": len(records),
                        "streamArn": shard.stream_arn,
                    },
                }
            ),
        )
