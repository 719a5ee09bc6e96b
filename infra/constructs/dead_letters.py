"""Dead-letter queues: where asynchronous work that failed every retry is kept for an operator.

Each queue is encrypted, TLS-only and keeps messages 14 days (SQS's maximum); the monitoring
construct alarms on its visible messages, and docs/operations.md ("Dead-letter queues") says what to
do with them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge

RETENTION = Duration.days(14)
# Lambda's default for asynchronous invocations, stated so the template (and the docs) say it.
ASYNC_RETRIES = 2


@dataclass(frozen=True, slots=True)
class DeadLetters:
    queue: sqs.Queue
    holds: str  # what a message in it is, for the alarm's description


def dead_letter_queue(
    scope: Construct, construct_id: str, *, holds: str, queue_name: str | None = None
) -> DeadLetters:
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=RETENTION,
    )
    acknowledge(
        queue,
        rule="AwsSolutions-SQS3",
        reason="this queue is itself a dead-letter queue (of failed asynchronous work); an alarm watches "
        "its visible messages.",
    )
    return DeadLetters(queue=queue, holds=holds)


def work_queue(
    scope: Construct, construct_id: str, *, visibility: Duration, dead_letters: DeadLetters, max_receives: int
) -> sqs.Queue:
    """A queue of work a function consumes (an SQS event source): encrypted, TLS-only, kept 14 days,
    and a message received `max_receives` times without being deleted goes to `dead_letters`."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=visibility,
        retention_period=RETENTION,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters.queue, max_receive_count=max_receives),
    )


def on_failure_to_queue(
    scope: Construct, construct_id: str, function: lambda_.Function, *, holds: str
) -> DeadLetters:
    """An asynchronously invoked function's failures (after Lambda's retries) go to a queue, not away.

    Scheduler's and EventBridge's retry policies and DLQs cover delivering the event to Lambda only;
    once Lambda has accepted the invocation, a function error is retried ASYNC_RETRIES times by Lambda
    and then sent to this on-failure destination with the original event.
    """
    letters = dead_letter_queue(scope, construct_id, holds=holds)
    function.configure_async_invoke(
        on_failure=destinations.SqsDestination(letters.queue),
        retry_attempts=ASYNC_RETRIES,
        max_event_age=Duration.hours(6),
    )
    return letters
