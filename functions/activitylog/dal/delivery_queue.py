"""The deliveries queue (SQS): messages of deliveries and replay steps (docs/streaming.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.clients import ClientOf

SEND_BATCH = 10  # SendMessageBatch's limits: messages, and bytes of their bodies together
BATCH_BYTES = 262_144


class SqsDeliveryQueue:
    def __init__(self, queue_url: str, sqs: Any = None) -> None:
        self._url = queue_url
        self._client = sqs

    _sqs = ClientOf("sqs")

    def send(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> set[int]:
        """Enqueue `bodies` (in batches of at most 10 messages and 256 KiB, SendMessageBatch's
        limits); returns the indexes of the ones SQS did not take."""
        failed: set[int] = set()
        for batch in _batches(bodies):
            entries = [{"Id": str(n), "MessageBody": bodies[n], "DelaySeconds": delay_seconds} for n in batch]
            try:
                answer = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            except ClientError:
                failed.update(batch)
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


def _batches(bodies: Sequence[str]) -> list[list[int]]:
    """Indexes of `bodies` in send order, cut at SEND_BATCH messages or BATCH_BYTES of bodies."""
    batches: list[list[int]] = []
    size = 0
    for n, body in enumerate(bodies):
        length = len(body.encode("utf-8"))
        if not batches or len(batches[-1]) == SEND_BATCH or size + length > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(n)
        size += length
    return batches
