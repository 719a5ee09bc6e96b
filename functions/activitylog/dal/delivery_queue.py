"""The deliveries queue (SQS): messages of deliveries and replay steps (docs/streaming.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.clients import ClientOf

SEND_BATCH = 10  # SendMessageBatch's limit


class SqsDeliveryQueue:
    def __init__(self, queue_url: str, sqs: Any = None) -> None:
        self._url = queue_url
        self._client = sqs

    _sqs = ClientOf("sqs")

    def send(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> set[int]:
        """Enqueue `bodies` (in batches of 10); returns the indexes of the ones SQS did not take."""
        failed: set[int] = set()
        for start in range(0, len(bodies), SEND_BATCH):
            entries = [
                {"Id": str(n), "MessageBody": body, "DelaySeconds": delay_seconds}
                for n, body in enumerate(bodies[start : start + SEND_BATCH], start)
            ]
            try:
                answer = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            except ClientError:
                failed.update(range(start, start + len(entries)))
                continue
            failed.update(int(f["Id"]) for f in answer.get("Failed", []))
        return failed

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Hand the received message back in `seconds` (its next attempt): its visibility timeout."""
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except ClientError as err:
            raise errors.unavailable(err) from err
