"""SQS message delays on the service's clock (local mode), so tests that move the clock need not
wait out delays in wall-clock time.

On AWS, and in moto, a message sent with `DelaySeconds` becomes receivable once that many seconds
have passed on the wall clock. The functions read the time from `activitylog.logic.clock.now`
(the service's clock), which tests move (`monkeypatch.setattr(clock, "now", ...)`). The rollup
worker sends work that is not yet due back to `RollupWork` with a delay worked out on that clock
(up to SQS's 900 s per hop; an hour is sealable an hour and five minutes after it ends,
docs/reports.md), and the router announces each new hour the same way. Without this, a test that
puts the clock two hours ahead would still wait 15 minutes of wall-clock time per hop.

- `install()` wraps moto's `Message.delay` (which `SendMessage`, `SendMessageBatch` and a queue's
  own `DelaySeconds` go through) so that each delayed message also records when it is due on the
  service's clock: `clock.now()` when it was sent, plus its delay.
- `release_due(queue_arn)` makes the queue's delayed messages receivable whose due time the
  service's clock has reached (it clears moto's wall-clock `delayed_until`). With the real clock it
  releases what moto would release within the same second anyway; with a clock moved forward, it
  is the fast-forward. A message sent back as not yet due is due later on the moved clock too, so
  releasing never loops. Messages sent before `install` keep moto's wall-clock delay.

The SQS pollers call `release_due` before each receive and `LocalService.drain_streaming` before
each look at a queue (docs/local-mode.md, "SQS queues"). moto's internals are pinned here
(`check_moto`, run by `install`): a moto that changes them fails loudly instead of delaying
differently.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

DUE = "_activitylog_due"  # the attribute each delayed moto Message gets: its due time, service clock
_lock = threading.Lock()
_installed = 0
_original: Callable[..., Any] | None = None


def service_now() -> datetime:
    """The functions' clock, looked up on every call (tests replace `clock.now`)."""
    from activitylog.logic import clock

    return clock.now()


def _message_class() -> Any:
    from moto.sqs.models import Message

    return Message


def check_moto() -> None:
    """The moto internals this relies on: `Message.delay(self, delay_seconds)` setting
    `delayed_until` (epoch milliseconds), the `delayed` property, `Queue._messages`."""
    message = _message_class()
    delay = _original or message.delay  # moto's own, also while installed
    params = list(inspect.signature(delay).parameters)
    source = inspect.getsource(delay)
    if params != ["self", "delay_seconds"] or "delayed_until" not in source:
        raise RuntimeError(
            f"moto's sqs Message.delay changed ({params}); see activitylog_ops/local/sqs_delays.py"
        )
    if not isinstance(inspect.getattr_static(message, "delayed"), property):
        raise RuntimeError("moto's sqs Message.delayed is no longer a property; see sqs_delays.py")
    from moto.sqs.models import Queue

    if "self._messages" not in inspect.getsource(Queue.__init__):
        raise RuntimeError("moto's sqs Queue no longer keeps `_messages`; see sqs_delays.py")


def install() -> None:
    """Record service-clock due times on delayed messages (idempotent; one `uninstall` per call)."""
    global _installed, _original
    with _lock:
        if _installed == 0:
            check_moto()
            message = _message_class()
            original = message.delay
            _original = original

            def delay(self: Any, delay_seconds: int) -> None:
                original(self, delay_seconds)
                setattr(self, DUE, service_now() + timedelta(seconds=int(delay_seconds)))

            message.delay = delay
        _installed += 1


def uninstall() -> None:
    global _installed, _original
    with _lock:
        if _installed == 0:
            return
        _installed -= 1
        if _installed == 0 and _original is not None:
            _message_class().delay = _original
            _original = None


def installed() -> bool:
    return _installed > 0


def _queue(queue_arn: str) -> Any:
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = queue_arn.split(":", 5)
    return sqs_backends[account][region].queues.get(name)


def release_due(queue_arn: str, *, now: Callable[[], datetime] = service_now) -> int:
    """Make the queue's delayed messages receivable whose service-clock due time has come; how many."""
    queue = _queue(queue_arn)
    if queue is None:
        return 0
    at = now()
    released = 0
    for message in list(queue._messages):  # moto's own list (pinned by check_moto)
        due = getattr(message, DUE, None)
        if due is not None and due <= at and message.delayed:
            message.delayed_until = 0.0
            released += 1
    return released
